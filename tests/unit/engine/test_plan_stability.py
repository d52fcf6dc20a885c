"""Speed work must not change any plan: plans of bench-like trees, recorded from the
planner before it was made linear (issue 20), are compared digest for digest.

The fixture holds the sha256 of each plan's JSON (and the action count, to make a
mismatch readable). Regenerate it only for an intended change of the planning rules:
    UPDRAFT_RECORD_PLANS=1 pytest tests/unit/engine/test_plan_stability.py
(Re-recorded once when actions gained `why`, their reason: the plans were otherwise
identical, digest for digest, with that field left out.)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.kits import facttrees, treekit
from updraft.engine.action import Plan
from updraft.engine.layout import Layout
from updraft.engine.plan import plan_release
from updraft.engine.tree import ReleaseTree

FIXTURE = Path(__file__).parent / "fixtures" / "plan_digests.json"
ROOT = Path("/srv/tree")


def _trees(layout: Layout) -> dict[str, ReleaseTree]:
    trees = {
        f"random-{release}-{seed}": facttrees.random_tree(layout, seed, 300, release)
        for release in ("9", "10")
        for seed in range(1, 5)
    }
    trees["pulled-200"] = facttrees.pulled_tree(layout, 200, 1000)
    return trees


def _digest(plan: Plan) -> str:
    # Warnings come in the order of a set of slots (string hashes vary per process):
    # compared as a set. Actions and touched dirs are compared in their order.
    plan = Plan(plan.actions, plan.touched, sorted(plan.warnings))
    return hashlib.sha256(plan.to_json().encode()).hexdigest()


def _record(layout: Layout) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for label, tree in _trees(layout).items():
        plan = plan_release(tree, layout)
        found[label] = [
            _digest(plan),
            len(plan.actions),
            len(plan.warnings),
        ]
    return found


def test_plans_are_the_ones_recorded_before_the_speed_work() -> None:
    layout = Layout(treekit.sme_config(), ROOT)
    found = _record(layout)
    if os.environ.get("UPDRAFT_RECORD_PLANS"):
        FIXTURE.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    expected = json.loads(FIXTURE.read_text())
    assert found == expected
    # The trees exercise what a plan can do: pulls, retention rejects, stage copies.
    assert all(count > 100 for _, count, _ in expected.values())
    assert expected["pulled-200"][2] == 100  # half the pulls are rejected by retention

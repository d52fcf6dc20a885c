"""Red team: a Go covers exactly the plan it showed, and the plan names files. The
packager who may write smetest swaps the promoted file for another build of the same
name after the release manager's Go and before apply: the Go must not carry those bytes
into smeupdates."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.cycle import plan_digest
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion
from updraft.errors import PlanChanged

FAMILY = "clamav-0.97.6-1.el4.rf"
I386 = "clamav-0.97.6-1.el4.rf.i386.rpm"


@pytest.fixture(scope="session")
def swapped(rpm_store: Path) -> BuiltFamily:
    """clamav-0.97.6-1 again, another build (same NEVRA, other bytes)."""
    spec = dataclasses.replace(treekit.clamav("0.97.6", "1"), summary="Trojaned anti-virus")
    return treekit.build(spec, rpm_store / "swapped")


def test_a_build_swapped_after_the_go_is_not_applied(engine: Engine,
                                                     swapped: BuiltFamily) -> None:
    root = engine.layout.root
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")
    shown = engine.preview(["9"], promotion, grant=True, scoped=True).plan
    assert any(a.filename == I386 and a.to_repo == "smeupdates" for a in shown.actions)

    [evil] = [p for p in swapped.files() if p.name == I386]
    shutil.copy(evil, root / "9/smetest/i386/RPMS" / I386)  # same name, other build

    with pytest.raises(PlanChanged):
        engine.apply(["9"], promotion, approved=plan_digest(shown), grant=True, scoped=True)

    assert not list((root / "9/smeupdates").rglob("clamav-0.97.6*"))
    wanted = hashlib.sha256(evil.read_bytes()).hexdigest()
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() != wanted
               for p in (root / "9/smeupdates").rglob("*.rpm"))


@pytest.mark.unhealthy_tree("apply only: publishing is the DAG's separate repodata task")
def test_an_unchanged_build_still_applies_with_its_go(engine: Engine) -> None:
    root = engine.layout.root
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")
    shown = engine.preview(["9"], promotion, grant=True, scoped=True).plan

    result = engine.apply(["9"], promotion, approved=plan_digest(shown), grant=True,
                          scoped=True)

    assert result.ok and (root / "9/smeupdates/i386/RPMS" / I386).is_file()

"""Cycle: what one run of the update cycle plans and reports (the Engine's values).

`CycleResult` is a cycle's account (an XCom, a gate's body, the CLI's lines); `Planned`
is a plan with the scan it came from; `plan_digest` names a plan (what a Go approves).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from updraft.engine.action import Action, Plan, Touched
from updraft.engine.placed import Placed
from updraft.engine.plan import Intent
from updraft.engine.tree import Tree

IntentSource = Callable[[Tree], dict[str, list[Intent]]]


@runtime_checkable
class NamedIntents(Protocol):
    """An intent source that can say, from the header cache's rows (path -> row, the
    source name last), which source names its intents can concern: a superset, or None
    when it cannot tell. Names never interact in a plan, so on a settled release only
    these names need planning (a one-family promotion plans one name, not the release)."""

    # The one release the intents can concern (None: any): other releases are planned
    # as a cycle plans them (one still at its settled mark, not at all).
    release: str | None

    def __call__(self, tree: Tree) -> dict[str, list[Intent]]: ...

    def source_names(self, rows: Mapping[str, tuple]) -> set[str] | None: ...


@dataclass
class CycleResult:
    plan: Plan
    plan_id: str | None = None
    dry_run: bool = False
    applied: list[Action] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Arch dirs whose repodata this cycle published, and those still waiting for it
    # (after `apply`, before `publish`; left by a dead run; or seen by a dry run).
    rebuilt: list[Touched] = field(default_factory=list)
    unpublished: list[Touched] = field(default_factory=list)
    report: str = ""
    report_file: Path | None = None
    resumed: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    placed: Placed | None = None  # what the apply placed: the next scan reads none of it
    # Releases a preview found consistent that no settled mark says so of (e.g. after an
    # upgrade changed the fingerprint): a writer marks them with Engine.settle, or every
    # cycle would plan them in full and the tree watcher could not tell a drop.
    unmarked: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.plan.empty and not (self.resumed or self.unpublished or self.rebuilt)

    @property
    def ok(self) -> bool:
        return not self.failures

    def held(self) -> list[dict[str, str]]:
        """The families held at a gated repo: each asks the promote DAG for a Go."""
        done = self.plan.actions if self.dry_run else self.applied
        found = sorted({(a.release, a.from_repo or "", f"{a.family}-{a.family_evr}")
                        for a in done if a.verb == "hold"})
        return [{"release": r, "target": repo, "package": p} for r, repo, p in found]

    def summary(self, preview_lines: int = 60) -> dict[str, object]:
        """A small, JSON-able account of the cycle (an Airflow XCom, a gate's body)."""
        families = sorted({f"{a.family}-{a.family_evr} ({a.release})"
                           for a in self.plan.actions if a.family})
        lines = self.report.splitlines()
        if len(lines) > preview_lines:
            lines = [*lines[:preview_lines], f"... and {len(lines) - preview_lines} more lines"]
        return {
            "plan_id": self.plan_id,
            "digest": plan_digest(self.plan),
            "dry_run": self.dry_run,
            "nothing_to_do": self.nothing_to_do,
            "actions": len(self.plan.actions),
            "applied": len(self.applied),
            "families": families[:50],
            "family_names": sorted({a.family for a in self.plan.actions if a.family})[:50],
            "more_families": max(len(families) - 50, 0),
            "failures": self.failures[:20],
            "unpublished": [target.label for target in self.unpublished],
            "resumed": self.resumed,
            "held": self.held(),
            "report_file": str(self.report_file) if self.report_file else None,
            "preview": "\n".join(lines),
        }


def plan_digest(plan: Plan) -> str:
    return hashlib.sha256(plan.to_json().encode()).hexdigest()


@dataclass
class Planned:
    """A plan with the scan it came from and the releases that scan found consistent."""

    plan: Plan
    tree: Tree
    consistent: dict[str, str]  # release -> fingerprint
    held: set[str] = field(default_factory=set)  # releases an ISO freeze held actions of


def union(first: list[Touched], second: list[Touched]) -> list[Touched]:
    return list(dict.fromkeys([*first, *second]))

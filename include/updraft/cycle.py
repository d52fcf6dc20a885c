"""Cycle: one run of the update cycle — scan, plan, apply, repodata, ledger, report.

Planning is pure and printable (dry run); applying is journaled so a run that dies is
finished by the next one before it plans anything new.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from updraft.action import Action, Plan, Touched
from updraft.apply import apply_journal, source_digests
from updraft.config import DistConfig
from updraft.journal import Journal
from updraft.layout import Layout
from updraft.ledger import ActionRecord, Ledger, StateChange
from updraft.lock import tree_lock
from updraft.plan import Intent, plan_release
from updraft.repodata import rebuild
from updraft.report import render
from updraft.tree import Tree, scan

log = logging.getLogger(__name__)

IntentSource = Callable[[Tree], dict[str, list[Intent]]]


@dataclass
class CycleResult:
    plan: Plan
    plan_id: str | None = None
    dry_run: bool = False
    applied: list[Action] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rebuilt: list[Touched] = field(default_factory=list)
    report: str = ""
    resumed: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.plan.empty and not self.resumed

    @property
    def ok(self) -> bool:
        return not self.failures


def plan_digest(plan: Plan) -> str:
    return hashlib.sha256(plan.to_json().encode()).hexdigest()


class Engine:
    """The repository engine over one tree; every writer goes through the tree lock."""

    def __init__(self, config: DistConfig, root: Path, trigger: str = "cli") -> None:
        self.config = config
        self.layout = Layout(config, root)
        self.trigger = trigger

    @property
    def journal_dir(self) -> Path:
        return self.layout.state_dir / "journal"

    def plan(self, releases: Sequence[str] | None = None,
             intents: IntentSource | None = None) -> Plan:
        chosen = [self.config.check_release(r) for r in releases] if releases else None
        tree = scan(self.layout, chosen)
        wanted = intents(tree) if intents else {}
        plan = Plan()
        for release, release_tree in tree.releases.items():
            plan.extend(plan_release(release_tree, self.layout, wanted.get(release, ())))
        return plan

    def update_repos(self, releases: Sequence[str] | None = None, dry_run: bool = False,
                     intents: IntentSource | None = None) -> CycleResult:
        if dry_run:
            plan = self.plan(releases, intents)
            return CycleResult(plan=plan, dry_run=True, report=render(self.config, plan))
        with tree_lock(self.layout.state_dir, self.config.lock_timeout, self.trigger):
            resumed = self._resume()
            self.layout.create_dirs(list(releases or self.config.releases))
            plan = self.plan(releases, intents)
            if plan.empty:
                log.info("nothing to do")
                return CycleResult(plan=plan, resumed=resumed, report=render(self.config, plan))
            result = self._execute(plan)
            result.resumed = resumed
            return result

    def _resume(self) -> list[str]:
        finished = []
        for journal in Journal.pending(self.journal_dir):
            log.warning("finishing plan %s left by an interrupted run", journal.plan_id)
            self._finish(journal)
            finished.append(journal.plan_id)
        return finished

    def _execute(self, plan: Plan) -> CycleResult:
        # Unique per application (the same plan may be applied again another day).
        plan_id = hashlib.sha256(f"{plan_digest(plan)}{time.time_ns()}".encode()).hexdigest()[:16]
        for line in plan.actions:
            log.info("plan %s: %s", plan_id, line.detail())
        digests = source_digests(self.layout.root, plan.actions)
        journal = Journal.create(self.journal_dir, plan_id, self.trigger, plan, digests)
        return self._finish(journal)

    def _finish(self, journal: Journal) -> CycleResult:
        outcome = apply_journal(journal, self.layout.root)
        # Rebuilding an arch dir whose unit failed is harmless: it reflects the disk.
        touched = journal.plan.touched
        for target in touched:
            step = f"repodata:{target.release}/{target.repo}/{target.archdir}"
            if step in journal.done:
                continue
            directory = self.layout.repodata_dir(target.release, target.repo, target.archdir)
            rebuild(directory, self.layout.state_dir / "createrepo-cache")
            journal.mark(step)
        if "ledger" not in journal.done:
            self._record(journal, outcome.applied)
            journal.mark("ledger")
        journal.finish()
        applied_plan = Plan(outcome.applied, touched, journal.plan.warnings)
        return CycleResult(
            plan=journal.plan, plan_id=journal.plan_id, applied=outcome.applied,
            failures=outcome.failures, rebuilt=touched,
            report=render(self.config, applied_plan, touched),
        )

    def _record(self, journal: Journal, applied: list[Action]) -> None:
        now = datetime.now(UTC)
        records = [
            ActionRecord(
                plan_id=journal.plan_id, seq=number, at=now, trigger=journal.trigger,
                release=a.release, family=a.family, family_evr=a.family_evr, verb=a.verb,
                filename=a.filename, package=a.package, archdir=a.archdir,
                from_repo=a.from_repo, to_repo=a.to_repo, reason=a.reason,
            )
            for number, a in enumerate(applied)
        ]
        ledger = Ledger.open(self.layout.ledger_url)
        try:
            summary = f"{len(applied)} actions, {len({a.family for a in applied})} families"
            ledger.record_plan(journal.plan_id, journal.trigger, journal.created, summary, records)
            ledger.set_states(self._state_changes(journal.plan_id, applied, now))
        finally:
            ledger.close()

    def _state_changes(
        self, plan_id: str, applied: list[Action], now: datetime
    ) -> list[StateChange]:
        changes = []
        for action in applied:
            if action.verb == "quarantine":
                state, repo = "test failed", action.from_repo
            elif action.verb in ("move", "copy") and action.to_repo:
                state, repo = self.config.repos[action.to_repo].enters_state, action.to_repo
            else:
                continue
            if state:
                changes.append(StateChange(
                    release=action.release, family=action.family, family_evr=action.family_evr,
                    package=action.filename, repo=repo, state=state, at=now, plan_id=plan_id,
                    note=action.reason,
                ))
        return changes

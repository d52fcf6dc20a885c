"""Cycle: one run of the update cycle — scan, plan, apply, repodata, ledger, report.

Planning is pure and printable (dry run); applying is journaled so a run that dies is
finished by the next one before it plans anything new.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def nothing_to_do(self) -> bool:
        return self.plan.empty and not self.resumed

    @property
    def ok(self) -> bool:
        return not self.failures


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


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

    @property
    def settled_file(self) -> Path:
        return self.layout.state_dir / "settled.json"

    def plan(self, releases: Sequence[str] | None = None,
             intents: IntentSource | None = None) -> Plan:
        chosen = [self.config.check_release(r) for r in releases] if releases else None
        settled = self._settled()
        tree = scan(self.layout, chosen, settled=None if intents else settled)
        wanted = intents(tree) if intents else {}
        plan = Plan()
        now_settled = dict(settled)
        for release, release_tree in tree.releases.items():
            part = plan_release(release_tree, self.layout, wanted.get(release, ()))
            plan.extend(part)
            # Only a release found consistent by this very scan may skip planning later.
            if part.empty and not intents:
                now_settled[release] = release_tree.fingerprint
            else:
                now_settled.pop(release, None)
        if now_settled != settled:
            _write_atomically(self.settled_file, json.dumps(now_settled))
        return plan

    def _settled(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.settled_file.read_text()))
        except (OSError, ValueError):
            return {}

    def update_repos(self, releases: Sequence[str] | None = None, dry_run: bool = False,
                     intents: IntentSource | None = None) -> CycleResult:
        if dry_run:
            plan = self.plan(releases, intents)
            return CycleResult(plan=plan, dry_run=True, report=render(self.config, plan))
        with tree_lock(self.layout.state_dir, self.config.lock_timeout, self.trigger):
            resumed = self._resume()
            self.layout.create_dirs(list(releases or self.config.releases))
            started = time.perf_counter()
            plan = self.plan(releases, intents)
            planned = time.perf_counter() - started
            if plan.empty:
                log.info("nothing to do (scan and plan %.3f s)", planned)
                return CycleResult(plan=plan, resumed=resumed, report=render(self.config, plan),
                                   timings={"plan": planned})
            result = self._execute(plan)
            result.resumed = resumed
            result.timings["plan"] = planned
            log.info("timings: %s", ", ".join(f"{k} {v:.3f} s" for k, v in result.timings.items()))
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
        clock = time.perf_counter()
        outcome = apply_journal(journal, self.layout.root)
        timings = {"apply": time.perf_counter() - clock}
        # Rebuilding an arch dir whose unit failed is harmless: it reflects the disk.
        touched = journal.plan.touched
        clock = time.perf_counter()
        self._rebuild(journal, touched)
        timings["repodata"] = time.perf_counter() - clock
        clock = time.perf_counter()
        if "ledger" not in journal.done:
            self._record(journal, outcome.applied)
            journal.mark("ledger")
        journal.finish()
        timings["ledger"] = time.perf_counter() - clock
        applied_plan = Plan(outcome.applied, touched, journal.plan.warnings)
        return CycleResult(
            plan=journal.plan, plan_id=journal.plan_id, applied=outcome.applied,
            failures=outcome.failures, rebuilt=touched,
            report=render(self.config, applied_plan, touched), timings=timings,
        )

    def _rebuild(self, journal: Journal, touched: list[Touched]) -> None:
        """createrepo_c on every touched arch dir, one per core: they are independent."""
        pending = [t for t in touched
                   if f"repodata:{t.release}/{t.repo}/{t.archdir}" not in journal.done]
        if not pending:
            return
        cache = self.layout.state_dir / "createrepo-cache"

        def one(target: Touched) -> Touched:
            rebuild(self.layout.repodata_dir(target.release, target.repo, target.archdir), cache)
            return target

        with ThreadPoolExecutor(max_workers=min(len(pending), os.cpu_count() or 1)) as pool:
            for target in pool.map(one, pending):
                journal.mark(f"repodata:{target.release}/{target.repo}/{target.archdir}")

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

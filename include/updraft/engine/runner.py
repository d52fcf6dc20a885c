"""Runner: a plan carried out through its journal, and the journals a dead run left.

`execute` writes the plan down (with the digest of every source it copies) before a
file moves; `finish` applies a journal and does what follows every apply, in order:
the gated repos' admitted list, the repodata marks, the ledger, the journal moved to
done/. A resumed journal goes through `finish` again: every step there is idempotent.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.engine.action import Plan, Touched
from updraft.engine.apply import Scanned, apply_journal, source_digests
from updraft.engine.cycle import CycleResult
from updraft.engine.hold import Admitted
from updraft.engine.journal import Journal
from updraft.engine.layout import Layout
from updraft.engine.placed import Stamp
from updraft.engine.recorder import record_applied
from updraft.engine.repodata import PendingRepodata

# The engine's logger, as before the runner left engine.py: a filter or a grep on
# updraft.engine.engine still sees these lines.
log = logging.getLogger("updraft.engine.engine")


class PlanRunner:
    """Applies plans journaled for one tree; the Engine calls it under the tree lock."""

    def __init__(self, config: DistConfig, layout: Layout, trigger: str,
                 repodata: PendingRepodata) -> None:
        self.config = config
        self.layout = layout
        self.trigger = trigger
        self.repodata = repodata

    @property
    def journal_dir(self) -> Path:
        return self.layout.state_dir / "journal"

    def resume(self) -> list[str]:
        finished = []
        for journal in Journal.pending(self.journal_dir):
            log.warning("finishing plan %s left by an interrupted run", journal.plan_id)
            self.finish(journal)
            finished.append(journal.plan_id)
        return finished

    def execute(self, plan: Plan,
                published: Callable[[list[Touched]], None] | None = None,
                scanned: Scanned | None = None) -> CycleResult:
        """`scanned`: the stat the plan's scan verified each file at (apply.Scanned)."""
        # Unique per application (the same plan may be applied again another day).
        # The plan is serialised once: for its digest and for the journal.
        text = plan.to_json()
        digest = hashlib.sha256(text.encode()).hexdigest()
        plan_id = hashlib.sha256(f"{digest}{time.time_ns()}".encode()).hexdigest()[:16]
        # One line here: the caller logs each action once, with its reason.
        log.info("plan %s: applying %d actions of %d families", plan_id, len(plan.actions),
                 len({(a.release, a.family) for a in plan.actions}))
        if log.isEnabledFor(logging.DEBUG):  # 10,000 lines built for nobody otherwise
            for line in plan.actions:
                log.debug("plan %s: %s", plan_id, line.detail())
        stamps: dict[str, Stamp] = {}
        digests = source_digests(self.layout.root, plan.actions, stamps, scanned)
        journal = Journal.create(self.journal_dir, plan_id, self.trigger, plan, digests,
                                 plan_json=text, stamps=stamps)
        del text  # written: not held through the apply
        return self.finish(journal, published)

    def finish(self, journal: Journal,
               published: Callable[[list[Touched]], None] | None = None) -> CycleResult:
        clock = time.perf_counter()
        outcome = apply_journal(journal, self.layout.root, self.layout.state_dir)
        # What entered or left a gated repo (idempotent: a resumed journal does it again).
        admitted = Admitted.load(self.layout, self.config.releases)
        admitted.follow(outcome.applied)
        admitted.save()
        timings = {"apply": time.perf_counter() - clock}
        # Marking an arch dir whose unit failed is harmless: its repodata reflects the disk.
        self.repodata.mark(journal.plan.touched)
        if published is not None:  # the ledger and the repodata do not wait on each other
            published(self.repodata.pending())
        clock = time.perf_counter()
        if "ledger" not in journal.done:
            record_applied(self.layout, journal, outcome.applied)
            journal.mark("ledger")
        journal.finish()
        timings["ledger"] = time.perf_counter() - clock
        return CycleResult(plan=journal.plan, plan_id=journal.plan_id, applied=outcome.applied,
                           failures=outcome.failures, timings=timings, placed=outcome.placed)

"""Recorder: what an applied plan leaves in the ledger (the audit trail the pages read).

Imported when a cycle records, never by a plan or a dry run: the ledger loads SQLAlchemy
and Alembic, which a CLI no-op must not pay for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from updraft.config.dist import DistConfig
from updraft.engine.action import Action
from updraft.engine.hold import record_requests
from updraft.engine.journal import Journal
from updraft.engine.layout import Layout

if TYPE_CHECKING:
    from updraft.ledger import StateChange


def record_applied(layout: Layout, journal: Journal, applied: list[Action]) -> None:
    """The ledger's account of an applied plan: its actions, the package states they
    lead to (a repo's `enters_state`, `test failed` for a quarantine) and the Go/NoGo
    requests of what a gated repo held."""
    from updraft.ledger import ActionRecord, Ledger  # loaded when a cycle records
    from updraft.ledger.gates import GateRecords

    now = datetime.now(UTC)
    records = [
        ActionRecord(
            plan_id=journal.plan_id, seq=number, at=now, trigger=journal.trigger,
            release=a.release, family=a.family, family_evr=a.family_evr, verb=a.verb,
            filename=a.filename, package=a.package, archdir=a.archdir,
            from_repo=a.from_repo, to_repo=a.to_repo, reason=a.reason or a.why,
        )
        for number, a in enumerate(applied)
    ]
    with Ledger.open(layout.ledger_url) as ledger:
        summary = f"{len(applied)} actions, {len({a.family for a in applied})} families"
        ledger.record_plan(journal.plan_id, journal.trigger, journal.created, summary, records)
        ledger.set_states(_state_changes(layout.config, journal.plan_id, applied, now))
        record_requests(GateRecords(ledger), layout.config, applied, journal.trigger, now)


def _state_changes(config: DistConfig, plan_id: str, applied: list[Action],
                   now: datetime) -> list[StateChange]:
    from updraft.ledger import StateChange

    changes = []
    for action in applied:
        state: str | None
        if action.verb == "quarantine":
            state, repo = "test failed", action.from_repo
        elif action.verb in ("move", "copy") and action.to_repo:
            state, repo = config.repos[action.to_repo].enters_state, action.to_repo
        else:
            continue
        if state:
            changes.append(StateChange(
                release=action.release, family=action.family, family_evr=action.family_evr,
                package=action.filename, repo=repo, state=state, at=now, plan_id=plan_id,
                note=action.reason,
            ))
    return changes

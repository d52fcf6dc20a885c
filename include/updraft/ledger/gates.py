"""The ledger's gate records: every question a gate asked, the answer Airflow's HITL
record gave it, emergency overrides, and the requests a gated repo holds.

Written by the gates themselves (and the CLI's override), read by every step that acts
on a decision: the audit trail survives whatever happens to Airflow's metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from updraft.ledger.models import GateAnswer, GateRequest
from updraft.ledger.store import Ledger


@dataclass(frozen=True)
class Question:
    """What a gate shows: who it asks and the digest of what it shows them."""

    run: str  # airflow:<dag>/<run>
    dag_id: str
    run_id: str
    task_id: str
    kind: str
    assigned: tuple[str, ...]
    digest: str = ""
    release: str = ""
    target: str = ""
    family: str = ""
    shown: str = ""  # the body as shown (bounded by the ledger: SHOWN_LIMIT)
    deadline: datetime | None = None  # when silence becomes the gate's outcome
    remind_at: datetime | None = None  # when the assignees are reminded


@dataclass(frozen=True)
class Decision:
    """An answer recorded in the ledger (who, when, what, on which digest)."""

    run: str
    task_id: str
    kind: str
    by: str
    at: datetime
    chosen: tuple[str, ...]
    digest: str
    comment: str = ""
    release: str = ""
    target: str = ""
    family: str = ""
    assigned: tuple[str, ...] = ()
    timed_out: bool = False  # nobody answered: `chosen` is the configured outcome
    shown: str = ""
    deadline: datetime | None = None
    asked_at: datetime | None = None
    dag_id: str = ""
    run_id: str = ""
    form: dict[str, Any] = field(default_factory=dict)  # answered fields but the comment

    @property
    def answered(self) -> bool:
        return bool(self.by) or self.timed_out

    @property
    def nogo(self) -> bool:
        """A No: rejected, or the NoGo a timeout decided."""
        return bool({"Reject", "NoGo"} & set(self.chosen))


@dataclass(frozen=True)
class Request:
    release: str
    repo: str
    family: str
    family_evr: str
    state: str
    files: tuple[str, ...] = field(default=())
    decided_by: str = ""
    via: str = ""


SHOWN_LIMIT = 64 * 1024  # a body is a few KB; a hostile one is cut, never refused


def _open_question(session: Session, run: str, task_id: str, what: str) -> GateAnswer:
    """The newest question of the task still waiting for its answer."""
    row = session.scalars(select(GateAnswer).where(
        GateAnswer.run == run, GateAnswer.task_id == task_id,
        GateAnswer.void.is_(False), GateAnswer.answered_at.is_(None))
        .order_by(GateAnswer.id.desc())).first()
    if row is None:
        raise LookupError(f"{run} {task_id}: no open question to {what}")
    return row


def _decision(row: GateAnswer) -> Decision:
    return Decision(row.run, row.task_id, row.kind, row.by, row.answered_at or row.asked_at,
                    tuple(json.loads(row.chosen)), row.digest, row.comment, row.release,
                    row.target, row.family, tuple(json.loads(row.assigned)),
                    bool(row.timed_out), row.shown or "", row.deadline, row.asked_at,
                    row.dag_id, row.run_id, _form(row.form))


def _form(raw: str | None) -> dict[str, Any]:
    try:
        found = json.loads(raw or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class GateRecords:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def ask(self, question: Question, at: datetime) -> None:
        """A gate asks (again): any earlier answer of this gate in this run is void, so a
        cleared or re-run gate moves nothing until it is answered anew."""
        with self.ledger.transaction() as session:
            session.execute(update(GateAnswer).where(
                GateAnswer.run == question.run, GateAnswer.task_id == question.task_id)
                .values(void=True))
            session.add(GateAnswer(
                run=question.run, dag_id=question.dag_id, run_id=question.run_id,
                task_id=question.task_id, kind=question.kind, release=question.release,
                target=question.target, family=question.family, digest=question.digest,
                assigned=json.dumps(list(question.assigned)), asked_at=at, answered_at=None,
                by="", chosen="[]", comment="", void=False, shown=question.shown[:SHOWN_LIMIT],
                deadline=question.deadline, remind_at=question.remind_at, reminded_at=None,
                timed_out=False))

    def question(self, run: str, task_id: str) -> Decision | None:
        """The open question of this gate in this run (answered or not), if any."""
        with self.ledger.transaction() as session:
            row = session.scalars(select(GateAnswer).where(
                GateAnswer.run == run, GateAnswer.task_id == task_id,
                GateAnswer.void.is_(False)).order_by(GateAnswer.id.desc())).first()
            return _decision(row) if row else None

    def answer(self, run: str, task_id: str, by: str, chosen: Iterable[str], at: datetime,
               comment: str = "", form: dict[str, Any] | None = None) -> None:
        with self.ledger.transaction() as session:
            row = _open_question(session, run, task_id, "answer")
            row.by, row.chosen, row.answered_at = by, json.dumps(list(chosen)), at
            row.comment = comment
            row.form = json.dumps(form or {}, sort_keys=True)

    def time_out(self, run: str, task_id: str, outcome: Iterable[str], at: datetime,
                 comment: str) -> None:
        """Nobody answered before the deadline: the configured outcome is the answer."""
        with self.ledger.transaction() as session:
            row = _open_question(session, run, task_id, "time out")
            row.chosen, row.answered_at, row.comment = json.dumps(list(outcome)), at, comment
            row.timed_out = True

    def due_reminders(self, at: datetime) -> list[Decision]:
        """Open questions whose reminder time has come and who were not reminded yet
        (never after the deadline: the outcome is then on its way)."""
        with self.ledger.transaction() as session:
            rows = session.scalars(select(GateAnswer).where(
                GateAnswer.void.is_(False), GateAnswer.answered_at.is_(None),
                GateAnswer.reminded_at.is_(None), GateAnswer.remind_at.is_not(None),
                GateAnswer.remind_at <= at).order_by(GateAnswer.id))
            return [_decision(row) for row in rows
                    if row.deadline is None or row.deadline > at]

    def reminded(self, run: str, task_id: str, at: datetime) -> None:
        with self.ledger.transaction() as session:
            session.execute(update(GateAnswer).where(
                GateAnswer.run == run, GateAnswer.task_id == task_id,
                GateAnswer.void.is_(False), GateAnswer.answered_at.is_(None))
                .values(reminded_at=at))

    def override(self, decision: Decision) -> None:
        """An emergency override: an answered row of its own, kind `override`."""
        with self.ledger.transaction() as session:
            session.add(GateAnswer(
                run=decision.run, dag_id="", run_id="", task_id=decision.task_id,
                kind="override", release=decision.release, target=decision.target,
                family=decision.family, digest=decision.digest, assigned="[]",
                asked_at=decision.at, answered_at=decision.at, by=decision.by,
                chosen=json.dumps(list(decision.chosen)), comment=decision.comment,
                void=False))

    def answered(self, run: str, task_id: str) -> Decision | None:
        """The answer this gate recorded in this run (None: never answered, or asked again
        since)."""
        found = self.question(run, task_id)
        return found if found is not None and found.answered else None

    def decisions(self, kind: str | None = None) -> list[Decision]:
        query = select(GateAnswer).where(GateAnswer.answered_at.is_not(None))
        if kind is not None:
            query = query.where(GateAnswer.kind == kind)
        with self.ledger.transaction() as session:
            return [_decision(row) for row in session.scalars(query.order_by(GateAnswer.id))]

    # -- requests: families held at a gated repo -------------------------------------------

    def request(self, release: str, repo: str, family: str, family_evr: str,
                files: list[str], at: datetime) -> None:
        """A held arrival waits for a Go (again, after a NoGo or a publication)."""
        with self.ledger.transaction() as session:
            row = session.scalars(select(GateRequest).where(
                GateRequest.release == release, GateRequest.repo == repo,
                GateRequest.family == family, GateRequest.family_evr == family_evr)).first()
            if row is None:
                session.add(GateRequest(release=release, repo=repo, family=family,
                                        family_evr=family_evr, files=json.dumps(files),
                                        state="pending", requested_at=at, decided_at=None,
                                        decided_by="", via=""))
                return
            row.files = json.dumps(sorted({*json.loads(row.files), *files}))
            if row.state != "go":
                row.state, row.requested_at = "pending", at

    def decide(self, release: str, repo: str, family: str, family_evr: str, state: str,
               by: str, via: str, at: datetime) -> None:
        if state not in ("go", "nogo", "published"):
            raise ValueError(f"unknown request state {state!r}")
        with self.ledger.transaction() as session:
            row = session.scalars(select(GateRequest).where(
                GateRequest.release == release, GateRequest.repo == repo,
                GateRequest.family == family, GateRequest.family_evr == family_evr)).first()
            if row is None:
                row = GateRequest(release=release, repo=repo, family=family,
                                  family_evr=family_evr, files="[]", requested_at=at)
                session.add(row)
            row.state, row.decided_by, row.via, row.decided_at = state, by, via, at

    def requests(self, state: str | None = None) -> list[Request]:
        query = select(GateRequest).order_by(GateRequest.id)
        if state is not None:
            query = query.where(GateRequest.state == state)
        with self.ledger.transaction() as session:
            return [Request(r.release, r.repo, r.family, r.family_evr, r.state,
                            tuple(json.loads(r.files)), r.decided_by, r.via)
                    for r in session.scalars(query)]


def now() -> datetime:
    return datetime.now(UTC)

"""The Gates page: what waits for whom, since when, and where to answer it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from updraft.ledger.models import GateAnswer, GateRequest
from updraft.web.gate_subject import family_names
from updraft.web.links import answer_url, family_url, run_url


@dataclass(frozen=True, slots=True)
class Waiting:
    kind: str  # promote, build, sign, release, iso, or "held" (a cp into a gated repo)
    release: str
    target: str
    family: str
    evr: str
    assigned: tuple[str, ...]
    since: datetime
    answer: str  # where to answer: the Required Action, or the family page
    run: str  # the waiting run's page, when a run waits

    @property
    def family_url(self) -> str:
        """The Family page of the one family the gate asks about ("" for none or several:
        a gate's `family` is its label, e.g. an N-V-R or a build batch's list)."""
        names = family_names(self.family)
        return family_url(names[0]) if len(names) == 1 else ""

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"kind": self.kind, "release": self.release, "target": self.target,
                "family": self.family, "evr": self.evr, "assigned": list(self.assigned),
                "since": self.since.isoformat(),
                "waiting_seconds": int((now - self.since).total_seconds()),
                "answer_url": self.answer, "run_url": self.run,
                "family_url": self.family_url}


def _assigned(raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    return tuple(str(v.get("name") or v.get("id")) if isinstance(v, dict) else str(v)
                 for v in value) if isinstance(value, list) else ()


def waiting(session: Session, approvers: dict[str, tuple[str, ...]]) -> list[Waiting]:
    """Open questions (asked, not answered, not void) and held requests. `approvers` maps
    a gated repo to the people who may give its Go (from the config's roles)."""
    found = []
    open_gates = select(GateAnswer).where(GateAnswer.answered_at.is_(None),
                                          GateAnswer.void.is_(False))
    for row in session.scalars(open_gates):
        answer = answer_url(row.dag_id, row.run_id, row.task_id) if row.run_id else ""
        found.append(Waiting(row.kind, row.release, row.target, row.family, "",
                             _assigned(row.assigned), row.asked_at, answer,
                             run_url(row.dag_id, row.run_id) if row.run_id else ""))
    for req in session.scalars(select(GateRequest).where(GateRequest.state == "pending")):
        found.append(Waiting("held", req.release, req.repo, req.family, req.family_evr,
                             approvers.get(req.repo, ()), req.requested_at,
                             family_url(req.family), ""))
    found.sort(key=lambda item: item.since)
    return found

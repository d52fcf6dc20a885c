"""The Family page: one family's history from the ledger, oldest first — landed, built,
signed, each gate (who, when, answer, comment), each move, released (advisory, mails) —
each step with a link to the Airflow run (and task) that did it."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from updraft.ledger.models import (
    Action,
    GateAnswer,
    GateRequest,
    ReleaseAdvisory,
    StateChangeRow,
    UpstreamAdvisory,
)
from updraft.web.gate_subject import names_family
from updraft.web.links import answer_url, run_url, trigger_url

MAX_EVENTS = 2000


@dataclass
class Event:
    at: datetime
    kind: str  # state, move, copy, delete, gate, request, advisory, upstream
    release: str
    evr: str
    text: str
    by: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, same-site path)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "release": self.release,
                "evr": self.evr, "text": self.text, "by": self.by,
                "links": [{"label": label, "url": url} for label, url in self.links]}


def _run_links(trigger: str, task_id: str | None = None) -> list[tuple[str, str]]:
    url = trigger_url(trigger)
    if url is None:
        return []
    links = [("run", url)]
    if task_id:
        links.append(("task log", trigger_url(trigger, task_id) or url))
    return links


def _actions(session: Session, family: str) -> list[Event]:
    grouped: dict[tuple[Any, ...], list[Action]] = defaultdict(list)
    for row in session.scalars(select(Action).where(Action.family == family)):
        grouped[(row.plan_id, row.verb, row.release, row.family_evr, row.from_repo,
                 row.to_repo)].append(row)
    events = []
    for (_, verb, release, evr, source, target), rows in grouped.items():
        where = " → ".join(r for r in (source, target) if r)
        reasons = sorted({r.reason for r in rows if r.reason})
        text = f"{verb} {len(rows)} file(s) {where}" + (f": {'; '.join(reasons)}"
                                                          if reasons else "")
        events.append(Event(rows[0].at, verb, release, evr, text, rows[0].trigger,
                            _run_links(rows[0].trigger)))
    return events


def _states(session: Session, family: str) -> list[Event]:
    grouped: dict[tuple[Any, ...], list[StateChangeRow]] = defaultdict(list)
    for row in session.scalars(select(StateChangeRow).where(StateChangeRow.family == family)):
        grouped[(row.at, row.release, row.family_evr, row.state, row.repo)].append(row)
    return [Event(at, "state", release, evr,
                  f"{state}" + (f" in {repo}" if repo else "")
                  + (f" ({rows[0].note})" if rows[0].note else ""))
            for (at, release, evr, state, repo), rows in grouped.items()]


def _asked_about(row: GateAnswer, family: str) -> bool:
    """The gate asked about `family`: its label names it, or (the release gate, which
    records no label) its answer chose a version of it."""
    if names_family(row.family, family):
        return True
    return row.kind == "release" and names_family(", ".join(json.loads(row.chosen or "[]")),
                                                  family)


def _gates(session: Session, family: str) -> list[Event]:
    events = []
    # Gates record labels (an N-V-R, "name-V-R (9)", lists): narrowed in SQL, then parsed.
    maybe = or_(GateAnswer.family.contains(family, autoescape=True),
                and_(GateAnswer.kind == "release",
                     GateAnswer.chosen.contains(family, autoescape=True)))
    for row in session.scalars(select(GateAnswer).where(maybe)):
        if not _asked_about(row, family):
            continue
        links = []
        if row.dag_id and row.run_id:
            links = [("run", run_url(row.dag_id, row.run_id)),
                     ("gate", answer_url(row.dag_id, row.run_id, row.task_id))]
        assigned = ", ".join(str(a) for a in json.loads(row.assigned or "[]"))
        asked = f"{row.kind} gate asked ({row.task_id}) → {row.target or '-'}, for {assigned}"
        events.append(Event(row.asked_at, "gate", row.release, "", asked, "", links))
        if row.answered_at:
            chosen = ", ".join(json.loads(row.chosen or "[]"))
            text = f"{row.kind} gate answered: {chosen}" + (
                f" — {row.comment}" if row.comment else "") + (" (void)" if row.void else "")
            events.append(Event(row.answered_at, "gate", row.release, "", text, row.by, links))
    return events


def _requests(session: Session, family: str) -> list[Event]:
    events = []
    for row in session.scalars(select(GateRequest).where(GateRequest.family == family)):
        events.append(Event(row.requested_at, "request", row.release, row.family_evr,
                            f"arrived in gated {row.repo} without a Go: held"))
        if row.decided_at:
            events.append(Event(row.decided_at, "request", row.release, row.family_evr,
                                f"held request decided: {row.state} (via {row.via})",
                                row.decided_by, _run_links(row.via)))
    return events


def _advisories(session: Session, family: str) -> list[Event]:
    events = []
    for row in session.scalars(select(ReleaseAdvisory).where(ReleaseAdvisory.family == family)):
        bugs = ", ".join(str(b) for b in json.loads(row.bugs or "[]"))
        events.append(Event(row.issued, "advisory", row.release, row.family_evr,
                            f"released as {row.id} ({row.kind}): {row.title}"
                            + (f"; bugs {bugs}" if bugs else ""), row.run, _run_links(row.run)))
        if row.notes_sent:
            events.append(Event(row.notes_sent, "advisory", row.release, row.family_evr,
                                f"release notes for {row.id} mailed", row.run))
        if row.bugs_closed:
            events.append(Event(row.bugs_closed, "advisory", row.release, row.family_evr,
                                f"bugs of {row.id} closed", row.run))
    for up in session.scalars(select(UpstreamAdvisory).where(UpstreamAdvisory.family == family)):
        events.append(Event(up.at, "upstream", up.release, up.family_evr,
                            f"landed in {up.repo} with upstream {up.kind} advisory "
                            f"{up.advisory}: {up.title}", up.source))
    return events


def timeline(session: Session, family: str) -> list[Event]:
    events = [*_actions(session, family), *_states(session, family), *_gates(session, family),
              *_requests(session, family), *_advisories(session, family)]
    events.sort(key=lambda event: event.at)
    return events[-MAX_EVENTS:]

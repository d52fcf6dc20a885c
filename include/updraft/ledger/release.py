"""The ledger's release records: the advisories we issue and the answers given at gates.

An advisory number is allocated once per family version: a retried or resumed release
finds the advisory it already issued, so SME-2026:7 never becomes SME-2026:8.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from updraft.ledger.models import GateDecision, ReleaseAdvisory, UpstreamAdvisory
from updraft.ledger.store import Ledger, insert_missing


@dataclass(frozen=True)
class Issued:
    id: str
    release: str
    family: str
    family_evr: str
    kind: str
    severity: str
    title: str
    bugs: tuple[int, ...]
    packages: tuple[str, ...]
    issued: datetime
    notes_sent: datetime | None = None
    bugs_closed: datetime | None = None


def _issued(row: ReleaseAdvisory) -> Issued:
    return Issued(row.id, row.release, row.family, row.family_evr, row.kind, row.severity,
                  row.title, tuple(json.loads(row.bugs)), tuple(json.loads(row.packages)),
                  row.issued, row.notes_sent, row.bugs_closed)


class ReleaseRecords:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def issue(self, prefix: str, release: str, family: str, family_evr: str, kind: str,
              severity: str, title: str, bugs: list[int], packages: list[str],
              at: datetime, run: str) -> Issued:
        """The family version's advisory: the one issued before, or the next number."""
        for _ in range(5):  # two releases allocating at once: the loser takes the next
            found = self.advisory(release, family, family_evr)
            if found is not None:
                return found
            try:
                with self.ledger.transaction() as session:
                    number = 1 + (session.scalar(select(func.max(ReleaseAdvisory.number))
                                                 .where(ReleaseAdvisory.year == at.year)) or 0)
                    session.add(ReleaseAdvisory(
                        id=f"{prefix}-{at.year}:{number}", year=at.year, number=number,
                        release=release, family=family, family_evr=family_evr, kind=kind,
                        severity=severity, title=title, bugs=json.dumps(bugs),
                        packages=json.dumps(packages), issued=at, run=run))
            except IntegrityError:
                continue
        found = self.advisory(release, family, family_evr)
        if found is None:
            raise RuntimeError(f"could not allocate an advisory for {family}-{family_evr}")
        return found

    def advisory(self, release: str, family: str, family_evr: str) -> Issued | None:
        with self.ledger.transaction() as session:
            row = session.scalars(select(ReleaseAdvisory).where(
                ReleaseAdvisory.release == release, ReleaseAdvisory.family == family,
                ReleaseAdvisory.family_evr == family_evr)).first()
            return _issued(row) if row else None

    def advisories(self, release: str | None = None) -> list[Issued]:
        query = select(ReleaseAdvisory).order_by(ReleaseAdvisory.year, ReleaseAdvisory.number)
        if release is not None:
            query = query.where(ReleaseAdvisory.release == release)
        with self.ledger.transaction() as session:
            return [_issued(row) for row in session.scalars(query)]

    def mark(self, ids: list[str], field: str, at: datetime) -> None:
        if field not in ("notes_sent", "bugs_closed"):
            raise ValueError(f"unknown advisory field {field!r}")
        with self.ledger.transaction() as session:
            session.execute(update(ReleaseAdvisory).where(ReleaseAdvisory.id.in_(ids))
                            .values({field: at}))

    def released(self, release: str, families: list[tuple[str, str]]) -> None:
        """Upstream security advisories of these families no longer wait (seed 004 n. 3)."""
        with self.ledger.transaction() as session:
            for family, evr in families:
                session.execute(update(UpstreamAdvisory).where(
                    UpstreamAdvisory.release == release, UpstreamAdvisory.family == family,
                    UpstreamAdvisory.family_evr == evr).values(security_waiting=False))

    def record_decision(self, run: str, gate: str, release: str, chosen: list[str], by: str,
                        at: datetime) -> None:
        with self.ledger.transaction() as session:
            insert_missing(session, GateDecision, [{
                "run": run, "gate": gate, "release": release, "chosen": json.dumps(chosen),
                "by": by, "at": at}], ("run", "gate"))

    def decisions(self, run: str | None = None) -> list[dict[str, object]]:
        query = select(GateDecision).order_by(GateDecision.id)
        if run is not None:
            query = query.where(GateDecision.run == run)
        with self.ledger.transaction() as session:
            return [{"run": r.run, "gate": r.gate, "release": r.release,
                     "chosen": json.loads(r.chosen), "by": r.by, "at": r.at}
                    for r in session.scalars(query)]

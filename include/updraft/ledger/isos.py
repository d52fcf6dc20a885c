"""The ledger's ISO records: every step of a build and of its publish, in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from updraft.ledger.models import IsoStep
from updraft.ledger.store import Ledger

OUTCOMES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class IsoStepRecord:
    release: str
    version: str
    trigger: str
    step: str
    outcome: str
    detail: str
    at: datetime

    def line(self) -> str:
        return (f"{self.at.isoformat(timespec='seconds')} {self.version} {self.step}: "
                f"{self.outcome} {self.detail}".rstrip())


def record_step(ledger_url: str, release: str, version: str, trigger: str, step: str,
                outcome: str = "done", detail: str = "") -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown ISO step outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    with Ledger.open(ledger_url) as ledger, ledger.transaction() as session:
        session.add(IsoStep(release=release, version=version, trigger=trigger, step=step,
                            outcome=outcome, detail=detail, at=datetime.now(UTC)))


def iso_steps(ledger_url: str, release: str, version: str | None = None) -> list[IsoStepRecord]:
    query = select(IsoStep).where(IsoStep.release == release).order_by(IsoStep.id)
    if version is not None:
        query = query.where(IsoStep.version == version)
    with Ledger.open(ledger_url) as ledger, ledger.transaction() as session:
        return [IsoStepRecord(r.release, r.version, r.trigger, r.step, r.outcome, r.detail,
                              r.at) for r in session.scalars(query)]

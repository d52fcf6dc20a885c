"""The ledger's build facts a coupling asks for: when a family first arrived in a
release, and when each build of a family finished (its `unsigned` state, set only by
a build: updraft.ledger.builds)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from updraft.ledger.models import StateChangeRow
from updraft.ledger.store import Ledger

BUILT = "unsigned"


class BuildEvents:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def arrived(self, release: str, family: str, family_evr: str) -> datetime | None:
        """The first state the family at this version-release ever had in the release."""
        query = select(func.min(StateChangeRow.at)).where(
            StateChangeRow.release == release,
            StateChangeRow.family == family,
            StateChangeRow.family_evr == family_evr,
        )
        with self.ledger.transaction() as session:
            return session.scalar(query)

    def built(self, release: str, family: str) -> list[tuple[str, datetime]]:
        """(version-release, when) of every finished build of the family, oldest first."""
        query = (
            select(StateChangeRow.family_evr, func.min(StateChangeRow.at))
            .where(
                StateChangeRow.release == release,
                StateChangeRow.family == family,
                StateChangeRow.state == BUILT,
            )
            .group_by(StateChangeRow.family_evr)
            .order_by(func.min(StateChangeRow.at))
        )
        with self.ledger.transaction() as session:
            return [(label, at) for label, at in session.execute(query)]

"""The ledger's mirror records: what each download mirror served at its latest check (the
release's wait for the mirrors), read by the Repos page.

A check overwrites the row of its mirror, release, repo and arch dir: the page shows each
mirror's current state, not every poll of every wait. What a mirror served is hostile
data; it arrives here bounded (updraft.release.mirrors) and is bounded again here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from updraft.ledger.models import NAME, MirrorCheckRow
from updraft.ledger.store import Ledger

ERROR_LIMIT = 300  # one line of an error is plenty for a page


@dataclass(frozen=True, slots=True)
class MirrorSeen:
    mirror: str  # the configured URL template
    release: str
    repo: str
    archdir: str
    url: str  # of its repomd.xml
    want: str  # our revision when it was checked
    have: str  # the mirror's revision, "" when none was read
    error: str  # "" when it was read
    checked_at: datetime

    @property
    def synced(self) -> bool:
        return not self.error and self.have == self.want


def one_line(text: str, limit: int) -> str:
    """Whitespace and control characters folded to single spaces, cut at `limit`."""
    folded = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(folded.split())[:limit]


class MirrorRecords:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(self, seen: Iterable[MirrorSeen]) -> None:
        with self.ledger.transaction() as session:
            for check in seen:
                values = {"url": check.url, "want": one_line(check.want, NAME),
                          "have": one_line(check.have, NAME),
                          "error": one_line(check.error, ERROR_LIMIT),
                          "synced": check.synced, "checked_at": check.checked_at}
                row = session.scalar(select(MirrorCheckRow).where(
                    MirrorCheckRow.mirror == check.mirror,
                    MirrorCheckRow.release == check.release,
                    MirrorCheckRow.repo == check.repo,
                    MirrorCheckRow.archdir == check.archdir))
                if row is None:
                    session.add(MirrorCheckRow(mirror=check.mirror, release=check.release,
                                               repo=check.repo, archdir=check.archdir,
                                               **values))
                else:
                    for key, value in values.items():
                        setattr(row, key, value)

    def latest(self) -> list[MirrorSeen]:
        with self.ledger.transaction() as session:
            return latest(session)


def latest(session: Session) -> list[MirrorSeen]:
    """Every mirror's latest check of every repo and arch dir it was asked for."""
    rows = session.scalars(select(MirrorCheckRow).order_by(
        MirrorCheckRow.mirror, MirrorCheckRow.release, MirrorCheckRow.repo,
        MirrorCheckRow.archdir))
    return [MirrorSeen(r.mirror, r.release, r.repo, r.archdir, r.url, r.want, r.have,
                       r.error, r.checked_at) for r in rows]

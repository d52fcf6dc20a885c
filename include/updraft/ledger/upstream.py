"""The ledger's upstream records: how each source's syncs went, and upstream advisories
linked to the families they landed with (seed 004: "link to security adv of package")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from updraft.ledger.models import SourceSync, UpstreamAdvisory
from updraft.ledger.store import Ledger, insert_missing

# A source's states: seed 004's `mirroring` while it syncs, then how the sync ended.
SOURCE_STATES = ("mirroring", "synced", "half-mirrored", "unreachable", "failed")


@dataclass(frozen=True)
class AdvisoryLink:
    release: str
    source: str
    advisory: str
    kind: str
    severity: str
    title: str
    issued: str
    family: str
    family_evr: str
    repo: str
    at: datetime
    plan_id: str | None = None
    refs: tuple[dict[str, str], ...] = field(default=())
    security_waiting: bool = False

    @property
    def cves(self) -> list[str]:
        return [ref["id"] for ref in self.refs if ref.get("type") == "cve" and ref.get("id")]


class UpstreamRecords:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def begin_sync(self, release: str, source: str, at: datetime) -> int:
        with self.ledger.transaction() as session:
            row = SourceSync(release=release, source=source, state="mirroring", started=at,
                             finished=None, revision="", note="")
            session.add(row)
            session.flush()
            return row.id

    def end_sync(self, sync_id: int, state: str, at: datetime, revision: str = "",
                 note: str = "") -> None:
        if state not in SOURCE_STATES:
            raise ValueError(f"unknown source state {state!r} (known: {', '.join(SOURCE_STATES)})")
        with self.ledger.transaction() as session:
            session.execute(update(SourceSync).where(SourceSync.id == sync_id).values(
                state=state, finished=at, revision=revision, note=note))

    def source_state(self, release: str, source: str) -> tuple[str, str] | None:
        """The state of the source's latest sync and its note."""
        with self.ledger.transaction() as session:
            row = session.execute(
                select(SourceSync.state, SourceSync.note)
                .where(SourceSync.release == release, SourceSync.source == source)
                .order_by(SourceSync.id.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None

    def link_advisories(self, links: list[AdvisoryLink]) -> None:
        rows = [{
            "release": link.release, "source": link.source, "advisory": link.advisory,
            "kind": link.kind, "severity": link.severity, "title": link.title,
            "issued": link.issued, "refs": json.dumps(list(link.refs)),
            "family": link.family, "family_evr": link.family_evr, "repo": link.repo,
            "plan_id": link.plan_id, "at": link.at, "security_waiting": link.security_waiting,
        } for link in links]
        with self.ledger.transaction() as session:
            insert_missing(session, UpstreamAdvisory, rows,
                           ("advisory", "release", "family", "family_evr"))

    def settle(self, links: list[AdvisoryLink]) -> None:
        """These security updates are released (and announced): no more reminders."""
        with self.ledger.transaction() as session:
            for link in links:
                session.execute(update(UpstreamAdvisory).where(
                    UpstreamAdvisory.advisory == link.advisory,
                    UpstreamAdvisory.release == link.release,
                    UpstreamAdvisory.family == link.family,
                    UpstreamAdvisory.family_evr == link.family_evr).values(security_waiting=False))

    def advisories(self, release: str | None = None, family: str | None = None,
                   security_waiting: bool | None = None) -> list[AdvisoryLink]:
        query = select(UpstreamAdvisory).order_by(UpstreamAdvisory.id)
        if release is not None:
            query = query.where(UpstreamAdvisory.release == release)
        if family is not None:
            query = query.where(UpstreamAdvisory.family == family)
        if security_waiting is not None:
            query = query.where(UpstreamAdvisory.security_waiting == security_waiting)
        with self.ledger.transaction() as session:
            return [_link(row) for row in session.scalars(query)]


def _link(row: UpstreamAdvisory) -> AdvisoryLink:
    return AdvisoryLink(
        release=row.release, source=row.source, advisory=row.advisory, kind=row.kind,
        severity=row.severity, title=row.title, issued=row.issued, family=row.family,
        family_evr=row.family_evr, repo=row.repo, at=row.at, plan_id=row.plan_id,
        refs=tuple(json.loads(row.refs or "[]")), security_waiting=row.security_waiting,
    )

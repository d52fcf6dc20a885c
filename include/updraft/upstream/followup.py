"""Follow-up: the facade the security DAGs (and a CLI) share (issue 17 §4).

`remind` composes the "Security update waiting" reminders of every security update
still below the updates repo; `announce` composes the security announcement of those
the updates repo now carries, and `settle` marks them done once the mail went out.
Reads the ledger's advisory links and the tree; writes only `settle`'s flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

from updraft.engine.evr import DistTag
from updraft.engine.layout import Layout
from updraft.engine.policy import policies_for
from updraft.ledger import Ledger
from updraft.ledger.upstream import AdvisoryLink, UpstreamRecords
from updraft.release.inventory import holdings
from updraft.upstream.security import (
    Announced,
    Waiting,
    announcement_mail,
    covers,
    merge_security,
    reminder_mails,
    security_for,
    split_waiting,
)


@dataclass
class Announcement:
    mail: EmailMessage
    links: list[AdvisoryLink] = field(default_factory=list)


class SecurityFollowup:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.config = layout.config
        self.dist = DistTag(self.config.dist_tag_pattern)

    def _links(self) -> list[AdvisoryLink]:
        with Ledger.open(self.layout.ledger_url) as ledger:
            return UpstreamRecords(ledger).advisories(security_waiting=True)

    def _released(self, release: str) -> dict[str, list[str]]:
        """name -> the labels the updates repo (release.target) holds."""
        found: dict[str, list[str]] = {}
        for held in holdings(self.layout, release).get(self.config.release.target, {}).values():
            found.setdefault(held.family.name, []).append(held.label)
        return found

    def _split(self, now: datetime) -> tuple[list[Waiting], list[AdvisoryLink]]:
        links = self._links()
        waiting: list[Waiting] = []
        done: list[AdvisoryLink] = []
        for release in dict.fromkeys(link.release for link in links):
            mine = [link for link in links if link.release == release]
            still, out = split_waiting(mine, self._released(release), self.dist, now)
            waiting += still
            done += out
        return waiting, done

    def remind(self, now: datetime | None = None) -> list[EmailMessage]:
        waiting, _ = self._split(now or datetime.now(UTC))
        owners = {
            w.link.family: [
                a for p in policies_for(self.config, w.link.family).matched for a in p.owners
            ]
            for w in waiting
        }
        return reminder_mails(self.config, waiting, owners)

    def announce(self, now: datetime | None = None) -> list[Announcement]:
        """One announcement per release whose updates repo now carries security updates
        still flagged waiting."""
        _, done = self._split(now or datetime.now(UTC))
        found = []
        for release in dict.fromkeys(link.release for link in done):
            mine = [link for link in done if link.release == release]
            target = holdings(self.layout, release).get(self.config.release.target, {})
            nvrs, packages, security = [], [], []
            for held in target.values():
                name = held.family.name
                if not any(covers(link, name, held.label, self.dist) for link in mine):
                    continue
                facts = security_for(mine, name, held.label, self.dist)
                if facts is None:
                    continue
                nvrs.append(held.nvr)
                packages += sorted({_binary_name(path) for path in held.binary_paths()})
                security.append(facts)
            if not security:
                continue
            merged = merge_security(security)
            mail = announcement_mail(
                self.config, Announced(release, tuple(nvrs), tuple(dict.fromkeys(packages)), merged)
            )
            found.append(Announcement(mail, mine))
        return found

    def settle(self, links: list[AdvisoryLink]) -> None:
        with Ledger.open(self.layout.ledger_url) as ledger:
            UpstreamRecords(ledger).settle(links)


def _binary_name(path: str) -> str:
    """`libtevent-devel` of .../libtevent-devel-0.9.31-2.el6.x86_64.rpm (name-ver-rel.arch)."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".rpm").rsplit(".", 1)[0]
    return stem.rsplit("-", 2)[0]

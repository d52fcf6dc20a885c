"""A landing's advisory links, crash-safe: written down before the landing applies, made
in the ledger after it, for what the tree then holds.

Linking only what a run applied lost the link when the run died between its apply and
its ledger write: the next run found the families already landed, planned nothing for
them, and a security update sat in smetest with no advisory said about it. So the links
a landing would make wait in `<state>/mirror/advisory-links.json` until a land step
(this run's, or the next one's after a kill) finds their files in the tree and records
them (idempotently); links whose files never arrived (a family left as it was) go.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from updraft.engine.durable import temporary_for
from updraft.engine.faults import checkpoint
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.ledger.upstream import AdvisoryLink, UpstreamRecords
from updraft.upstream.errata import UpstreamAdvisory, advisories_for
from updraft.upstream.landing import Landing


@dataclass(frozen=True)
class PendingLink:
    link: AdvisoryLink  # its repo and security_waiting are settled when it is made
    files: tuple[tuple[str, str], ...]  # (file name, repo) of the landing's packages

    def to_json(self) -> dict:
        return {"link": {**asdict(self.link), "at": self.link.at.isoformat(),
                         "refs": list(self.link.refs)}, "files": [list(f) for f in self.files]}

    @classmethod
    def from_json(cls, raw: dict) -> PendingLink:
        link = dict(raw["link"])
        link["at"], link["refs"] = datetime.fromisoformat(link["at"]), tuple(link["refs"])
        return cls(AdvisoryLink(**link), tuple((name, repo) for name, repo in raw["files"]))


def planned(release: str, landing: Landing, advisories: Sequence[UpstreamAdvisory],
            test_repo: str) -> list[PendingLink]:
    """The links a landing makes if it lands whole."""
    nvrs = {package.nvr for package, _ in landing.targets}
    files = tuple((package.filename, repo) for package, repo in landing.targets)
    return [PendingLink(AdvisoryLink(
        release=release, source=landing.origin, advisory=advisory.id, kind=advisory.kind,
        severity=advisory.severity, title=advisory.title, issued=advisory.issued,
        family=landing.family.name, family_evr=landing.family.label, repo=test_repo,
        at=datetime.now(UTC), refs=advisory.references, security_waiting=advisory.security),
        files) for advisory in advisories_for(advisories, nvrs)]


class PendingLinks:
    def __init__(self, layout: Layout, test_repo: str) -> None:
        self.layout = layout
        self.test_repo = test_repo
        self.path = layout.state_dir / "mirror" / "advisory-links.json"

    def load(self) -> list[PendingLink]:
        try:
            return [PendingLink.from_json(raw) for raw in json.loads(self.path.read_text())]
        except FileNotFoundError:
            return []

    def save(self, links: list[PendingLink]) -> None:
        """Before the landing applies: a kill after it still finds them here."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_for(self.path)
        temporary.write_text(json.dumps([link.to_json() for link in links]))
        os.replace(temporary, self.path)
        checkpoint("landing: advisory links written down")

    def make(self, links: list[PendingLink], plan_id: str | None) -> list[AdvisoryLink]:
        """Record the links whose files the tree holds now; forget them all."""
        made = []
        unique = {(p.link.release, p.link.source, p.link.advisory, p.link.family,
                   p.link.family_evr): p for p in links}  # a retry plans them again
        for pending in unique.values():
            landed = [repo for name, repo in pending.files
                      if self._present(pending.link.release, repo, name)]
            if not landed:
                continue
            repo = self.test_repo if self.test_repo in landed else landed[0]
            made.append(AdvisoryLink(**{
                **asdict(pending.link), "refs": pending.link.refs, "repo": repo,
                "plan_id": pending.link.plan_id or plan_id,
                "security_waiting": pending.link.security_waiting and repo == self.test_repo}))
        if made:
            with Ledger.open(self.layout.ledger_url) as ledger:
                UpstreamRecords(ledger).link_advisories(made)
        self.path.unlink(missing_ok=True)
        return made

    def _present(self, release: str, repo: str, filename: str) -> bool:
        if filename.endswith(".src.rpm"):
            return (self.layout.source_dir(release, repo) / filename).is_file()
        return any((self.layout.binary_dir(release, repo, archdir) / filename).is_file()
                   for archdir in self.layout.archdirs(release))

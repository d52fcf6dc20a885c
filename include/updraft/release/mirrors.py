"""Mirrors: seed 000's "Wait for the mirrors to sync, and then email the release notes".

A mirror has synced a repo when its repomd.xml carries the master's revision for every
arch dir the release touched. The master's revisions are read from the tree; each
mirror's with one small HTTP GET per arch dir, parsed by createrepo_c.
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from updraft.engine.layout import Layout


@dataclass(frozen=True)
class MirrorCheck:
    mirror: str  # the configured URL template
    archdir: str
    url: str  # of repomd.xml
    want: str  # the master's revision
    have: str | None  # the mirror's, None when it could not be read
    error: str = ""

    @property
    def synced(self) -> bool:
        return self.have == self.want

    def line(self) -> str:
        if self.synced:
            return f"{self.url}: synced (revision {self.want})"
        seen = self.error or f"revision {self.have}"
        return f"{self.url}: waiting for revision {self.want} ({seen})"


def revision_of(repomd_xml: Path) -> str:
    return cr.Repomd(str(repomd_xml)).revision or ""


def master_revisions(layout: Layout, release: str, repo: str,
                     archdirs: list[str]) -> dict[str, str]:
    return {archdir: revision_of(layout.repodata_dir(release, repo, archdir)
                                 / "repodata" / "repomd.xml") for archdir in archdirs}


def repomd_url(template: str, release: str, repo: str, archdir: str) -> str:
    base = template.format(release=release, repo=repo, arch=archdir)
    return base.rstrip("/") + "/repodata/repomd.xml"


def fetch_revision(url: str, timeout: float = 30.0) -> tuple[str | None, str]:
    """The revision a mirror's repomd.xml carries, or (None, why not)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # config
            body = answer.read(4 << 20)
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))
    with tempfile.NamedTemporaryFile(suffix="-repomd.xml") as copy:
        copy.write(body)
        copy.flush()
        try:
            return revision_of(Path(copy.name)), ""
        except (cr.CreaterepoCError, ValueError) as exc:
            return None, f"unreadable repomd.xml ({exc})"


def check(mirrors: tuple[str, ...], release: str, repo: str,
          masters: dict[str, str], timeout: float = 30.0) -> list[MirrorCheck]:
    checks = []
    for mirror in mirrors:
        for archdir, want in sorted(masters.items()):
            url = repomd_url(mirror, release, repo, archdir)
            have, error = fetch_revision(url, timeout)
            checks.append(MirrorCheck(mirror, archdir, url, want, have, error))
    return checks

"""Mirrors: seed 000's "Wait for the mirrors to sync, and then email the release notes".

A mirror has synced a repo when its repomd.xml carries the master's revision for every
arch dir the release touched. The master's revisions are read from the tree; each
mirror's with one small HTTP GET per arch dir, parsed by createrepo_c. Each check is
recorded in the ledger (updraft.ledger.mirrors) for the Repos page.

A mirror's answer is hostile data: its repomd.xml is read up to REPOMD_LIMIT bytes
within a deadline (a slow drip is cut off, not waited out), its revision kept to one
short line, and an error to one line.
"""

from __future__ import annotations

import http.client
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import createrepo_c as cr

from updraft.engine.layout import Layout
from updraft.ledger.mirrors import ERROR_LIMIT, MirrorRecords, MirrorSeen, one_line
from updraft.ledger.store import Ledger

REPOMD_LIMIT = 1 << 20  # a repomd.xml is a few kB: a mirror sending more is broken
REVISION_LIMIT = 128  # createrepo_c's revisions are epoch seconds; a longer one is junk
_CHUNK = 1 << 16


class _Refused(Exception):
    """The answer broke a bound (too big, too slow): the mirror counts as unreadable."""


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
    """The revision a mirror's repomd.xml carries, or (None, why not, one line).

    Takes at most about twice `timeout`: the whole answer must arrive within it, and
    each read waits at most that long."""
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # config
            body = _read_bounded(answer, deadline)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError,
            _Refused) as exc:
        return None, one_line(_why(exc), ERROR_LIMIT)
    with tempfile.NamedTemporaryFile(suffix="-repomd.xml") as copy:
        copy.write(body)
        copy.flush()
        try:
            return one_line(revision_of(Path(copy.name)), REVISION_LIMIT), ""
        except (cr.CreaterepoCError, ValueError) as exc:
            return None, one_line(f"unreadable repomd.xml ({exc})", ERROR_LIMIT)


def _why(exc: Exception) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return str(exc)  # "HTTP Error 404: Not Found"
    return str(getattr(exc, "reason", None) or exc) or type(exc).__name__


def _read_bounded(answer: http.client.HTTPResponse, deadline: float) -> bytes:
    pieces: list[bytes] = []
    size = 0
    while piece := answer.read1(_CHUNK):
        size += len(piece)
        if size > REPOMD_LIMIT:
            raise _Refused(f"repomd.xml larger than {REPOMD_LIMIT} bytes")
        if time.monotonic() > deadline:
            raise _Refused(f"repomd.xml not served within the deadline ({size} bytes came)")
        pieces.append(piece)
    return b"".join(pieces)


def check(mirrors: tuple[str, ...], release: str, repo: str,
          masters: dict[str, str], timeout: float = 30.0) -> list[MirrorCheck]:
    checks = []
    for mirror in mirrors:
        for archdir, want in sorted(masters.items()):
            url = repomd_url(mirror, release, repo, archdir)
            have, error = fetch_revision(url, timeout)
            checks.append(MirrorCheck(mirror, archdir, url, want, have, error))
    return checks


def record(ledger_url: str, release: str, repo: str, checks: Iterable[MirrorCheck],
           at: datetime) -> None:
    """Keep what each mirror served (the Repos page shows it)."""
    with Ledger.open(ledger_url) as ledger:
        MirrorRecords(ledger).record(
            MirrorSeen(c.mirror, release, repo, c.archdir, c.url, c.want, c.have or "",
                       c.error, at) for c in checks)

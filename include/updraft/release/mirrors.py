"""Mirrors: seed 000's "Wait for the mirrors to sync, and then email the release notes".

A mirror has synced a repo when its repomd.xml carries the master's revision for every
arch dir the release touched. The master's revisions are read from the tree; each
mirror's with one small HTTP GET per arch dir, parsed by createrepo_c. Each check is
recorded in the ledger (updraft.ledger.mirrors) for the Repos page.

A mirror's answer is hostile data: its repomd.xml is read up to REPOMD_LIMIT bytes
within a deadline (a slow drip is cut off, not waited out, headers included), its
revision kept to one short line, and an error to one line. A redirect is followed only
on the mirror's own host: another host's answer is not this mirror's state, and a mirror
must not aim the check at any address it likes.
"""

from __future__ import annotations

import http.client
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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

    Takes at most about `timeout`: the whole answer (status line, headers, body, across
    redirects) must arrive within it."""
    deadline = time.monotonic() + timeout
    watchdog = _Watchdog(deadline)
    try:
        with _opener(watchdog, url).open(url, timeout=timeout) as answer:  # config
            body = _read_bounded(answer, deadline)
        if watchdog.expired:  # the cut connection looked like the end of the answer
            raise _Refused("cut at the deadline")
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError,
            _Refused) as exc:
        why = (f"repomd.xml not served within the deadline ({timeout:g} s)"
               if watchdog.expired else _why(exc))
        return None, one_line(why, ERROR_LIMIT)
    finally:
        watchdog.close()
    with tempfile.NamedTemporaryFile(suffix="-repomd.xml") as copy:
        copy.write(body)
        copy.flush()
        try:
            return one_line(revision_of(Path(copy.name)), REVISION_LIMIT), ""
        except (cr.CreaterepoCError, ValueError) as exc:
            return None, one_line(f"unreadable repomd.xml ({exc})", ERROR_LIMIT)


class _Watchdog:
    """Shuts every connection of one fetch down at its deadline. urllib's timeout bounds
    each read, not the answer: a status line and headers dripped a byte at a time would
    hold the check (a triggerer thread) for ever. It shuts down its own duplicate of each
    socket (the same connection, TLS or not; never a number reused by another)."""

    def __init__(self, deadline: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection: socket.socket) -> None:
        copy = connection.dup()
        with self._lock:
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for copy in self._sockets:
                _shut(copy)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for copy in self._sockets:
                copy.close()
            self._sockets.clear()


def _shut(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its peer


def _watched(watchdog: _Watchdog, http_class: Any) -> Any:
    """`http_class`, its sockets handed to `watchdog` as they are made."""
    def make(*args: Any, **kwargs: Any) -> Any:
        connection = http_class(*args, **kwargs)
        create = connection._create_connection

        def created(*args: Any, **kwargs: Any) -> socket.socket:
            made = create(*args, **kwargs)
            watchdog.watch(made)
            return made

        connection._create_connection = created
        return connection
    return make


def _opener(watchdog: _Watchdog, url: str) -> urllib.request.OpenerDirector:
    host = urlsplit(url).hostname

    class Http(urllib.request.HTTPHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(_watched(watchdog, http_class), req, **kwargs)

    class Https(urllib.request.HTTPSHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(_watched(watchdog, http_class), req, **kwargs)

    class SameHost(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                             newurl: str) -> Any:
            target = urlsplit(newurl)
            if target.scheme not in ("http", "https") or target.hostname != host:
                raise _Refused(f"redirected to another host ({newurl})")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(Http, Https, SameHost)


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
    if answer.length:  # the connection ended before the Content-Length it announced
        raise _Refused(f"repomd.xml cut short ({size} bytes came, {answer.length} missing)")
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

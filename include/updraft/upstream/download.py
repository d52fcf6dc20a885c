"""Download one upstream file over http(s):// or file:// into the local mirror.

A mirror run may be killed or lose its connection at any moment and the next run must
pick up where it stopped: bytes land in `<target>.part`, a cut connection keeps them for
a Range request next time, and only a complete file whose size and checksum match the
metadata is renamed onto `<target>`. So any file updraft finds in the mirror is whole.
Standard library only: this runs on bare release machines as well as in Airflow.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from updraft.engine import faults
from updraft.engine.durable import fsync_dir
from updraft.errors import UpstreamError

if TYPE_CHECKING:
    from hashlib import _Hash

log = logging.getLogger(__name__)

CHUNK = 1 << 20
DEFAULT_CAP = 1 << 30  # a file whose size the metadata does not declare
# Old (yum 3 era) repodata names SHA-1 "sha"; hashlib only knows "sha1".
_ALIASES = {"sha": "sha1"}
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+)")


class DownloadError(UpstreamError):
    """str() is one line naming the URL and what went wrong."""

    def __init__(self, url: str, problem: str, *, missing: bool = False,
                 unreachable: bool = False) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.missing = missing  # 404/410 or no such file: upstream dropped it
        self.unreachable = unreachable  # never got an answer: retry later, blame nobody


class Deadline:
    """An overall time limit (a file's, a source's): unlike a socket timeout it also cuts
    off a server that keeps a connection alive by dripping a byte now and then."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what = seconds, what
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def within(self, seconds: float, what: str) -> Deadline:
        """The earlier of this deadline and one `seconds` from now."""
        other = Deadline(seconds, what)
        return other if other.ends < self.ends else self

    def check(self, url: str) -> None:
        if self.remaining() <= 0:
            raise DownloadError(url, f"gave up: no complete answer within {self.seconds:g} s "
                                     f"({self.what}); kept for resuming next run",
                                unreachable=True)


class ChecksumMismatch(DownloadError):
    """The whole file arrived but its checksum (or size) is not the one the metadata names."""

    def __init__(self, url: str, problem: str, path: Path) -> None:
        super().__init__(url, problem)
        self.path = path  # the bad bytes, at <target>.bad, for the caller to quarantine


@dataclass
class _Opened:
    """An answer to a (possibly ranged) request, whatever the scheme."""

    status: int  # 200 (whole file), 206 (from `start`) or 416 (nothing after `start`)
    stream: BinaryIO | None
    start: int  # file offset of the first body byte
    length: int | None  # body bytes announced; None when the server did not say
    total: int | None  # size of the whole file, when known


class Oversize(ChecksumMismatch):
    """More bytes arrived than the metadata declares (or than the cap for an unknown size):
    reading stopped at once, and only the declared size was kept for inspection."""


def fetch_bytes(url: str, timeout: float = 30.0, limit: int = 64 << 20,
                deadline: Deadline | None = None) -> bytes:
    """Return a small file (repomd.xml, its signature) whole; DownloadError on any failure."""
    deadline = deadline or Deadline(max(timeout, 60.0), "a metadata file's deadline")
    opened = _open(url, 0, timeout, deadline)
    assert opened.stream is not None  # no Range was sent, so no 416
    data = bytearray()
    try:
        while chunk := _read(opened.stream, min(CHUNK, limit + 1 - len(data)),
                             _timed(url, opened.stream, timeout, deadline)):
            data += chunk
            if len(data) > limit:
                raise DownloadError(url, f"larger than the {limit}-byte limit for metadata")
    finally:
        opened.stream.close()
    if opened.length is not None and len(data) < opened.length:
        raise DownloadError(url, f"truncated download (got {len(data)} of {opened.length} bytes)")
    return bytes(data)


def fetch(url: str, target: Path, *, size: int | None = None,
          checksum: tuple[str, str] | None = None, timeout: float = 30.0,
          deadline: Deadline | None = None, cap: int = DEFAULT_CAP) -> Path:
    """Make `target` a verified copy of `url`; resume a `.part` left by an earlier run.

    `checksum` is (algorithm as repodata names it, hexdigest). Never more than `size`
    bytes (`cap` when the metadata declares none) are read, nor for longer than
    `deadline`. Raises DownloadError (ChecksumMismatch when complete but wrong, Oversize
    when longer than declared); never leaves a partial file at `target`.
    """
    deadline = deadline or Deadline(3600.0, "a file's deadline")
    limit = size if size is not None else cap
    target = Path(target)
    algorithm, expected = _algorithm(url, checksum) if checksum else ("", "")
    if _already_there(target, size, algorithm, expected):
        return target
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    offset = part.stat().st_size if part.is_file() else 0
    if size is not None and offset > size:
        offset = 0  # longer than the file should be: not a prefix of it, so worthless
    received, digest = 0, None
    for _ in range(2):  # the second pass only ever restarts from zero, without a Range
        opened = _open(url, offset, timeout, deadline)
        if opened.status == 416:
            # complete only if exactly the file's size: a longer part is no prefix of it
            if offset == (size if size is not None else opened.total):
                received = offset  # the .part already holds every byte: verify it
                digest = _hash_file(part, hashlib.new(algorithm)) if algorithm else None
                break
            offset = 0  # the server's file is shorter than our part: it changed, start over
            continue
        if opened.start != offset:
            if opened.start != 0:  # a range we did not ask for: start over cleanly
                if opened.stream is not None:
                    opened.stream.close()
                offset = 0
                continue
            offset = 0  # 200 to a Range request: the server sends it all again
        digest = hashlib.new(algorithm) if algorithm else None
        if offset:
            total = opened.total if opened.total is not None else size
            log.info("resuming %s at %d of %s bytes", target.name, offset,
                     "?" if total is None else total)
            if digest is not None:
                _hash_file(part, digest)  # the digest must cover the bytes already there
        received = _receive(url, opened, part, offset, size, digest,
                            _Limits(limit, timeout, deadline))
        break
    else:
        raise DownloadError(url, "server keeps answering a byte range that was not asked for")
    _verify(url, part, target, size, digest, expected, received)
    faults.checkpoint("download: verified, not yet renamed")
    os.replace(part, target)
    fsync_dir(target.parent)  # the rename itself must survive a crash too
    log.info("fetched %s: %d bytes in %.2f s", target.name, received, time.monotonic() - began)
    return target


def known_checksum(kind: str) -> bool:
    """Whether hashlib can check a digest repodata names `kind` ("sha256", "sha", ...)."""
    return _ALIASES.get(kind.lower(), kind.lower()) in hashlib.algorithms_available


def _algorithm(url: str, checksum: tuple[str, str]) -> tuple[str, str]:
    name = _ALIASES.get(checksum[0].lower(), checksum[0].lower())
    if name not in hashlib.algorithms_available:
        raise DownloadError(url, f"unknown checksum type '{checksum[0]}' in the metadata")
    return name, checksum[1].lower()


def _already_there(target: Path, size: int | None, algorithm: str, expected: str) -> bool:
    if not target.is_file():
        return False
    if size is not None and target.stat().st_size != size:
        return False
    return not algorithm or _hash_file(target, hashlib.new(algorithm)).hexdigest() == expected


def _hash_file(path: Path, digest: _Hash) -> _Hash:
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest


@dataclass(frozen=True)
class _Limits:
    bytes: int  # never store more than this
    timeout: float  # socket timeout for one read
    deadline: Deadline


def _receive(url: str, opened: _Opened, part: Path, offset: int, size: int | None,
             digest: _Hash | None, limits: _Limits) -> int:
    """Append the body to `part` (truncating it first unless resuming); return its length.

    Reading stops the moment more than `limits.bytes` arrive (Oversize, the declared
    prefix kept at `.bad`) or the deadline passes (DownloadError, the part kept)."""
    assert opened.stream is not None
    received = offset
    # Content-Length decides; `size` only when the server streams without announcing one.
    # A body complete per Content-Length but short of `size` is a wrong file, not a cut.
    expected = offset + opened.length if opened.length is not None else size
    over = False
    timed = _timed(url, opened.stream, limits.timeout, limits.deadline)
    with open(part, "ab" if offset else "wb") as out:
        try:
            # only reading is guarded: a full disk must not pass for a cut connection
            while chunk := _read(opened.stream, min(CHUNK, limits.bytes + 1 - received), timed):
                if received + len(chunk) > limits.bytes:
                    over = True  # one byte past the limit: stop here, keep none of it
                    chunk = chunk[:limits.bytes - received]
                out.write(chunk)
                if digest is not None:
                    digest.update(chunk)  # while the chunk is hot: one pass over the bytes
                received += len(chunk)
                if faults.armed():
                    out.flush()  # a kill here leaves a .part the next run resumes
                    faults.checkpoint("download: mid-file")
                if over:
                    break
        finally:
            opened.stream.close()
            out.flush()
            os.fsync(out.fileno())  # a resumed run trusts these bytes, so they must be on disk
    if over:
        bad = part.with_name(part.name.removesuffix(".part") + ".bad")
        os.replace(part, bad)
        declared = "declared" if size is not None else "allowed for a file of unknown size"
        raise Oversize(url, f"more than the {limits.bytes} bytes {declared}: download "
                            f"stopped, only the first {limits.bytes} bytes kept", bad)
    if expected is not None and received < expected:
        raise DownloadError(url, f"truncated download (got {received} of {expected} bytes); "
                                 "kept for resuming next run")
    return received


def _timed(url: str, stream: BinaryIO, timeout: float, deadline: Deadline) -> Callable[[], None]:
    """Before each read: give up past the deadline, else let no single wait outlast it."""
    sock = getattr(getattr(getattr(stream, "fp", None), "raw", None), "_sock", None)

    def before_read() -> None:
        deadline.check(url)
        if sock is not None:
            sock.settimeout(max(0.05, min(timeout, deadline.remaining())))

    return before_read


def _read(stream: BinaryIO, amount: int, before: Callable[[], None]) -> bytes:
    """The next chunk; b"" at the end and also when the connection is cut or times out:
    the caller compares what arrived with what was announced and reports a truncation.

    read1: whatever one receive brings, so a dripping server cannot hold one call for
    long; `before` raises once the deadline has passed (also after a socket timeout)."""
    before()
    try:
        return getattr(stream, "read1", stream.read)(amount)
    except (OSError, http.client.HTTPException):
        before()
        return b""


def _verify(url: str, part: Path, target: Path, size: int | None, digest: _Hash | None,
            expected: str, received: int) -> None:
    """Move a complete but wrong file to `<target>.bad` and raise ChecksumMismatch."""
    problems = []
    if size is not None and received != size:
        problems.append(f"{received} bytes instead of {size}")
    if digest is not None and (actual := digest.hexdigest()) != expected:
        problems.append(f"{digest.name} {actual[:12]} instead of {expected[:12]}")
    if problems:
        bad = target.with_name(target.name + ".bad")
        os.replace(part, bad)
        raise ChecksumMismatch(url, f"checksum mismatch ({', '.join(problems)}); "
                                    f"bytes moved to {bad.name}", bad)


def _open(url: str, offset: int, timeout: float, deadline: Deadline) -> _Opened:
    """Ask for the file from `offset` on; DownloadError for anything but a usable answer."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return _open_file(url, parts, offset)
    if parts.scheme not in ("http", "https"):
        raise DownloadError(url, f"unsupported URL scheme '{parts.scheme}'")
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    deadline.check(url)
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=max(0.05, min(timeout, deadline.remaining())))
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            match = _CONTENT_RANGE.match(error.headers.get("Content-Range", ""))
            return _Opened(416, None, offset, 0, int(match[2]) if match else None)
        if error.code in (404, 410):
            raise DownloadError(url, f"not found on the server (HTTP {error.code})",
                                missing=True) from None
        raise DownloadError(url, f"server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise _unreachable(url, error.reason) from None
    except OSError as error:  # includes timeouts and RemoteDisconnected
        deadline.check(url)
        raise _unreachable(url, error) from None
    except http.client.HTTPException as error:
        raise DownloadError(url, f"unintelligible answer from the server ({error!r})") from None
    length_header = response.headers.get("Content-Length")
    length = int(length_header) if length_header and length_header.isdigit() else None
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        start = int(match[1]) if match and match[1] is not None else -1
        return _Opened(206, response, start, length, int(match[2]) if match else None)
    return _Opened(200, response, 0, length, length)


def _open_file(url: str, parts: urllib.parse.SplitResult, offset: int) -> _Opened:
    if parts.netloc not in ("", "localhost"):
        raise DownloadError(url, f"file:// URL names a remote host '{parts.netloc}'")
    path = Path(urllib.request.url2pathname(parts.path))
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise DownloadError(url, "not found (no such file)", missing=True) from None
    except OSError as error:
        raise DownloadError(url, f"cannot read ({error.strerror})") from None
    total = os.fstat(stream.fileno()).st_size
    if offset and offset >= total:
        stream.close()
        return _Opened(416, None, offset, 0, total)
    stream.seek(offset)
    return _Opened(206 if offset else 200, stream, offset, total - offset, total)


def _unreachable(url: str, reason: object) -> DownloadError:
    text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
    return DownloadError(url, f"server unreachable ({text or type(reason).__name__})",
                         unreachable=True)


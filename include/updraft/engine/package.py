"""Package file: the facts of one RPM file, read from its header with the rpm bindings."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import rpm

from updraft.engine.evr import Nevra
from updraft.safepath import UnsafePath, plain_name

# rpm's hash algorithm ids (RPMTAG_PAYLOADDIGESTALGO) to hashlib names.
_DIGEST_ALGOS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}


class BadPackage(Exception):
    """A *.rpm file that is not a usable package; str() is the reason."""


class UnsafeHeader(BadPackage):
    """A whole, valid package whose header fields would be paths: bad at once (it is no
    copy still under way)."""


@dataclass(frozen=True, slots=True)
class PackageFacts(Nevra):
    """What the engine needs from a header; cached by path + size + mtime."""

    name: str
    epoch: int | None
    version: str
    release: str
    arch: str  # "src" for a source package
    sourcerpm: str | None
    # The header's own sha256 (sha1 for old rpms): two files of one NEVRA with other
    # digests are two different builds, a content conflict. A signature is outside the
    # header, so a signed and an unsigned copy of one build agree. "" when unknown.
    digest: str = ""

    @property
    def filename(self) -> str:
        """The canonical file name, derived from the header (never the other way)."""
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"


@dataclass(slots=True)
class PackageFile:
    """One RPM file found in the tree, with where it sits."""

    path: str  # absolute; a str, because 40,000 Path objects cost the no-op cycle 0.8 s
    release: str
    repo: str
    archdir: str | None  # None: a stray file outside the repo's layout
    facts: PackageFacts
    size: int
    mtime_ns: int


def _transaction_set() -> rpm.TransactionSet:
    ts = rpm.TransactionSet()
    # Signatures are checked against per-source keyrings elsewhere (never the rpmdb);
    # here rpm verifies the header digests, we verify the payload digest below.
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    return ts


_TS: rpm.TransactionSet | None = None
_RPM_LOG: IO[str] | None = None


def _rpm_says() -> str:
    """The last message rpm logged (it logs, rather than raises, the detail)."""
    if _RPM_LOG is None:
        return ""
    _RPM_LOG.seek(0)
    lines = [line.strip() for line in _RPM_LOG.read().splitlines() if line.strip()]
    _RPM_LOG.seek(0)
    _RPM_LOG.truncate()
    # "error: /path/x.rpm: Header SHA256 digest: BAD (Expected ...)" -> the part after the path
    return lines[-1].split(": ", 2)[-1].split(" (Expected")[0] if lines else ""


def _reader() -> rpm.TransactionSet:
    """The process's one header reader, rpm's complaints captured for _rpm_says."""
    global _TS, _RPM_LOG
    if _TS is None:
        _TS = _transaction_set()
        _RPM_LOG = tempfile.TemporaryFile("w+")
        rpm.setLogFile(_RPM_LOG)
    return _TS


def read_facts(path: str | Path) -> PackageFacts:
    """Read and verify one package: header digests by rpm, payload digest against the
    digest rpm recorded in the header; raise BadPackage with the reason."""
    ts = _reader()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise BadPackage(f"unreadable: {exc.strerror}") from exc
    try:
        try:
            header = ts.hdrFromFdno(fd)
        except rpm.error as exc:
            detail = _rpm_says() or str(exc)
            raise BadPackage(f"not a valid RPM header ({detail})") from exc
        _check_payload(path, fd, header)
    finally:
        os.close(fd)
    arch = "src" if header.isSource() else header[rpm.RPMTAG_ARCH]
    return checked_facts(PackageFacts(
        name=header[rpm.RPMTAG_NAME],
        epoch=header[rpm.RPMTAG_EPOCH],
        version=header[rpm.RPMTAG_VERSION],
        release=header[rpm.RPMTAG_RELEASE],
        arch=arch,
        sourcerpm=None if header.isSource() else header[rpm.RPMTAG_SOURCERPM],
        digest=header[rpm.RPMTAG_SHA256HEADER] or header[rpm.RPMTAG_SHA1HEADER] or "",
    ))


def header_digest(path: Path) -> str:
    """The header's own digest (rpm verifies the header on reading it; the payload is not
    read): what binds an admitted path of a gated repo to one build. "!unreadable" for a
    file that is no readable package (it matches no package read later)."""
    ts = _reader()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return "!unreadable"
    try:
        header = ts.hdrFromFdno(fd)
    except rpm.error:
        _rpm_says()
        return "!unreadable"
    finally:
        os.close(fd)
    return header[rpm.RPMTAG_SHA256HEADER] or header[rpm.RPMTAG_SHA1HEADER] or ""


def checked_facts(facts: PackageFacts) -> PackageFacts:
    """Header fields become file names (name-version-release.arch.rpm, the SRPM's name):
    each must be one plain name, or the package is bad and never placed."""
    fields = {"name": facts.name, "version": facts.version, "release": facts.release,
              "arch": facts.arch, "sourcerpm": facts.sourcerpm}
    for tag, value in fields.items():
        if value is None and tag == "sourcerpm":
            continue
        if not isinstance(value, str) or not value:
            raise UnsafeHeader(f"header {tag} is empty")
        try:
            plain_name(value, f"header {tag}")
        except UnsafePath as exc:
            raise UnsafeHeader(f"{exc} (a header never chooses a path)") from None
        if value.startswith(".") or value != value.strip():
            raise UnsafeHeader(f"header {tag} {value!r} is hidden or padded with spaces")
    return facts


def _check_payload(path: str | Path, fd: int, header: rpm.hdr) -> None:
    digests = header[rpm.RPMTAG_PAYLOADDIGEST]
    algo = _DIGEST_ALGOS.get(header[rpm.RPMTAG_PAYLOADDIGESTALGO] or 0)
    if not digests or algo is None:
        _check_with_rpmkeys(path)  # packages older than rpm 4.14 carry no payload digest
        return
    hasher = hashlib.new(algo)
    while chunk := os.read(fd, 1 << 20):
        hasher.update(chunk)
    if hasher.hexdigest() != digests[0]:
        raise BadPackage("payload digest mismatch (truncated or corrupted download)")


def _check_with_rpmkeys(path: str | Path) -> None:
    result = subprocess.run(
        ["rpmkeys", "--checksig", "--nosignature", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [result.stdout.strip()])[-1]
        raise BadPackage(f"digests NOT OK ({detail})")


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()

"""Metadata: an upstream repo's repomd.xml, primary and updateinfo, read with createrepo_c.

A snapshot is taken whole or not at all: every file repomd.xml names for the records we
read must download with the checksum repomd gives, else the source is half-mirrored
(a mirror caught mid-rsync) and nothing of it may land this run.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import lzma
import os
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import createrepo_c as cr

from updraft.engine.evr import Nevra
from updraft.errors import UpstreamError
from updraft.safepath import UnsafePath, check_relative, contained, plain_name
from updraft.upstream.download import (
    DEFAULT_CAP,
    ChecksumMismatch,
    Deadline,
    DownloadError,
    fetch,
    fetch_bytes,
    known_checksum,
)
from updraft.upstream.keyring import Keyring

log = logging.getLogger(__name__)

# The records a sync reads; others (filelists, other, comps) are never downloaded.
_RECORDS = ("primary", "updateinfo")


class HalfMirrored(UpstreamError):
    """The source's files disagree with its repomd.xml: a mirror caught mid-update."""


@dataclass(frozen=True, slots=True)
class RemotePackage(Nevra):
    """One package as an upstream repo's primary metadata lists it."""

    name: str
    epoch: int | None
    version: str
    release: str
    arch: str  # "src" for a source package
    sourcerpm: str | None  # None for a source package
    location: str  # relative to `base`
    base: str  # the repo's base URL, no trailing slash
    checksum_type: str
    checksum: str
    size: int
    vendor: str
    repo_key: str  # the upstream repo it came from: an arch, or "SRPMS"
    # Why this entry may not be fetched (its location would leave the mirror, its file
    # name is not its NEVRA, ...): then `location` is the NEVRA file name, never fetched.
    refused: str = ""

    @property
    def filename(self) -> str:
        return self.location.rsplit("/", 1)[-1]

    @property
    def url(self) -> str:
        return f"{self.base}/{self.location}"



@dataclass
class Snapshot:
    """One upstream repo's metadata as fetched and checked in one sync."""

    key: str
    url: str
    directory: Path
    repomd: bytes
    revision: str
    files: dict[str, Path] = field(default_factory=dict)  # record type -> local file


def _base(url: str) -> str:
    return url.rstrip("/")


def fetch_snapshot(key: str, url: str, directory: Path, keyring: Keyring | None,
                   deadline: Deadline | None = None, cap: int = DEFAULT_CAP) -> Snapshot:
    """repomd.xml (checked against its detached signature when `keyring` is given), then
    the primary and updateinfo files it names, each against repomd's checksum, each no
    bigger than `cap` compressed or decompressed, all within `deadline`."""
    base = _base(url)
    repodata = directory / "repodata"
    repodata.mkdir(parents=True, exist_ok=True)
    repomd_bytes = fetch_bytes(f"{base}/repodata/repomd.xml", deadline=deadline)
    incoming = repodata / "incoming.repomd.xml"  # createrepo_c goes by the suffix
    incoming.write_bytes(repomd_bytes)
    if keyring is not None:
        signature = repodata / "repomd.xml.asc.incoming"
        try:
            signature.write_bytes(fetch_bytes(f"{base}/repodata/repomd.xml.asc",
                                              deadline=deadline))
        except DownloadError as exc:
            if exc.missing:
                raise UpstreamError(f"{base}: repodata/repomd.xml.asc is missing but the source "
                                    "is configured signed_metadata: nothing taken") from exc
            raise
        keyring.verify_detached(incoming, signature)
    try:
        repomd = cr.Repomd(str(incoming))
    except (cr.CreaterepoCError, OSError) as exc:
        raise UpstreamError(f"{base}/repodata/repomd.xml: not valid repomd ({exc})") from exc
    snapshot = Snapshot(key, base, directory, repomd_bytes, repomd.revision or "")
    for record in repomd.records:
        if record.type not in _RECORDS:
            continue
        target = _record_target(base, directory, record, cap)
        try:
            fetch(f"{base}/{record.location_href}", target, size=record.size or None,
                  checksum=(record.checksum_type, record.checksum), cap=cap, deadline=deadline)
        except ChecksumMismatch as exc:
            raise HalfMirrored(f"{base}: {record.location_href} does not match repomd.xml "
                               f"({exc}): half-mirrored, nothing landed from it this run") from exc
        except DownloadError as exc:
            if not exc.missing:
                raise
            raise HalfMirrored(f"{base}: repomd.xml names {record.location_href}, which is "
                               "missing: half-mirrored, nothing landed from it this run") from exc
        _check_open_size(base, record.location_href, target, cap)
        snapshot.files[record.type] = target
    if "primary" not in snapshot.files:
        raise UpstreamError(f"{base}/repodata/repomd.xml names no primary metadata")
    os.replace(incoming, repodata / "repomd.xml")
    if keyring is not None:
        os.replace(repodata / "repomd.xml.asc.incoming", repodata / "repomd.xml.asc")
    _drop_stale(repodata, {path.name for path in snapshot.files.values()})
    return snapshot


def _record_target(base: str, directory: Path, record: cr.RepomdRecord, cap: int) -> Path:
    """Where a repomd record's file goes: repodata/<plain name>, never anywhere else."""
    what = f"{base}/repodata/repomd.xml: the {record.type} record's location"
    href = record.location_href or ""
    try:
        target = contained(directory, href, what)
        relative = check_relative(href, what)
        if len(relative.parts) != 2 or relative.parts[0] != "repodata":
            raise UnsafePath(what, href, "is not a file in repodata/")
        name = plain_name(relative.name, what)
        if name.startswith(("repomd.xml", "incoming.")):
            raise UnsafePath(what, href, "would replace repomd.xml itself")
    except UnsafePath as exc:
        raise UpstreamError(f"{exc}: nothing taken from this source") from exc
    if record.size and record.size > cap:
        raise UpstreamError(f"{what} {href!r} declares {record.size} bytes, more than the "
                            f"metadata_cap of {cap}: refused, nothing taken from this source")
    return target


def _decompressed(path: Path) -> Iterator[bytes]:
    """The file's decompressed bytes in chunks (by its suffix, as createrepo_c reads it)."""
    # Any: each module's open() is overloaded on its mode; "rb" gives a binary file.
    openers: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open,
                                              ".xz": lzma.open}
    opener = openers.get(path.suffix)
    if path.suffix == ".zst":
        with subprocess.Popen(["zstd", "-dcq", "--", str(path)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as process:
            assert process.stdout is not None
            try:
                while chunk := process.stdout.read(1 << 20):
                    yield chunk
            finally:
                process.kill()
        return
    with (opener or open)(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            yield chunk


def _check_open_size(base: str, href: str, path: Path, cap: int) -> None:
    """A compression bomb (a small .gz that opens to many gigabytes) is refused before
    createrepo_c would decompress it."""
    total = 0
    try:
        for chunk in _decompressed(path):
            total += len(chunk)
            if total > cap:
                path.unlink(missing_ok=True)
                raise UpstreamError(
                    f"{base}/{href}: decompresses to more than the metadata_cap of {cap} "
                    "bytes (a compression bomb?): refused, nothing taken from this source")
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise UpstreamError(f"{base}/{href}: cannot be decompressed ({exc}): nothing taken "
                            "from this source") from exc


def _drop_stale(repodata: Path, current: set[str]) -> None:
    """Metadata of earlier revisions (their names carry old checksums)."""
    for entry in repodata.iterdir():
        if entry.name.startswith("repomd.xml") or entry.name in current:
            continue
        entry.unlink(missing_ok=True)


def still_current(snapshot: Snapshot, deadline: Deadline | None = None) -> bool:
    """Whether the source still serves the repomd.xml the sync started from."""
    return fetch_bytes(f"{snapshot.url}/repodata/repomd.xml", deadline=deadline) == snapshot.repomd


PackageJudge = Callable[[str], bool]  # given a SOURCERPM ("php-5.3.3-2.el6.src.rpm")


def read_primary(snapshot: Snapshot, judge: PackageJudge,
                 verdicts: dict[str, bool]) -> tuple[list[RemotePackage], int]:
    """The packages of the snapshot's primary that `judge` keeps, and how many it lists.

    A primary of a big repo lists tens of thousands of packages, each passing through
    this callback while createrepo_c parses: `judge` is asked once per SRPM, by its file
    name (a source package stands for itself), its answer remembered in `verdicts`, and
    only kept packages are converted.
    """
    kept: list[RemotePackage] = []
    listed = 0

    def each(package: cr.Package) -> bool:
        nonlocal listed
        listed += 1
        key = package.rpm_sourcerpm or (
            f"{package.name}-{package.version}-{package.release}.src.rpm")
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = judge(key)
        if verdict:
            kept.append(_remote(package, snapshot))
        return True

    try:
        cr.xml_parse_primary(str(snapshot.files["primary"]), pkgcb=each, do_files=False)
    except cr.CreaterepoCError as exc:
        raise UpstreamError(f"{snapshot.files['primary']}: unreadable primary ({exc})") from exc
    return kept, listed


def _remote(package: cr.Package, snapshot: Snapshot) -> RemotePackage:
    epoch = package.epoch
    remote = RemotePackage(
        name=package.name or "",
        epoch=int(epoch) if epoch and epoch.isdigit() and epoch != "0" else None,
        version=package.version or "",
        release=package.release or "",
        arch=package.arch or "",
        sourcerpm=None if package.arch == "src" else (package.rpm_sourcerpm or None),
        location=package.location_href or "",
        base=_base(package.location_base) if package.location_base else snapshot.url,
        checksum_type=package.checksum_type or "sha256",
        checksum=package.pkgId or "",
        size=int(package.size_package or 0),
        vendor=package.rpm_vendor or "",
        repo_key=snapshot.key,
    )
    problem = _refusal(remote, package, snapshot)
    if not problem:
        return remote
    expected = f"{remote.nvr}.{remote.arch}.rpm"
    try:
        plain_name(expected, "its NEVRA")
    except UnsafePath as exc:
        expected = urllib.parse.quote(expected, safe="")  # never a path, only a label
        problem = f"{problem}; {exc}"
    return replace(remote, location=expected, base=snapshot.url,
                   refused=f"primary entry {remote.location!r} refused: {problem}")


def _refusal(remote: RemotePackage, package: cr.Package, snapshot: Snapshot) -> str:
    """Why an entry's location may not be fetched into the mirror; "" when it may."""
    what = "location href"
    try:
        relative = check_relative(remote.location, what)
        name = plain_name(relative.name, what)
    except UnsafePath as exc:
        return exc.reason
    expected = f"{remote.nvr}.{remote.arch}.rpm"
    if name != expected:
        return f"its file name {name!r} is not its NEVRA {expected!r}"
    if package.location_base:
        scheme = urllib.parse.urlsplit(package.location_base).scheme
        ours = urllib.parse.urlsplit(snapshot.url).scheme
        if scheme not in ("http", "https", ours) or (scheme == "file" and ours != "file"):
            return f"xml:base {package.location_base!r} points to a {scheme or 'relative'} URL"
    if not known_checksum(remote.checksum_type):
        return f"checksum type {remote.checksum_type!r} is unknown: nothing to check it by"
    if package.epoch and not package.epoch.isdigit():
        return f"epoch {package.epoch!r} is not a number"
    if not remote.checksum or not remote.name or not remote.version:
        return "the entry lacks a name, version or checksum"
    return ""

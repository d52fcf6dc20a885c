"""Listing: the files each arch dir's repodata was built from, to notice what no plan moved.

A packager's `cp` of a correctly placed package straight into its arch dir needs no
action, so no plan touches that dir and its repodata would never list the file. So at
every publish the engine keeps, in the state dir (never in the repo), the arch dir's
listing — relative path, size and mtime of every package, read back from the new
primary.xml, with that file's checksum — and each cycle compares the scan's stat walk
with it: a dir that differs is rebuilt and reported. A dir published before listings
existed has its listing read once from its primary.xml. `updraft check` uses a listing
in place of parsing primary.xml again while the file still has the recorded checksum.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import createrepo_c as cr

from updraft.engine.action import Plan, Touched
from updraft.engine.durable import temporary_for
from updraft.engine.layout import Layout
from updraft.engine.walk import Walk

# relative path -> (size, mtime in whole seconds: what primary.xml's time_file keeps)
Listing = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class PrimaryEntry:
    """What a repo's primary.xml says of one package file."""

    size: int
    mtime: int
    checksum_type: str
    checksum: str


# Hidden names a writer leaves only while at work: one seen later was left by a kill.
LEFTOVERS = (".updraft-tmp", ".repodata.updraft", ".updateinfo.updraft")


def from_scan(found: list[tuple[str, int, int, str, str | None, int]],
              dirs: dict[tuple[str, str], Path]) -> dict[Path, Listing]:
    """The listings of the given arch dirs ((repo, archdir) -> dir) from a scan's walk,
    so a cycle stats no file twice."""
    listings: dict[Path, Listing] = {path: {} for path in dirs.values()}
    prefixes = {path: str(path) + os.sep for path in dirs.values()}
    # A stray or an SRPM is in one of these dirs only by its path: looked up once per
    # directory holding it (the stage's and the SRPMS dirs hold thousands).
    by_parent: dict[str, Path | None] = {}
    for path, size, mtime_ns, repo, archdir, *_ in found:
        home = dirs.get((repo, archdir)) if archdir else None
        if home is None:
            parent = path.rpartition(os.sep)[0] + os.sep
            if parent in by_parent:
                home = by_parent[parent]
            else:
                home = by_parent[parent] = next(
                    (d for d, p in prefixes.items() if parent.startswith(p)), None)
            if home is None:
                continue
        listings[home][path[len(prefixes[home]):]] = (size, mtime_ns // 10**9)
    return listings


@dataclass(frozen=True)
class PrimaryFile:
    """Where an arch dir's primary.xml is, and the checksum its repomd.xml gives it."""

    path: Path
    checksum_type: str
    checksum: str

    def intact(self) -> bool:
        """Whether the file's bytes are those repomd.xml names (what a yum client checks)."""
        try:
            hasher = hashlib.new(self.checksum_type)
            with open(self.path, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    hasher.update(chunk)
        except (OSError, ValueError):
            return False
        return hasher.hexdigest() == self.checksum


def primary_of(repo_dir: Path) -> PrimaryFile | None:
    """The arch dir's primary.xml as its repomd.xml names it; None without repodata."""
    repomd = repo_dir / "repodata" / "repomd.xml"
    if not repomd.is_file():
        return None
    for record in cr.Repomd(str(repomd)).records:
        if record.type == "primary":
            return PrimaryFile(repo_dir / record.location_href, record.checksum_type,
                               record.checksum)
    return None


def parse_primary(primary: PrimaryFile) -> dict[str, PrimaryEntry]:
    """location_href -> what primary.xml says of it (any compression)."""
    entries: dict[str, PrimaryEntry] = {}

    def one(package: cr.Package) -> bool:
        entries[package.location_href] = PrimaryEntry(
            package.size_package, package.time_file, package.checksum_type, package.pkgId)
        return True

    cr.xml_parse_primary(str(primary.path), pkgcb=one, do_files=False)
    return entries


def read_primary(repo_dir: Path) -> dict[str, PrimaryEntry] | None:
    """location_href -> what primary.xml says; None without repodata."""
    primary = primary_of(repo_dir)
    return None if primary is None else parse_primary(primary)


# The files handed to createrepo_c, relative to the arch dir -> (size, mtime_ns,
# ctime_ns) as the walk before it saw them.
Handed = dict[str, tuple[int, int, int]]
_PACKAGES = re.compile(rb"<metadata\b[^>]*\bpackages=\"(\d+)\"")
_OPENERS: dict[str, Callable[[Path], IO[bytes]]] = {
    ".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}  # type: ignore[dict-item]


def listed_count(primary: PrimaryFile) -> int | None:
    """How many packages primary.xml lists, from its root element (its first bytes);
    None if they do not say (a compression not read here, a damaged file)."""
    opener = _OPENERS.get(primary.path.suffix)
    if opener is None:
        return None
    try:
        with opener(primary.path) as stream:
            head = stream.read(4096)
    except (OSError, EOFError, lzma.LZMAError, ValueError):
        return None
    found = _PACKAGES.search(head)
    return int(found.group(1)) if found else None


def as_handed(primary: PrimaryFile, repo_dir: Path, handed: Handed) -> Listing | None:
    """The listing from the files handed to createrepo_c, without parsing primary.xml
    (~40 ms for 4,000 packages), when it lists as many packages as were handed and none
    of them changed since the walk before the run (any write moves the ctime); None
    when only primary.xml can tell (createrepo_c skips a file it cannot read, exit 0)."""
    if listed_count(primary) != len(handed):
        return None
    prefix = str(repo_dir) + os.sep
    for relative, stamp in handed.items():
        try:
            status = os.lstat(prefix + relative)
        except OSError:
            return None
        if (status.st_size, status.st_mtime_ns, status.st_ctime_ns) != stamp:
            return None
    return {relative: (size, mtime_ns // 10**9)
            for relative, (size, mtime_ns, _) in handed.items()}


@dataclass(frozen=True)
class Recorded:
    """An arch dir's listing as its repodata lists it, and that primary.xml's checksum."""

    files: Listing
    primary: str


def add_stale(part: Plan, stale: list[tuple[Touched, str]], pending: list[Touched],
              frozen_repos: tuple[str, ...] = ()) -> None:
    """An arch dir whose files differ from what its repodata lists is rebuilt and said so
    (a package copied straight into place needs no action, yet must be published) —
    unless its publication is pending anyway, or an ISO build holds its repo still."""
    for target, why in stale:
        if target in pending or target in part.touched or target.repo in frozen_repos:
            continue
        part.touched.append(target)
        part.warnings.append(f"repodata out of date: {target.label} ({why})")


def difference(recorded: Listing, now: Listing) -> str:
    """'1 file not listed, 2 listed but gone' — empty when the two agree."""
    if recorded == now:  # the common case, compared in C
        return ""
    unlisted = len(now.keys() - recorded.keys())
    gone = len(recorded.keys() - now.keys())
    changed = sum(1 for path in now.keys() & recorded.keys() if now[path] != recorded[path])
    parts = []
    for count, what in ((unlisted, "not listed"), (gone, "listed but gone"),
                        (changed, "changed since listed")):
        if count:
            parts.append(f"{count} file{'s' if count > 1 else ''} {what}")
    return ", ".join(parts)


class Listings:
    """One JSON file per arch dir: <state_dir>/repodata-listing/<release>/<repo>/<archdir>."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.directory = layout.state_dir / "repodata-listing"

    def _file(self, target: Touched) -> Path:
        return self.directory / target.release / target.repo / f"{target.archdir}.json"

    def record(self, target: Touched, repo_dir: Path,
               handed: Handed | None = None) -> Recorded | None:
        """Keep what the arch dir's repodata lists, right after publishing: the files
        handed to createrepo_c when it indexed them all as handed (as_handed), else read
        back from its primary.xml (a file that arrived or changed while createrepo_c
        ran, or one it could not read, is not in it as handed)."""
        primary = primary_of(repo_dir)
        if primary is None:
            return None
        files = as_handed(primary, repo_dir, handed) if handed is not None else None
        if files is None:
            files = {href: (entry.size, entry.mtime) for href, entry in
                     parse_primary(primary).items()}
        path = self._file(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_for(path)
        temporary.write_text(json.dumps({"primary": primary.checksum, "files": files}))
        os.replace(temporary, path)
        return Recorded(files, primary.checksum)

    def forget(self, target: Touched) -> None:
        self._file(target).unlink(missing_ok=True)

    def recorded(self, target: Touched) -> Recorded | None:
        try:
            raw = json.loads(self._file(target).read_text())
            files = {path: (int(size), int(mtime)) for path, (size, mtime) in
                     raw["files"].items()}
            return Recorded(files, str(raw["primary"]))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def published(self, release: str) -> list[Touched]:
        """The release's arch dirs whose repodata the engine keeps and that have some."""
        config = self.layout.config
        return [Touched(release, repo, archdir)
                for repo, settings in config.repos.items()
                if not settings.stage and settings.repodata
                for archdir in self.layout.archdirs(release)
                if (self.layout.repodata_dir(release, repo, archdir)
                    / "repodata" / "repomd.xml").is_file()]

    @staticmethod
    def _current(recorded: Recorded, repo_dir: Path) -> bool:
        """Whether the live repomd.xml still names the primary.xml the listing was read
        from (one small file read: the listing then stands for the big one)."""
        try:
            primary = primary_of(repo_dir)
        except (OSError, RuntimeError, ValueError):
            return False
        return primary is not None and primary.checksum == recorded.primary

    def _clean_key(self, release: str, fingerprint: str) -> str:
        """What the comparison below depends on besides the scan (whose fingerprint is
        given): each arch dir's repomd.xml and listing file, by their stat (a rewrite
        replaces the file: another inode, another ctime)."""
        parts = [fingerprint]
        for repo, settings in self.layout.config.repos.items():
            if settings.stage or not settings.repodata:
                continue
            for archdir in self.layout.archdirs(release):
                target = Touched(release, repo, archdir)
                for path in (self.layout.repodata_dir(release, repo, archdir)
                             / "repodata" / "repomd.xml", self._file(target)):
                    parts.append(_stat_of(path))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def _clean_marks(self) -> dict[str, str]:
        try:
            return dict(json.loads((self.directory / "clean.json").read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def _mark_clean(self, agreed: dict[str, str]) -> None:
        """Keep clean marks: a release's (by its name), an arch dir's (by its label)."""
        marks = {**self._clean_marks(), **agreed}
        path = self.directory / "clean.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = temporary_for(path)
            temporary.write_text(json.dumps(marks))
            os.replace(temporary, path)
        except OSError:
            pass  # only a speed-up: the next cycle compares the listings again

    def stale(self, release: str, remember: bool, walk: Walk, fingerprint: str = "",
              skip: Collection[Touched] = ()) -> list[tuple[Touched, str]]:
        """Arch dirs whose files differ from what their repodata was built from, and how.

        `remember`: keep a listing read from a primary.xml (False: a read-only check).
        `walk`: the release's files as the tree scan just walked them; `fingerprint`:
        theirs. `skip`: arch dirs not to compare (published anyway: pending, or touched
        by the plan). Files, listings and repomd.xml files exactly as when they last
        agreed (the clean mark) agree again: a no-op cycle compares no listing; after a
        change, only the arch dirs whose files, listing or repomd.xml changed are
        compared (each arch dir has a clean mark of its own)."""
        key = self._clean_key(release, fingerprint) if fingerprint else ""
        marks = self._clean_marks()
        if key and marks.get(release) == key:
            return []
        found, agreed, whole = self._compare(release, remember, walk, skip, marks)
        # Marked only when every arch dir agreed, nothing moved during the comparison
        # (an ISO publish may rewrite a listing meanwhile), and only by a writer.
        if key and whole and self._clean_key(release, fingerprint) == key:
            agreed[release] = key
        if remember and any(marks.get(label) != mark for label, mark in agreed.items()):
            self._mark_clean(agreed)
        return found

    def _compare(self, release: str, remember: bool, walk: Walk,
                 skip: Collection[Touched], marks: dict[str, str],
                 ) -> tuple[list[tuple[Touched, str]], dict[str, str], bool]:
        """(the arch dirs that differ and how; label -> clean mark of those that agree;
        whether every one of the release's arch dirs was compared and agreed)."""
        found, agreed = [], {}
        published = self.published(release)
        dirs = {target: self.layout.repodata_dir(release, target.repo, target.archdir)
                for target in published}
        runs = _runs_of(walk, dirs)
        for target in published:
            if target in skip:
                continue
            repo_dir = dirs[target]
            key = self._target_key(target, repo_dir, walk, runs[target])
            if marks.get(target.label) == key:
                agreed[target.label] = key
                continue
            why = self._differs(target, repo_dir, remember,
                                _listing_of(walk, runs[target], str(repo_dir) + os.sep))
            if why:
                found.append((target, why))
            elif self._target_key(target, repo_dir, walk, runs[target]) == key:
                agreed[target.label] = key
        whole = not skip and len(agreed) == len(published)
        return found, agreed, whole

    def _differs(self, target: Touched, repo_dir: Path, remember: bool,
                 listing: Listing) -> str:
        """How the arch dir's files (`listing`) differ from what its repodata lists."""
        recorded = self.recorded(target)
        if recorded is not None and not self._current(recorded, repo_dir):
            recorded = None  # rewritten by another writer (an ISO publish): read it
        if recorded is None:  # published before listings existed: ask its primary
            try:
                primary = read_primary(repo_dir) or {}
            except (OSError, RuntimeError, ValueError) as exc:
                return f"repodata unreadable: {exc}"
            if remember:
                self.record(target, repo_dir)
            listed = {href: (entry.size, entry.mtime) for href, entry in primary.items()}
        else:
            listed = recorded.files
        return difference(listed, listing)

    def _target_key(self, target: Touched, repo_dir: Path, walk: Walk,
                    runs: list[tuple[int, int, str]]) -> str:
        """An arch dir's clean mark: its files as walked (each run's dir, paths, size,
        mtime and ctime, hashed whole), its repomd.xml and its listing file by stat."""
        digest = hashlib.sha256(f"{repo_dir}\0".encode(errors="surrogateescape"))
        for start, end, directory in runs:
            digest.update(f"{directory}\0".encode(errors="surrogateescape"))
            digest.update("\0".join(walk.paths[start:end]).encode(errors="surrogateescape"))
            for column in (walk.sizes, walk.mtimes, walk.ctimes):
                digest.update(column[start:end].tobytes())
        for path in (repo_dir / "repodata" / "repomd.xml", self._file(target)):
            digest.update(_stat_of(path).encode())
        return digest.hexdigest()


def _stat_of(path: Path) -> str:
    """A file's identity for a clean mark ("-" when it is not there)."""
    try:
        status = os.stat(path)
    except OSError:
        return "-"
    return f"{status.st_ino}:{status.st_size}:{status.st_mtime_ns}:{status.st_ctime_ns}"


def _runs_of(walk: Walk, dirs: dict[Touched, Path]) -> dict[Touched, list[tuple[int, int, str]]]:
    """Each arch dir's runs of the walk (start, end, the run's dir): a run of an arch
    dir's package dir by its place, any other (a flat drop, a subdir) by its path."""
    runs: dict[Touched, list[tuple[int, int, str]]] = {target: [] for target in dirs}
    by_place = {(target.repo, target.archdir): target for target in dirs}
    prefixes = [(str(path) + os.sep, target) for target, path in dirs.items()]
    for start, end, repo, place, directory in walk.spans():
        if start == end:
            continue
        target = by_place.get((repo, place)) if place else None
        if target is None:
            inside = directory + os.sep
            target = next((t for prefix, t in prefixes if inside.startswith(prefix)), None)
        if target is not None:
            runs[target].append((start, end, directory))
    return runs


def _listing_of(walk: Walk, runs: list[tuple[int, int, str]], prefix: str) -> Listing:
    """An arch dir's files as its listing keeps them, from the walk's columns."""
    cut = len(prefix)
    listing: Listing = {}
    for start, end, _ in runs:
        listing.update((path[cut:], (size, mtime_ns // 10**9)) for path, size, mtime_ns
                       in zip(walk.paths[start:end], walk.sizes[start:end],
                              walk.mtimes[start:end], strict=True))
    return listing

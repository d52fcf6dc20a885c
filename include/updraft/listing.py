"""Listing: the files each arch dir's repodata was built from, to notice what no plan moved.

A packager's `cp` of a correctly placed package straight into its arch dir needs no
action, so no plan touches that dir and its repodata would never list the file. So at
every publish the engine keeps, in the state dir (never in the repo), the arch dir's
listing — relative path, size and mtime of every package — taken just before
createrepo_c reads the directory; each cycle compares a stat walk with it, and a dir
that differs is rebuilt and reported. A dir published before listings existed has its
listing read once from its primary.xml.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from updraft.action import Plan, Touched
from updraft.layout import Layout

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
LEFTOVERS = (".updraft-tmp", ".repodata.updraft")
_SKIPPED = {"repodata", "repoview"}  # as the tree scan


def walk(repo_dir: Path, leftovers: list[str] | None = None) -> Listing:
    """Every *.rpm file below repo_dir as the tree scan counts them (regular files; no
    hidden, repodata or repoview dir); `leftovers` collects a writer's temporary files."""
    found: Listing = {}
    prefix = len(str(repo_dir)) + 1
    pending = [str(repo_dir)]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith("."):
                if leftovers is not None and any(mark in entry.name for mark in LEFTOVERS):
                    leftovers.append(entry.path)
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIPPED:
                    pending.append(entry.path)
            elif entry.name.endswith(".rpm") and entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                found[entry.path[prefix:]] = (stat.st_size, stat.st_mtime_ns // 10**9)
    return found


def from_scan(found: list[tuple[str, int, int, str, str | None]],
              dirs: dict[tuple[str, str], Path]) -> dict[Path, Listing]:
    """The listings of the given arch dirs ((repo, archdir) -> dir) from a scan's walk,
    so a cycle stats no file twice."""
    listings: dict[Path, Listing] = {path: {} for path in dirs.values()}
    prefixes = {path: str(path) + os.sep for path in dirs.values()}
    for path, size, mtime_ns, repo, archdir in found:
        home = dirs.get((repo, archdir)) if archdir else None
        if home is None:  # a stray or an SRPM: in one of these dirs only by its path
            home = next((d for d, p in prefixes.items() if path.startswith(p)), None)
            if home is None:
                continue
        listings[home][path[len(prefixes[home]):]] = (size, mtime_ns // 10**9)
    return listings


def read_primary(repo_dir: Path) -> dict[str, PrimaryEntry] | None:
    """location_href -> what primary.xml says (any compression); None without repodata."""
    repomd = repo_dir / "repodata" / "repomd.xml"
    if not repomd.is_file():
        return None
    records = {record.type: record for record in cr.Repomd(str(repomd)).records}
    if "primary" not in records:
        return None
    entries: dict[str, PrimaryEntry] = {}

    def one(package: cr.Package) -> bool:
        entries[package.location_href] = PrimaryEntry(
            package.size_package, package.time_file, package.checksum_type, package.pkgId)
        return True

    primary = repo_dir / records["primary"].location_href
    cr.xml_parse_primary(str(primary), pkgcb=one, do_files=False)
    return entries


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

    def __init__(self, layout: Layout, walks: dict[Path, Listing] | None = None) -> None:
        self.layout = layout
        self.directory = layout.state_dir / "repodata-listing"
        self.walks = walks  # a memo of walks, for a caller that reads each dir again
        self.leftovers: list[str] = []  # seen by the memoised walks

    def walk(self, repo_dir: Path) -> Listing:
        if self.walks is None:
            return walk(repo_dir)
        found = self.walks.get(repo_dir)
        if found is None:
            found = self.walks[repo_dir] = walk(repo_dir, self.leftovers)
        return found

    def _file(self, target: Touched) -> Path:
        return self.directory / target.release / target.repo / f"{target.archdir}.json"

    def record(self, target: Touched, listing: Listing) -> None:
        path = self._file(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(listing))
        os.replace(temporary, path)

    def recorded(self, target: Touched) -> Listing | None:
        try:
            raw = json.loads(self._file(target).read_text())
            return {path: (int(size), int(mtime)) for path, (size, mtime) in raw.items()}
        except (OSError, ValueError, TypeError):
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

    def stale(self, release: str, remember: bool = True,
              scanned: list[tuple[str, int, int, str, str | None]] | None = None,
              ) -> list[tuple[Touched, str]]:
        """Arch dirs whose files differ from what their repodata was built from, and how.

        `remember`: keep a listing read from a primary.xml (False: a read-only check).
        `scanned`: the release's files as the tree scan just walked them."""
        found = []
        published = self.published(release)
        dirs = {(t.repo, t.archdir): self.layout.repodata_dir(release, t.repo, t.archdir)
                for t in published}
        now = from_scan(scanned, dirs) if scanned is not None else {}
        for target in published:
            repo_dir = dirs[(target.repo, target.archdir)]
            recorded = self.recorded(target)
            if recorded is None:  # published before listings existed: ask its primary
                try:
                    primary = read_primary(repo_dir) or {}
                except (OSError, RuntimeError, ValueError) as exc:
                    found.append((target, f"repodata unreadable: {exc}"))
                    continue
                recorded = {href: (entry.size, entry.mtime) for href, entry in primary.items()}
                if remember:
                    self.record(target, recorded)
            listing = now[repo_dir] if scanned is not None else self.walk(repo_dir)
            why = difference(recorded, listing)
            if why:
                found.append((target, why))
        return found

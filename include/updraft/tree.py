"""Tree: a scan of the repository tree into package files per release and repo.

Every *.rpm anywhere under a repo's directory counts (a packager may `cp` a file flat
into smeupdates-testing/). Facts come from headers, never from file names.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from updraft.header_cache import HeaderCache
from updraft.layout import SOURCE_DIR, Layout
from updraft.package import BadPackage, PackageFile, read_facts

log = logging.getLogger(__name__)

_SKIPPED_DIRS = {"repodata", "repoview"}


@dataclass(frozen=True, slots=True)
class BadFile:
    """A *.rpm that is corrupt, truncated or not an RPM at all."""

    path: Path
    release: str
    repo: str
    reason: str


@dataclass
class ReleaseTree:
    release: str
    files: list[PackageFile] = field(default_factory=list)
    bad: list[BadFile] = field(default_factory=list)
    # (repo, arch dir) holding packages but no repodata yet: the cycle builds it.
    without_repodata: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Tree:
    releases: dict[str, ReleaseTree]
    headers_read: int = 0
    files_seen: int = 0


def _rpm_paths(top: Path, skip: set[str]) -> list[os.DirEntry[str]]:
    """All *.rpm entries below top, skipping hidden dirs, repodata and nested repos."""
    found: list[os.DirEntry[str]] = []
    pending = [str(top)]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIPPED_DIRS and entry.path not in skip:
                    pending.append(entry.path)
            elif entry.name.endswith(".rpm") and entry.is_file(follow_symlinks=False):
                found.append(entry)
    return found


def _archdir_of(layout: Layout, release: str, repo: str) -> dict[str, str]:
    places = {str(layout.source_dir(release, repo)): SOURCE_DIR}
    for archdir in layout.archdirs(release):
        places[str(layout.binary_dir(release, repo, archdir))] = archdir
    return places


def scan(
    layout: Layout, releases: list[str] | None = None, cache: HeaderCache | None = None
) -> Tree:
    """Scan the releases' repos. Unchanged files (path, size, mtime) read no header."""
    cache = cache or HeaderCache(layout.state_dir / "headers.sqlite")
    chosen = releases or list(layout.config.releases)
    tree = Tree(releases={})
    repo_dirs = {
        (release, repo): layout.repo_dir(release, repo)
        for release in layout.config.releases
        for repo in layout.config.repos
    }
    every_repo_dir = {str(path) for path in repo_dirs.values()}
    scanned: list[str] = []
    for release in chosen:
        release_tree = tree.releases[release] = ReleaseTree(release)
        for repo in layout.config.repos:
            top = repo_dirs[(release, repo)]
            scanned.append(str(top) + os.sep)
            places = _archdir_of(layout, release, repo)
            for entry in _rpm_paths(top, every_repo_dir - {str(top)}):
                _add_file(entry, release, repo, places, cache, tree, release_tree)
        _note_missing_repodata(layout, release_tree)
    cache.save(scanned)
    log.info("scanned %d rpm files, read %d headers", tree.files_seen, tree.headers_read)
    return tree


def _add_file(
    entry: os.DirEntry[str],
    release: str,
    repo: str,
    places: dict[str, str],
    cache: HeaderCache,
    tree: Tree,
    release_tree: ReleaseTree,
) -> None:
    stat = entry.stat(follow_symlinks=False)
    tree.files_seen += 1
    facts = cache.get(entry.path, stat.st_size, stat.st_mtime_ns)
    if facts is None:
        try:
            facts = read_facts(Path(entry.path))
        except BadPackage as exc:
            log.warning("bad package %s: %s", entry.path, exc)
            release_tree.bad.append(BadFile(Path(entry.path), release, repo, str(exc)))
            return
        tree.headers_read += 1
        cache.put(entry.path, stat.st_size, stat.st_mtime_ns, facts)
    parent = entry.path[: -len(entry.name) - 1]
    release_tree.files.append(
        PackageFile(
            path=Path(entry.path),
            release=release,
            repo=repo,
            archdir=places.get(parent),
            facts=facts,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
        )
    )


def _note_missing_repodata(layout: Layout, release_tree: ReleaseTree) -> None:
    for repo, settings in layout.config.repos.items():
        if settings.stage or not settings.repodata:
            continue
        for archdir in layout.archdirs(release_tree.release):
            repodata = layout.repodata_dir(release_tree.release, repo, archdir)
            if not (repodata / "repodata" / "repomd.xml").exists():
                release_tree.without_repodata.add((repo, archdir))

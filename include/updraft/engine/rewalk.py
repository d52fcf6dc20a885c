"""Rewalk: a release's walk right after an apply, reading again only what it changed.

A cycle that moved one family walked the release to plan it; the scan after the apply
(the one that settles the release) walked all of it again, 20,000 files, beside
createrepo_c on the same two cores. The apply changed only the dirs its actions name
and the other names of the inodes it linked or unlinked (a link or an unlink moves its
inode's ctime under every name): the dirs it named are listed again, the names it
named or relinked are stat'ed again, and every other run and name of the earlier walk
is kept as it was. Whatever else changed meanwhile (a packager's `cp` during the apply
into an untouched dir, or over a name the apply did not touch) is found by the next
cycle's walk, whose fingerprint then differs from the one settled here: that costs a
plan, never skips one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from updraft.engine.action import Action
from updraft.engine.layout import Layout
from updraft.engine.walk import DESCEND, KEPT, Walk, judge, repo_dirs

# Above this share of a walk's files in changed dirs, a release is walked again whole.
MOST = 0.9


def _share(walk: Walk, dirs: set[str]) -> float:
    """The share of the walk's files that lie in these dirs."""
    inside = sum(end - start for start, end, _, _, directory in walk.spans()
                 if directory in dirs)
    return inside / max(walk.kept, 1)


@dataclass
class Changed:
    """What an apply changed in a walk: the `dirs` it named a file in (listed again),
    the `named` paths themselves, and `relinked`, the places in the walk of every name
    of an inode it linked or unlinked (stat'ed again)."""

    dirs: set[str]
    named: set[str] = field(default_factory=set)
    relinked: set[int] = field(default_factory=set)


def changed(walk: Walk, root: str, actions: Iterable[Action]) -> Changed:
    """What these applied actions changed in the walk made before them."""
    prefix = root + os.sep
    named = {path if os.path.isabs(path) else prefix + path
             for action in actions for path in (action.src, action.dst) if path}
    dirs = {os.path.dirname(path) for path in named}
    index = {walk.paths[number]: number
             for start, end, _, _, directory in walk.spans() if directory in dirs
             for number in range(start, end)}
    inodes = {walk.inodes[index[path]] for path in named if path in index}
    relinked = {number for number, inode in enumerate(walk.inodes) if inode in inodes}
    return Changed(dirs, named, relinked)


def rewalk(layout: Layout, release: str, old: Walk, change: Changed) -> Walk | None:
    """The walk of `release` now: the changed dirs listed again, the names the apply
    named or relinked stat'ed again, every other name and run taken from `old`; None
    when only a full walk can tell (the old walk refused an entry; a changed dir is new
    or gone, gained or lost a subdir or an odd entry; a dir read through became a
    link)."""
    inside = tuple(old.tops)
    dirs = {directory for directory in change.dirs
            if (directory + os.sep).startswith(inside)}
    if old.refused or not old.tops or not dirs <= set(old.dirs):
        return None
    if _share(old, dirs) > MOST:
        return None  # a first cycle changed nearly every dir: a plain walk is cheaper
    every_repo_dir = repo_dirs(layout)
    skips = {repo: every_repo_dir - {str(layout.repo_dir(release, repo))}
             for repo in layout.config.repos}
    children: dict[str, set[str]] = {}
    for directory in old.dirs:
        children.setdefault(os.path.dirname(directory), set()).add(directory)
    new = Walk()
    new.tops = list(old.tops)
    for start, end, repo, place, directory in old.spans():
        relinked = [number for number in range(start, end) if number in change.relinked]
        if (directory in dirs or relinked) and _linked(directory, inside):
            return None  # made a link during the apply: the whole walk refuses it
        if directory in dirs:
            if not _relist(new, old, (start, end, repo, place, directory), change,
                           skips[repo], children.get(directory, set())):
                return None
            continue
        offset = len(new.paths)
        new.runs.append((offset, repo, place))
        new.dirs.append(directory)
        new.paths += old.paths[start:end]
        for column, was in ((new.sizes, old.sizes), (new.mtimes, old.mtimes),
                            (new.ctimes, old.ctimes), (new.inodes, old.inodes)):
            column.extend(was[start:end])
        if not _restat(new, [offset + number - start for number in relinked]):
            return None
    new.refuse([])
    return new


def _linked(directory: str, tops: tuple[str, ...]) -> bool:
    """Whether the dir, or a dir between its repo dir and it, is now a symbolic link (or
    gone): what the walk would refuse (or not find) instead of reading through it."""
    top = next((top for top in tops if (directory + os.sep).startswith(top)), None)
    if top is None:
        return True
    current = top.rstrip(os.sep)
    for part in directory[len(top):].split(os.sep):
        current = f"{current}{os.sep}{part}" if part else current
        try:
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                return True
        except FileNotFoundError:
            return True
    return False


class _Listed:
    """A listed name, stat'ed, as the walk's `judge` reads a DirEntry."""

    def __init__(self, name: str, status: os.stat_result) -> None:
        self.name, self.mode = name, status.st_mode

    def is_file(self, follow_symlinks: bool = True) -> bool:
        return stat.S_ISREG(self.mode)

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return stat.S_ISDIR(self.mode)

    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)


def _relist(new: Walk, old: Walk, span: tuple[int, int, str, str | None, str],
            change: Changed, skip: set[str], subdirs: set[str]) -> bool:
    """A changed dir's run, in its order now: a name the old walk kept, which the apply
    neither named nor relinked, keeps its stat from then (reading 7,000 stage entries
    again for the 50 a promotion linked cost more than the rest of the settling scan);
    every other name is stat'ed and judged as the walk judges it. False when only a
    full walk can tell (the dir is gone, gained or lost a subdir, or holds an entry the
    walk refuses)."""
    start, end, repo, place, directory = span
    try:
        with os.scandir(directory) as listing:
            # A name kept from the old walk must still be a regular file (its d_type
            # tells, no stat): swapped for a link, FIFO or dir, it is judged again.
            names = [(entry.name, entry.is_file(follow_symlinks=False)) for entry in listing]
    except (FileNotFoundError, NotADirectoryError):
        return False
    kept = {old.paths[number]: number - start for number in range(start, end)
            if number not in change.relinked and old.paths[number] not in change.named}
    # The span's columns, to which each name stat'ed now is added: the run is then
    # gathered from them by place, at C speed.
    sizes, mtimes = old.sizes[start:end], old.mtimes[start:end]
    ctimes, inodes = old.ctimes[start:end], old.inodes[start:end]
    prefix, below = directory + os.sep, set()
    paths = [prefix + name for name, _ in names]
    order: list[int] = []
    listed: list[str] = []
    for path, number, (name, regular) in zip(paths, map(kept.get, paths), names,
                                             strict=True):
        if number is None or not regular:
            try:
                status = os.lstat(path)
            except FileNotFoundError:
                continue  # gone since the listing: a walk would not have seen it either
            kind = judge(_Listed(name, status), path, skip)  # type: ignore[arg-type]
            if kind is DESCEND:
                below.add(path)
                continue
            if kind is not KEPT:
                if kind is None:
                    continue
                return False
            number = len(sizes)
            sizes.append(status.st_size)
            mtimes.append(status.st_mtime_ns)
            ctimes.append(status.st_ctime_ns)
            inodes.append(status.st_ino)
        order.append(number)
        listed.append(path)
    new.runs.append((len(new.paths), repo, place))
    new.dirs.append(directory)
    new.paths += listed
    for column, values in ((new.sizes, sizes), (new.mtimes, mtimes), (new.ctimes, ctimes),
                           (new.inodes, inodes)):
        column.extend(map(values.__getitem__, order))
    return below == subdirs


def _restat(walk: Walk, numbers: list[int]) -> bool:
    """Stat these entries of the walk again; False when one is gone or no longer a
    regular file (its dir changed in a way only a full walk can tell)."""
    for number in numbers:
        try:
            status = os.lstat(walk.paths[number])
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(status.st_mode):
            return False
        walk.sizes[number] = status.st_size
        walk.mtimes[number] = status.st_mtime_ns
        walk.ctimes[number] = status.st_ctime_ns
        walk.inodes[number] = status.st_ino
    return True

"""Rewalk: a release's walk right after an apply, reading again only what it changed.

A cycle that moved one family walked the release to plan it; the scan after the apply
(the one that settles the release) walked all of it again, 20,000 files, beside
createrepo_c on the same two cores. The apply changed only the dirs its actions name
and the other names of the inodes it linked or unlinked (a link or an unlink moves its
inode's ctime under every name): those dirs are read again, and every other run of the
earlier walk is kept as it was. Whatever else changed meanwhile (a packager's `cp`
during the apply) is found by the next cycle's walk, whose fingerprint then differs
from the one settled here: that costs a plan, never skips one.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Iterable

from updraft.engine.action import Action
from updraft.engine.layout import Layout
from updraft.engine.walk import Walk, read_dir, repo_dirs

# Above this share of a walk's files in changed dirs, a release is walked again whole.
MOST = 0.9


def _share(walk: Walk, dirs: set[str]) -> float:
    """The share of the walk's files that lie in these dirs."""
    inside = sum(end - start for start, end, _, _, directory in walk.spans()
                 if directory in dirs)
    return inside / max(walk.kept, 1)


def changed_dirs(walk: Walk, root: str, actions: Iterable[Action]) -> set[str]:
    """The dirs of a walk that these applied actions changed: each dir an action names
    a file in, and each dir holding another name of an inode such a file had."""
    prefix = root + os.sep
    named = {path if os.path.isabs(path) else prefix + path
             for action in actions for path in (action.src, action.dst) if path}
    dirs = {os.path.dirname(path) for path in named}
    index = {path: number for number, path in enumerate(walk.paths)}
    inodes = {walk.inodes[index[path]] for path in named if path in index}
    if inodes:
        starts = [start for start, _, _ in walk.runs]
        for number, inode in enumerate(walk.inodes):
            if inode in inodes:
                dirs.add(walk.dirs[bisect_right(starts, number) - 1])
    return dirs


def rewalk(layout: Layout, release: str, old: Walk, dirs: set[str]) -> Walk | None:
    """The walk of `release` now, with `dirs` read again and every other dir's run
    taken from `old`; None when only a full walk can tell (the old walk refused an
    entry, a changed dir is new or gone, gained or lost a subdir or an odd entry)."""
    inside = tuple(old.tops)
    dirs = {directory for directory in dirs if (directory + os.sep).startswith(inside)}
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
        if directory in dirs:
            if os.path.islink(directory):
                return None  # made a link during the apply: the whole walk refuses it
            odd: list[tuple[str, str]] = []
            below = read_dir(directory, skips[repo], odd, new, repo, place)
            if below is None or odd or set(below) != children.get(directory, set()):
                return None
            continue
        new.runs.append((len(new.paths), repo, place))
        new.dirs.append(directory)
        new.paths += old.paths[start:end]
        for column, was in ((new.sizes, old.sizes), (new.mtimes, old.mtimes),
                            (new.ctimes, old.ctimes), (new.inodes, old.inodes)):
            column.extend(was[start:end])
    new.refuse([])
    return new

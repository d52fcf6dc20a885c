"""Watch: notice a packager's `cp` into the tree within seconds, by a stat walk alone.

A release needs a cycle when its files differ from those the engine last found
consistent (the settled fingerprints). A change is announced once it has held still for
one poll, so a copy under way is not announced half-written, and each state of the tree
is announced only once: a file that stays unreadable does not wake the cycle again and
again (the scheduled cycle quarantines it when its arrival grace is over).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from stat import S_ISDIR

from updraft.engine.layout import Layout
from updraft.engine.lock import tree_locked
from updraft.engine.walk import SKIPPED_DIRS, WORKSPACES, fingerprints

DEPTH = 3  # 9/smetest is the top; x86_64/RPMS and i386/Packages/a lie within
DIRS_WATCHED = 2048  # inotify's default limit is 8192 watches per user


class TreeWatch:
    def __init__(self, layout: Layout, settled: Callable[[], dict[str, str]]) -> None:
        self.layout = layout
        self.settled = settled
        self._previous: dict[str, str] = {}
        self._announced: dict[str, str] = {}
        # The last poll saw a change it could not announce yet (it must hold still for
        # one more poll): a watcher woken by the file system polls again soon.
        self.changing = False

    def dirs(self) -> list[Path]:
        """The directories a file-system watch listens to, each on its own (not
        recursively): every repo dir and the real directories below it, a few levels
        deep (9/smetest/x86_64/RPMS), never through a symlink (a packager's link to /
        must not make the watcher walk, or watch, the whole machine), never repodata
        (written by every publish), at most DIRS_WATCHED. Deeper or later directories
        are the backstop poll's, until `listened` says the set changed."""
        return [path for path, _ in self.listened()]

    def listened(self) -> list[tuple[Path, int]]:
        """`dirs` with each one's inode: a directory removed and made again under the same
        name is another directory, whose watch must be set anew (the old one went with
        the old directory)."""
        found: list[tuple[Path, int]] = []
        for release in self.layout.config.releases:
            for repo in self.layout.config.repos:
                top = self.layout.repo_dir(release, repo)
                try:
                    stat = top.lstat()
                except OSError:
                    continue
                if S_ISDIR(stat.st_mode):
                    found += _real_dirs(top, stat.st_ino, DEPTH, DIRS_WATCHED - len(found))
        return found

    def poll(self) -> list[str]:
        """The releases whose unsettled change has held still since the last poll.

        Nothing while a writer holds the tree lock: what moves then is the engine's own
        work (it records the tree settled before it lets go), not a packager's drop."""
        if tree_locked(self.layout.state_dir):
            self.changing = True
            self._previous = {}
            return []
        now = fingerprints(self.layout)
        settled = self.settled()
        ready = [
            release for release, fingerprint in now.items()
            if fingerprint != settled.get(release)
            and fingerprint == self._previous.get(release)
            and fingerprint != self._announced.get(release)
        ]
        self.changing = any(
            fingerprint != settled.get(release) and fingerprint != self._announced.get(release)
            and release not in ready for release, fingerprint in now.items())
        self._previous = now
        self._announced.update({release: now[release] for release in ready})
        return ready


def _real_dirs(top: Path, inode: int, depth: int, room: int) -> list[tuple[Path, int]]:
    """top and the directories below it down to `depth`, breadth first, no symlinks,
    each with its inode."""
    found: list[tuple[Path, int]] = []
    level = [(top, inode)]
    for _ in range(depth + 1):
        below: list[tuple[Path, int]] = []
        for path, number in level:
            if len(found) >= room:
                return found
            found.append((path, number))
            try:
                with os.scandir(path) as entries:
                    below += [(Path(entry.path), entry.inode()) for entry in entries
                              if entry.is_dir(follow_symlinks=False)
                              # What the walk skips; a publish's workspace
                              # (.repodata.updraft-<pid>) is gone within the second,
                              # and a watch dying with it stopped watchfiles listening.
                              and entry.name not in SKIPPED_DIRS
                              and not entry.name.startswith(WORKSPACES)]
            except OSError:
                continue
        level = below
    return found

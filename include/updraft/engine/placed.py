"""Placed: what an apply put where, so the scan after it reads no header twice.

A hard link changes its inode's ctime, and the header cache keys rows on it: every file
an apply linked (its new name and its source) would otherwise be read and verified again
by the very next scan, the stage's copies of a first cycle above all. The apply notes
each placement here with the placed inode's stat; the header cache then gives the placed
names the source's row (HeaderCache.adopt), but only when that row is of the very bytes
that were digested (the source's size, mtime and ctime then) and the placed file still
has the stat noted right after it was placed (before it was verified). Anything else is
read again, as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# (inode, size, mtime_ns, ctime_ns): a source's stat when its sha256 was taken.
Stamp = tuple[int, int, int, int]
# (size, mtime_ns, ctime_ns): how the header cache keys a row.
Key = tuple[int, int, int]


@dataclass
class Placed:
    sources: dict[str, Stamp] = field(default_factory=dict)  # source -> digested stat
    names: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (source, inode)
    inodes: dict[int, Key] = field(default_factory=dict)  # inode -> stat after its last change

    def note(self, source: str, target: str, digested: Stamp, placed: os.stat_result) -> None:
        """`target` was filled from `source` (both relative to the root)."""
        self.sources[source] = digested
        self.names[target] = (source, placed.st_ino)
        self.names.setdefault(source, (source, digested[0]))
        self._remember(placed)  # a link moved the ctime of every name of the inode

    def unlinked(self, source: str, root: Path) -> None:
        """`source` was deleted: its inode's ctime moved; re-stat a name it still has,
        taken only if nothing but the ctime changed (size and mtime as placed)."""
        entry = self.names.pop(source, None)
        if entry is None:
            return
        inode = entry[1]
        before = self.inodes.get(inode)
        for name, (_, other) in self.names.items():
            if other != inode or before is None:
                continue
            try:
                now = os.lstat(root / name)
            except OSError:
                break
            if now.st_ino == inode and (now.st_size, now.st_mtime_ns) == before[:2]:
                self._remember(now)
            else:
                self.inodes.pop(inode, None)
            break

    def _remember(self, status: os.stat_result) -> None:
        self.inodes[status.st_ino] = (status.st_size, status.st_mtime_ns, status.st_ctime_ns)

    def adoptions(self, root: Path) -> list[tuple[str, str, Key, Key]]:
        """(path, source path, source's digested key, path's key now) per placed name."""
        found = []
        prefix = str(root) + os.sep
        for name, (source, inode) in self.names.items():
            now = self.inodes.get(inode)
            digested = self.sources.get(source)
            if now is None or digested is None:
                continue
            found.append((_absolute(prefix, name), _absolute(prefix, source), digested[1:], now))
        return found


def _absolute(prefix: str, name: str) -> str:
    return name if os.path.isabs(name) else prefix + name

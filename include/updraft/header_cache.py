"""Header cache: header facts by path + size + mtime, so an unchanged tree reads no header.

A private SQLite file in the state dir (stdlib sqlite3: one SELECT loads 20,000 rows
in a few milliseconds, which the no-op cycle depends on).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from updraft.package import PackageFacts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS headers (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,
    name TEXT, epoch INTEGER, version TEXT, release TEXT, arch TEXT, sourcerpm TEXT
)
"""

Entry = tuple[int, int, PackageFacts]


class HeaderCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, Entry] | None = None
        self._fresh: dict[str, Entry] = {}
        self._seen: set[str] = set()

    def _load(self) -> dict[str, Entry]:
        if self._entries is None:
            self._entries = {}
            if self.path.exists():
                with sqlite3.connect(self.path) as db:
                    db.execute(_SCHEMA)
                    for row in db.execute("SELECT * FROM headers"):
                        path, size, mtime_ns, *facts = row
                        self._entries[path] = (size, mtime_ns, PackageFacts(*facts))
        return self._entries

    def get(self, path: str, size: int, mtime_ns: int) -> PackageFacts | None:
        self._seen.add(path)
        entry = self._load().get(path)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        return entry[2]

    def put(self, path: str, size: int, mtime_ns: int, facts: PackageFacts) -> None:
        self._fresh[path] = (size, mtime_ns, facts)

    def save(self, scanned_dirs: Iterable[str] = ()) -> None:
        """Write new entries; drop entries under the scanned dirs that were not seen."""
        entries = self._load()
        prefixes = tuple(scanned_dirs)
        stale = [p for p in entries if p not in self._seen and p.startswith(prefixes)]
        if not self._fresh and not stale:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute(_SCHEMA)
            db.executemany(
                "INSERT OR REPLACE INTO headers VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (p, size, mtime, f.name, f.epoch, f.version, f.release, f.arch, f.sourcerpm)
                    for p, (size, mtime, f) in self._fresh.items()
                ],
            )
            db.executemany("DELETE FROM headers WHERE path = ?", [(p,) for p in stale])
        entries.update(self._fresh)
        for path in stale:
            entries.pop(path, None)
        self._fresh.clear()

"""Header cache: header facts by path, size, mtime and ctime: an unchanged tree reads none.

A private file in the state dir, in marshal format: Python's fastest loader (40,000
rows in ~15 ms), which the no-op and one-family cycles depend on. The rows are written
and read in chunks, each a length and a marshal image: one image of every row (20 MB
beside the 36 MB of rows at 21,000 RPMs) was a promotion's peak of memory. A cache that
cannot be read (another Python version, a torn write) is simply rebuilt by reading
headers; one in the single-image format 3 is still read.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import marshal
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, NamedTuple

from updraft.engine.durable import temporary_for
from updraft.engine.family import source_name
from updraft.engine.faults import checkpoint
from updraft.engine.gcpause import gc_paused
from updraft.engine.package import PackageFacts
from updraft.engine.placed import Key
from updraft.private import open_private, private_dir

log = logging.getLogger(__name__)

_FORMAT = 3  # 2: rows carry the header digest; 3: keyed on (mtime_ns, ctime_ns)
_CHUNKED = b"updraft header cache 4\n"  # format 3's rows, in chunks
_CHUNK_ROWS = 4096
_LENGTH = 8  # bytes of each chunk's length, little-endian

Row = tuple  # (path, size, (mtime_ns, ctime_ns), name, epoch, version, release, arch,
#               sourcerpm, digest, source)


class Hit(NamedTuple):
    row: tuple  # the PackageFacts fields
    source: str  # the source package name: what an incremental plan selects by


def _shared(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _hit(entry: Row) -> Hit:
    return Hit(entry[3:10], entry[10])


class HeaderCache:
    """`deferred`: `save` only notes what to write; `flush` writes it. The engine writes
    the cache only once it knows which settled marks the new rows invalidate (a mark
    must never outlive the file view it was taken on), and a read-only planner never."""

    def __init__(self, path: Path, deferred: bool = False) -> None:
        self.path = path
        self.deferred = deferred
        self._scanned: tuple[str, ...] = ()
        self._entries: dict[str, Row] | None = None
        self._fresh: dict[str, Row] = {}
        self._seen_set: set[str] = set()
        self._unseen: list[Iterable[str]] = []  # walks not yet in _seen_set (see keep)
        self._facts: dict[tuple, PackageFacts] = {}
        # Paths given rows by `adopt`: changed files to an incremental scan, unread.
        self.adopted: set[str] = set()
        self._in_sync = False  # the rows in memory are the file's (loaded or written)

    def successor(self) -> HeaderCache | None:
        """A cache for the next scan by the same writer, under the same tree lock,
        sharing these rows instead of loading the file again; None unless the rows are
        what the file holds (written, or nothing to write) plus the rows noted but not
        written (a plan about to be applied: the plan after it writes them)."""
        if self._entries is None or not self._in_sync:
            return None
        following = HeaderCache(self.path, self.deferred)
        following._entries, following._facts, following._in_sync = self._entries, self._facts, True
        if self._fresh:
            self._entries.update(self._fresh)
            following._fresh = dict(self._fresh)
        return following

    def rows(self) -> dict[str, Row]:
        """Every cached row by path."""
        if self._entries is None:
            self._entries = {}
            try:
                with gc_paused():  # 40,000 rows: no cycles for the collector to find
                    self._entries = _load(self.path)
            except (OSError, EOFError, ValueError, TypeError, AttributeError, KeyError):
                pass  # no cache yet, or an unreadable one: headers get read again
            self._in_sync = True  # what loading the file gives, rows or none
        return self._entries

    def key_of(self, path: str) -> tuple[int, int, int] | None:
        """(size, mtime_ns, ctime_ns) this scan or an earlier one read the file's header
        at (and verified its payload), rows noted but not yet written included."""
        row = self._fresh.get(path) or self.rows().get(path)
        return None if row is None else (row[1], *row[2])

    def facts_of(self, row: Row) -> PackageFacts:
        # Hardlinked copies (stage, noarch) share one facts object.
        key = row[3:10]
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = PackageFacts(*key)
        return found

    def adopt(self, placed: Iterable[tuple[str, str, Key, Key]]) -> int:
        """Rows for files an apply placed (updraft.engine.placed): each takes its source's row,
        only if that row is of the bytes digested (its key then), under the placed
        file's key now. Returns how many were adopted."""
        entries = self.rows()
        adopted = {}
        for path, source, digested, now in placed:
            row = entries.get(source)
            if row is not None and (row[1], *row[2]) == digested:
                adopted[path] = (path, now[0], (now[1], now[2]), *row[3:])
        entries.update(adopted)  # after every check: a source's own new row comes last
        self._fresh.update(adopted)
        self.adopted.update(adopted)
        return len(adopted)

    def keep(self, paths: Iterable[str]) -> None:
        """Mark the files of a walk (their paths) as seen by this scan; taken into
        account only when asked for (a no-op cycle never asks)."""
        self._unseen.append(paths)

    @property
    def _seen(self) -> set[str]:
        for found in self._unseen:
            self._seen_set.update(found)
        self._unseen.clear()
        return self._seen_set

    def _unseen_rows(self, under: tuple[str, ...]) -> list[str]:
        """Paths of cached rows under these dirs that the scan did not see: a set
        difference in C first (40,000 rows), the few left then filtered by dir."""
        return [path for path in self.rows().keys() - self._seen if path.startswith(under)]

    def vanished(self, prefixes: Iterable[str]) -> list[Hit]:
        """Cached files under these dirs that the scan no longer saw."""
        entries = self.rows()
        return [_hit(entries[path]) for path in self._unseen_rows(tuple(prefixes))]

    def put(self, path: str, size: int, stamp: tuple[int, int], facts: PackageFacts) -> None:
        # Interned: the 48 packages of a family share their source's strings, hard links
        # their build's digest; marshal writes a shared string once and loads it back
        # shared (interned), so the file and the rows in memory shrink by a third.
        self._fresh[path] = (path, size, stamp, _shared(facts.name), facts.epoch,
                             _shared(facts.version), _shared(facts.release),
                             _shared(facts.arch), _shared(facts.sourcerpm),
                             _shared(facts.digest), _shared(source_name(facts)))

    def save(self, scanned_dirs: Iterable[str] = ()) -> None:
        """Write new entries; drop entries under the scanned dirs that were not seen."""
        self._scanned = tuple(scanned_dirs)
        if not self.deferred:
            self.flush()

    @property
    def dirty(self) -> bool:
        """Whether `flush` would change the file (new rows, or rows of vanished files)."""
        return bool(self._fresh or self._stale())

    def _stale(self) -> list[str]:
        if not self._scanned:
            return []
        return self._unseen_rows(self._scanned)

    def flush(self) -> bool:
        """Write what `save` noted; False when the file could not be written (a caller
        then must not mark anything settled on the view it failed to keep)."""
        entries = self.rows()
        stale = self._stale()
        if not self._fresh and not stale:
            return True
        self._in_sync = False
        entries.update(self._fresh)
        for path in stale:
            del entries[path]
        self._fresh.clear()
        temporary = temporary_for(self.path)
        try:
            private_dir(self.path.parent)
            with open_private(temporary, "wb") as stream:
                _dump(entries, stream)
            os.replace(temporary, self.path)
        except OSError as exc:
            # A cache is only a speed-up: a full or read-only disk must not stop a scan.
            log.warning("header cache not saved (%s): the next scan reads headers again", exc)
            with contextlib.suppress(OSError):  # a read-only disk refuses even this
                temporary.unlink()
            return False
        self._in_sync = True
        checkpoint()
        return True


def _dump(entries: dict[str, Row], stream: IO[bytes]) -> None:
    stream.write(_CHUNKED)
    rows = iter(entries.values())
    while chunk := list(itertools.islice(rows, _CHUNK_ROWS)):
        image = marshal.dumps(chunk)
        stream.write(len(image).to_bytes(_LENGTH, "little"))
        stream.write(image)


def _load(path: Path) -> dict[str, Row]:
    """The rows by path; a chunk cut short or longer than the file raises EOFError."""
    with open(path, "rb") as stream:
        if stream.read(len(_CHUNKED)) != _CHUNKED:
            stored = marshal.loads(path.read_bytes())  # format 3: one image
            return stored["rows"] if stored.get("format") == _FORMAT else {}
        left = os.fstat(stream.fileno()).st_size - len(_CHUNKED)
        entries: dict[str, Row] = {}
        while prefix := stream.read(_LENGTH):
            size = int.from_bytes(prefix, "little")
            left -= len(prefix) + size
            if len(prefix) < _LENGTH or left < 0:
                raise EOFError(f"{path}: a chunk is cut short")
            chunk = marshal.loads(stream.read(size))
            entries.update(zip([row[0] for row in chunk], chunk, strict=True))
        return entries

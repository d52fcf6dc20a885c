"""Header cache: header facts by path, size, mtime and ctime: an unchanged tree reads none.

Private files in the state dir, in marshal format: Python's fastest loader, which the
no-op and one-family cycles depend on. The rows are kept in shards, one file per
directory right under the tree's root (a release: `headers/9.marshal`), loaded and
written only when a scan needs that shard: a promotion in release 9 neither loads nor
writes release 10's rows (half the rows at 21,000 RPMs, ~35 ms each way). Each file is
written and read in chunks, each a length and a marshal image: one image of every row
(20 MB beside the 36 MB of rows) was a promotion's peak of memory. A shard that cannot
be read (another Python version, a torn write) is simply rebuilt by reading headers; the
single file of earlier versions (`headers.marshal`, chunked or format 3) is read once
and written out as shards.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import marshal
import os
import re
import struct
import sys
from collections.abc import Iterable, Iterator, Mapping, ValuesView
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
_CHUNKED = b"updraft header cache 4\n"  # format 3's rows, in chunks (the old single file)
_PACKED = b"updraft header cache 5\n"  # a shard's rows, stamps packed, in chunks
_CHUNK_ROWS = 4096
_LENGTH = 8  # bytes of each chunk's length, little-endian
# A shard: the rows under one dir two levels below the root (a release's repo, or the
# stage of a release); its file is named after that dir (9+smeupdates.marshal) when
# each part is a plain name, else by a hash of it.
_DEPTH = 2
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_PLAIN_SHARD = re.compile(rf"{_PART}(?:\+{_PART})*")
_SUFFIX = ".marshal"

Row = tuple  # (path, stamp, name, epoch, version, release, arch, sourcerpm, digest, source)
# A row's stamp: size, mtime_ns and ctime_ns packed in 24 bytes, one object where a tuple
# of three ints took four (~115 bytes a row less: 3 MB of a promotion's 20,000 rows).
STAMP = struct.Struct("<qqq")
FACTS = slice(2, 9)  # the PackageFacts fields of a row
NAME = 2  # the package's name
SOURCE = 9  # the source package name: what an incremental plan selects by


class Hit(NamedTuple):
    row: tuple  # the PackageFacts fields
    source: str  # the source package name: what an incremental plan selects by


def _shared(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)


def _hit(entry: Row) -> Hit:
    return Hit(entry[FACTS], entry[SOURCE])


def _packed(row: tuple) -> Row:
    """A row of the old single file (size, (mtime_ns, ctime_ns) unpacked) as a row now."""
    return (row[0], STAMP.pack(row[1], *row[2]), *row[3:])


class HeaderCache:
    """`deferred`: `save` only notes what to write; `flush` writes it. The engine writes
    the cache only once it knows which settled marks the new rows invalidate (a mark
    must never outlive the file view it was taken on), and a read-only planner never.
    `root`: the tree's root; the first two dirs of a path under it name its shard."""

    def __init__(self, directory: Path, root: str, deferred: bool = False,
                 legacy: Path | None = None) -> None:
        self.directory = directory
        self.root = root.rstrip(os.sep) + os.sep
        self.legacy = legacy  # the one file of earlier versions, read when no shard is
        self.deferred = deferred
        self._scanned: tuple[str, ...] = ()
        self._shards: dict[str, dict[str, Row]] = {}  # loaded shards, by name
        self._dirty: set[str] = set()  # shards to write though no row changed (legacy)
        self._legacy_read = False
        self._fresh: dict[str, Row] = {}
        self._seen_set: set[str] = set()
        self._unseen: list[Iterable[str]] = []  # walks not yet in _seen_set (see keep)
        self._facts: dict[tuple, PackageFacts] = {}
        # Paths given rows by `adopt`: changed files to an incremental scan, unread.
        self.adopted: set[str] = set()
        self._in_sync = False  # the rows in memory are the files' (loaded or written)

    @classmethod
    def of(cls, state_dir: Path, root: Path, deferred: bool = True) -> HeaderCache:
        """The header cache of a tree (its state dir)."""
        return cls(state_dir / "headers", str(root), deferred, state_dir / "headers.marshal")

    def successor(self) -> HeaderCache | None:
        """A cache for the next scan by the same writer, under the same tree lock,
        sharing these rows instead of loading the files again; None unless the rows are
        what the files hold (written, or nothing to write) plus the rows noted but not
        written (a plan about to be applied: the plan after it writes them)."""
        if not self._shards or not self._in_sync:
            return None
        following = HeaderCache(self.directory, self.root, self.deferred, self.legacy)
        following._shards, following._facts, following._in_sync = self._shards, self._facts, True
        following._dirty, following._legacy_read = set(self._dirty), self._legacy_read
        if self._fresh:
            for path, row in self._fresh.items():
                self.shard(self.shard_of(path))[path] = row
            following._fresh = dict(self._fresh)
        return following

    def shard_of(self, path: str) -> str:
        """The shard a file's row is kept in: its dir's first two parts under the root
        (found by two `find`s: a first cycle asks for 100,000 paths)."""
        root = self.root
        if not path.startswith(root):
            return ""
        first = path.find(os.sep, len(root))
        if first < 0:
            return ""  # a file right under the root
        second = path.find(os.sep, first + 1)
        return path[len(root):first if second < 0 else second]

    def _names_under(self, prefix: str) -> set[str]:
        """The shards that can hold rows of files under a dir (ending in a separator)."""
        if not prefix.startswith(self.root):
            return {""}
        parts = [part for part in prefix[len(self.root):].split(os.sep) if part]
        if len(parts) >= _DEPTH:
            return {os.sep.join(parts[:_DEPTH])}
        head = os.sep.join(parts)  # a shallow dir: every shard below it
        self.rows()
        return {name for name in self._shards
                if not head or name == head or name.startswith(head + os.sep)}

    def _file(self, name: str) -> Path:
        stem = name.replace(os.sep, "+")
        if name and os.sep.join(stem.split("+")) == name and _PLAIN_SHARD.fullmatch(stem):
            return self.directory / f"{stem}{_SUFFIX}"
        hashed = hashlib.sha256(name.encode(errors="surrogateescape")).hexdigest()[:32]
        return self.directory / f"~{hashed}{_SUFFIX}"

    def shard(self, name: str) -> dict[str, Row]:
        """One shard's rows by path, loaded on first use."""
        rows = self._shards.get(name)
        if rows is not None:
            return rows
        self._in_sync = self._in_sync or not self._shards
        if not self._legacy_read and self.legacy is not None and self.legacy.exists():
            # Until every shard split from it is written (the flush that writes the last
            # removes it), the old file still holds the rows of the shards not yet written.
            self._legacy_read = True
            self._adopt_legacy()
            if name in self._shards:
                return self._shards[name]
        rows = {}
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError, AttributeError,
                                 KeyError):  # none yet, or unreadable: headers are read again
            with gc_paused():  # 20,000 rows: no cycles for the collector to find
                rows = _load(self._file(name))
        return self._shards.setdefault(name, rows)

    def _adopt_legacy(self) -> None:
        """Split the single file of earlier versions into the shards that have no file
        yet (a shard file is newer: written from it, or since), all written at the next
        flush, which then removes it. A migration cut short (a kill, a full disk) is
        thus taken up again by the next scan, and no row of it is lost meanwhile."""
        rows: dict[str, Row] = {}
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError, AttributeError,
                                 KeyError):
            with gc_paused():
                rows = _load(self.legacy) if self.legacy else {}
        written: dict[str, bool] = {}
        for path, row in rows.items():
            name = self.shard_of(path)
            if name not in written:
                written[name] = name in self._shards or self._file(name).exists()
            if not written[name]:
                self._dirty.add(name)
                self._shards.setdefault(name, {})[path] = row

    def rows(self) -> dict[str, Row]:
        """Every cached row by path (every shard loaded)."""
        if not self.directory.is_dir():
            self.shard("")  # the legacy file's rows, if there is one
        else:
            for entry in os.scandir(self.directory):
                stem = entry.name[:-len(_SUFFIX)]
                if not entry.name.endswith(_SUFFIX):
                    continue
                if _PLAIN_SHARD.fullmatch(stem):
                    self.shard(stem.replace("+", os.sep))
                elif stem.startswith("~"):
                    self._hashed_shard(Path(entry.path))
        merged: dict[str, Row] = {}
        for rows in self._shards.values():
            merged.update(rows)
        return merged

    def _hashed_shard(self, path: Path) -> None:
        """Load a shard whose name is kept hashed (found by its first row's path)."""
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError, AttributeError,
                                 KeyError):
            first = next(iter(_load(path)), None)
            if first is not None and self._file(self.shard_of(first)) == path:
                self.shard(self.shard_of(first))

    def rows_under(self, prefixes: Iterable[str]) -> dict[str, Row]:
        """The rows of the shards holding these dirs (merged unless one shard)."""
        names = {name for prefix in prefixes for name in self._names_under(prefix)}
        if len(names) == 1:
            return self.shard(names.pop())
        merged: dict[str, Row] = {}
        for name in names:
            merged.update(self.shard(name))
        return merged

    def view(self) -> Mapping[str, Row]:
        """Every row by path, a shard loaded only when a path in it is looked up."""
        return _View(self)

    def key_of(self, path: str) -> tuple[int, int, int] | None:
        """(size, mtime_ns, ctime_ns) this scan or an earlier one read the file's header
        at (and verified its payload), rows noted but not yet written included."""
        row = self._fresh.get(path) or self.shard(self.shard_of(path)).get(path)
        return None if row is None else STAMP.unpack(row[1])

    def facts_of(self, row: Row) -> PackageFacts:
        # Hardlinked copies (stage, noarch) share one facts object.
        key = row[FACTS]
        found = self._facts.get(key)
        if found is None:
            found = self._facts[key] = PackageFacts(*key)
        return found

    def adopt(self, placed: Iterable[tuple[str, str, Key, Key]]) -> int:
        """Rows for files an apply placed (updraft.engine.placed): each takes its source's row,
        only if that row is of the bytes digested (its key then), under the placed
        file's key now. Returns how many were adopted."""
        adopted = {}
        for path, source, digested, now in placed:
            row = self.shard(self.shard_of(source)).get(source)
            if row is not None and row[1] == STAMP.pack(*digested):
                adopted[path] = (path, STAMP.pack(*now), *row[2:])
        for path, row in adopted.items():  # after every check: a source's own new row last
            self.shard(self.shard_of(path))[path] = row
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
        difference in C first (20,000 rows a shard), the few left then filtered by dir."""
        seen = self._seen
        names = {name for prefix in under for name in self._names_under(prefix)}
        return [path for name in sorted(names)
                for path in self.shard(name).keys() - seen if path.startswith(under)]

    def vanished(self, prefixes: Iterable[str]) -> list[Hit]:
        """Cached files under these dirs that the scan no longer saw."""
        under = tuple(prefixes)
        return [_hit(self.shard(self.shard_of(path))[path])
                for path in self._unseen_rows(under)]

    def put(self, path: str, size: int, stamp: tuple[int, int], facts: PackageFacts) -> None:
        # Interned: the 48 packages of a family share their source's strings, hard links
        # their build's digest; marshal writes a shared string once and loads it back
        # shared (interned), so the file and the rows in memory shrink by a third.
        self._fresh[path] = (path, STAMP.pack(size, *stamp), _shared(facts.name), facts.epoch,
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
        """Whether `flush` would change the files (new rows, or rows of vanished files)."""
        return bool(self._fresh or self._dirty or self._stale())

    def _stale(self) -> list[str]:
        if not self._scanned:
            return []
        return self._unseen_rows(self._scanned)

    def flush(self) -> bool:
        """Write what `save` noted, only the shards it changes; False when a file could
        not be written (a caller then must not mark anything settled on the view it
        failed to keep)."""
        stale = self._stale()
        if not self._fresh and not stale and not self._dirty:
            return True
        self._in_sync = False
        changed = set(self._dirty)
        for path, row in self._fresh.items():
            name = self.shard_of(path)
            self.shard(name)[path] = row
            changed.add(name)
        for path in stale:
            name = self.shard_of(path)
            del self._shards[name][path]
            changed.add(name)
        self._fresh.clear()
        try:
            private_dir(self.directory)
            for name in sorted(changed):
                self._write(name)
            if self._legacy_read and self.legacy is not None:  # every shard of it written
                self.legacy.unlink(missing_ok=True)
        except OSError as exc:
            # A cache is only a speed-up: a full or read-only disk must not stop a scan.
            log.warning("header cache not saved (%s): the next scan reads headers again", exc)
            return False
        self._dirty.clear()
        self._in_sync = True
        checkpoint()
        return True

    def _write(self, name: str) -> None:
        target = self._file(name)
        rows = self._shards.get(name, {})
        if not rows:
            target.unlink(missing_ok=True)
            return
        temporary = temporary_for(target)
        try:
            with open_private(temporary, "wb") as stream:
                _dump(rows, stream)
            os.replace(temporary, target)
        except OSError:
            with contextlib.suppress(OSError):  # a read-only disk refuses even this
                temporary.unlink()
            raise


class _View(Mapping[str, Row]):
    """HeaderCache.view: a lookup loads one shard; a pass over every row loads them all."""

    def __init__(self, cache: HeaderCache) -> None:
        self._cache = cache

    def __getitem__(self, path: str) -> Row:
        return self._cache.shard(self._cache.shard_of(path))[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cache.rows())

    def __len__(self) -> int:
        return len(self._cache.rows())

    def values(self) -> ValuesView[Row]:  # every row, without a lookup each
        return self._cache.rows().values()


def _dump(entries: dict[str, Row], stream: IO[bytes]) -> None:
    stream.write(_PACKED)
    rows = iter(entries.values())
    while chunk := list(itertools.islice(rows, _CHUNK_ROWS)):
        image = marshal.dumps(chunk)
        stream.write(len(image).to_bytes(_LENGTH, "little"))
        stream.write(image)


def _load(path: Path) -> dict[str, Row]:
    """The rows by path (the old single file's, chunked or format 3, made rows of now);
    a chunk cut short or longer than the file raises EOFError."""
    with open(path, "rb") as stream:
        magic = stream.read(len(_PACKED))
        if magic not in (_PACKED, _CHUNKED):
            stored = marshal.loads(path.read_bytes())  # format 3: one image
            rows = stored["rows"] if stored.get("format") == _FORMAT else {}
            return {found: _packed(row) for found, row in rows.items()}
        left = os.fstat(stream.fileno()).st_size - len(magic)
        entries: dict[str, Row] = {}
        while prefix := stream.read(_LENGTH):
            size = int.from_bytes(prefix, "little")
            left -= len(prefix) + size
            if len(prefix) < _LENGTH or left < 0:
                raise EOFError(f"{path}: a chunk is cut short")
            chunk = marshal.loads(stream.read(size))
            if magic == _CHUNKED:
                chunk = [_packed(row) for row in chunk]
            entries.update(zip([row[0] for row in chunk], chunk, strict=True))
        return entries

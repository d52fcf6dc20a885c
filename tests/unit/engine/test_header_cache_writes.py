"""A cycle that applies a plan writes the header cache once, after the apply (issue 20):
the plan before it leaves its new rows to the plan after it. The rows are kept in one
shard per release: a cycle loads and writes only the shards of the releases it plans."""

from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

import pytest

from updraft.engine import header_cache
from updraft.engine.engine import Engine
from updraft.engine.header_cache import HeaderCache

DROP = "clamav-0.97.6-1.el4.rf.i386.rpm"


def _cache(engine: Engine) -> HeaderCache:
    return HeaderCache.of(engine.layout.state_dir, engine.layout.root)


def _stamp(path: str) -> bytes | None:
    """A file's stamp as a row keeps it (None: gone)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return header_cache.STAMP.pack(status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _drop(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / DROP, root / "9/smeupdates-testing/")


def test_a_cp_cycle_writes_its_release_shard_once(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    shards = engine.layout.state_dir / "headers"
    writes: list[str] = []
    real = os.replace

    def counting(source: str | Path, target: str | Path) -> None:
        if Path(target).parent == shards:
            writes.append(Path(target).name)
        real(source, target)

    monkeypatch.setattr(header_cache.os, "replace", counting)
    root = engine.layout.root
    _drop(engine)
    assert engine.update_repos().applied
    # Once each, only the shards of the repos the cycle changed: smeupdates-testing got
    # the family, the stage mirrors it, smetest lost its only one (its shard is removed);
    # release 10's not at all.
    assert sorted(writes) == ["9+smeupdates-testing.marshal", "stage+9.marshal"]
    assert not (shards / "9+smetest.marshal").exists()
    monkeypatch.undo()
    rows = _cache(engine).rows()
    assert str(root / "9/smeupdates-testing" / DROP) not in rows
    assert str(root / "9/smeupdates-testing/i386/RPMS" / DROP) in rows
    assert engine.update_repos().nothing_to_do


def test_a_promotion_loads_only_its_release_shard(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    other = engine.layout.state_dir / "headers" / "10+smeos.marshal"
    with open(other, "wb") as stream:  # a shard this cycle must not need
        header_cache._dump({}, stream)
    loaded: list[str] = []
    load = header_cache._load

    def counting(path: Path) -> dict:
        loaded.append(path.name)
        return load(path)

    monkeypatch.setattr(header_cache, "_load", counting)
    _drop(engine)
    assert engine.update_repos().applied
    assert loaded and all(name.startswith(("9+", "stage+9")) for name in loaded)
    assert len(loaded) == len(set(loaded))


def test_the_shards_are_read_in_chunks_and_the_old_single_file_once(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of rows (here of 5) read back as every row; the single file of earlier
    versions (chunked, or format 3: one image) is read when there are no shards, and
    written out as shards by the next cycle; a chunk cut short is a shard to rebuild."""
    state = engine.layout.state_dir
    shards, legacy = state / "headers", state / "headers.marshal"
    rows = _cache(engine).rows()
    assert len(rows) > 10
    monkeypatch.setattr(header_cache, "_CHUNK_ROWS", 5)
    for shard in shards.iterdir():
        with open(shard, "wb") as stream:  # every row in each shard: still read right
            header_cache._dump(rows, stream)
    assert _cache(engine).rows() == rows

    # The old file's rows: size and (mtime_ns, ctime_ns) unpacked, as earlier versions wrote.
    unpacked = {}
    for path, row in rows.items():
        size, mtime_ns, ctime_ns = header_cache.STAMP.unpack(row[1])
        unpacked[path] = (path, size, (mtime_ns, ctime_ns), *row[2:])
    shutil.rmtree(shards)
    legacy.write_bytes(marshal.dumps({"format": 3, "rows": unpacked}))
    assert _cache(engine).rows() == rows
    with open(legacy, "wb") as stream:  # format 4: the old rows in chunks
        stream.write(header_cache._CHUNKED)
        for start in range(0, len(unpacked), 5):
            image = marshal.dumps(list(unpacked.values())[start:start + 5])
            stream.write(len(image).to_bytes(header_cache._LENGTH, "little") + image)
    assert _cache(engine).rows() == rows
    monkeypatch.undo()
    _drop(engine)
    assert engine.update_repos().applied
    assert not legacy.exists() and (shards / "9+smeupdates-testing.marshal").exists()
    assert engine.update_repos().nothing_to_do

    torn = shards / "9+smeupdates-testing.marshal"
    torn.write_bytes(torn.read_bytes()[:-3])
    assert not any(path.startswith(str(engine.layout.root / "9/smeupdates-testing"))
                   for path in _cache(engine).rows())
    assert engine.update_repos().nothing_to_do  # a settled tree needs no header at all
    assert engine.pure_plan(full=True, replan=True).plan.empty


def test_a_migration_cut_short_loses_no_row(engine: Engine,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while the old single file is written out as shards: the shards not
    yet written keep their rows in the old file, which stays until the last is written
    (a settled release's rows gone would let it keep its mark on a view no cache holds:
    found by a review)."""
    state = engine.layout.state_dir
    rows = _cache(engine).rows()
    unpacked = {}
    for path, row in rows.items():  # an earlier version's single file
        size, mtime_ns, ctime_ns = header_cache.STAMP.unpack(row[1])
        unpacked[path] = (path, size, (mtime_ns, ctime_ns), *row[2:])
    shutil.rmtree(state / "headers")
    legacy = state / "headers.marshal"
    legacy.write_bytes(marshal.dumps({"format": 3, "rows": unpacked}))
    real = os.replace

    def full(source: str | Path, target: str | Path) -> None:
        if Path(target).name == "9+smeupdates-testing.marshal":  # stage+9 comes after
            raise OSError(28, "No space left on device")
        real(source, target)

    monkeypatch.setattr(header_cache.os, "replace", full)
    touched = next((engine.layout.root / "9/smetest/SRPMS").glob("*.rpm"))
    os.utime(touched)  # a change: release 9 is scanned, the old file read, shards written
    engine.update_repos()
    monkeypatch.undo()

    assert legacy.exists()
    kept = _cache(engine).rows()
    unchanged = [path for path, row in rows.items() if _stamp(path) == row[1]]
    assert unchanged and all(path in kept for path in unchanged)
    assert engine.update_repos().ok
    assert not legacy.exists()
    assert engine.update_repos().nothing_to_do
    assert engine.pure_plan(full=True, replan=True).plan.empty

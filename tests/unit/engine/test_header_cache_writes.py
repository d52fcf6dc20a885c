"""A cycle that applies a plan writes the header cache once, after the apply (issue 20):
the plan before it leaves its new rows to the plan after it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from updraft.engine import header_cache
from updraft.engine.engine import Engine


def test_a_cp_cycle_writes_the_header_cache_once(engine: Engine,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cache = engine.layout.state_dir / "headers.marshal"
    writes: list[str] = []
    real = os.replace

    def counting(source: str | Path, target: str | Path) -> None:
        if Path(target) == cache:
            writes.append(str(source))
        real(source, target)

    monkeypatch.setattr(header_cache.os, "replace", counting)
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    assert engine.update_repos().applied
    assert len(writes) == 1
    monkeypatch.undo()
    rows = header_cache.HeaderCache(cache).rows()
    assert str(root / "9/smeupdates-testing/clamav-0.97.6-1.el4.rf.i386.rpm") not in rows
    assert str(root / "9/smeupdates-testing/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm") in rows
    assert engine.update_repos().nothing_to_do


def test_the_cache_is_written_and_read_in_chunks_and_reads_format_3(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of rows (here of 5) read back as every row; a format-3 file (one image)
    written before is read as it is; a chunk cut short is a cache to rebuild."""
    import marshal

    cache = engine.layout.state_dir / "headers.marshal"
    rows = header_cache.HeaderCache(cache).rows()
    assert len(rows) > 10
    monkeypatch.setattr(header_cache, "_CHUNK_ROWS", 5)
    with open(cache, "wb") as stream:
        header_cache._dump(rows, stream)
    assert cache.read_bytes().startswith(header_cache._CHUNKED)
    assert header_cache.HeaderCache(cache).rows() == rows

    cache.write_bytes(marshal.dumps({"format": 3, "rows": rows}))
    assert header_cache.HeaderCache(cache).rows() == rows

    with open(cache, "wb") as stream:
        header_cache._dump(rows, stream)
    cache.write_bytes(cache.read_bytes()[:-3])
    assert header_cache.HeaderCache(cache).rows() == {}
    monkeypatch.undo()
    assert engine.update_repos().nothing_to_do  # a settled tree needs no header at all

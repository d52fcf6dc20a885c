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

"""Headers read on every core give exactly what one process reads, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest

from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine import header_reader
from updraft.engine.package import BadPackage, UnsafeHeader


def test_the_pool_reads_what_one_process_reads(
    tmp_path: Path,
    clamav_old: BuiltFamily,
    clamav_new: BuiltFamily,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    garbage = tmp_path / "garbage.rpm"
    garbage.write_bytes(b"not an rpm" * 100)
    truncated = tmp_path / "truncated.rpm"
    whole = clamav_new.files()[0].read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    paths = [*clamav_old.files(), garbage, *clamav_new.files(), truncated] * 3
    alone = header_reader.read_all(paths, workers=1)
    monkeypatch.setattr(header_reader, "POOL_THRESHOLD", 1)
    monkeypatch.setattr(header_reader, "_CHUNK", 2)  # several chunks, reassembled in order
    pooled = header_reader.read_all(paths, workers=2)
    assert [type(o) for o in pooled] == [type(o) for o in alone]
    assert [str(o) if isinstance(o, BadPackage) else o for o in pooled] == [
        str(o) if isinstance(o, BadPackage) else o for o in alone
    ]
    assert sum(isinstance(o, BadPackage) for o in pooled) == 6
    assert not any(isinstance(o, UnsafeHeader) for o in pooled)
    assert {o.name for o in pooled if not isinstance(o, BadPackage)} == {
        "clamav",
        "clamav-db",
        "clamd",
    }

"""A publish keeps the arch dir's listing from the files it handed createrepo_c, without
parsing the primary.xml it wrote (issue 20: ~40 ms per 4,000 packages on every publish),
only when the primary lists as many packages and none changed during the run; else it
reads the primary as before, so the listing is always what the repodata lists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from updraft.engine import listing, repodata
from updraft.engine.action import Touched
from updraft.engine.engine import Engine
from updraft.engine.listing import Listings, read_primary

TARGET = Touched("9", "smetest", "i386")


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    parsed: list[Path] = []
    parse = listing.parse_primary

    def counting(primary: listing.PrimaryFile) -> dict[str, listing.PrimaryEntry]:
        parsed.append(primary.path)
        return parse(primary)

    monkeypatch.setattr(listing, "parse_primary", counting)
    return parsed


def _repo_dir(engine: Engine) -> Path:
    return engine.layout.repodata_dir(TARGET.release, TARGET.repo, TARGET.archdir)


def _listed(engine: Engine) -> dict[str, tuple[int, int]]:
    repo_dir = _repo_dir(engine)
    return {href: (entry.size, entry.mtime)
            for href, entry in (read_primary(repo_dir) or {}).items()}


def test_a_publish_lists_what_it_handed_without_parsing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed = _parses(monkeypatch)

    engine.repodata.publish(TARGET)

    recorded = Listings(engine.layout).recorded(TARGET)
    assert not parsed
    assert recorded is not None and recorded.files and recorded.files == _listed(engine)


def test_a_file_createrepo_c_cannot_read_is_not_listed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """createrepo_c skips an unreadable package and exits 0: the count tells."""
    junk = _repo_dir(engine) / "RPMS" / "junk-1-1.i386.rpm"
    junk.write_bytes(b"not an rpm")
    parsed = _parses(monkeypatch)

    engine.repodata.publish(TARGET)

    recorded = Listings(engine.layout).recorded(TARGET)
    assert parsed and recorded is not None
    assert "RPMS/junk-1-1.i386.rpm" not in recorded.files
    assert recorded.files == _listed(engine)


def test_a_file_changed_while_createrepo_c_ran_is_read_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_dir = _repo_dir(engine)
    victim = next((repo_dir / "RPMS").glob("*.rpm"))
    rebuild = repodata.rebuild

    def then_touched(*args, **kwargs) -> None:
        rebuild(*args, **kwargs)
        status = victim.stat()
        os.utime(victim, ns=(status.st_atime_ns, status.st_mtime_ns + 5 * 10**9))

    monkeypatch.setattr(repodata, "rebuild", then_touched)
    parsed = _parses(monkeypatch)

    engine.repodata.publish(TARGET)

    recorded = Listings(engine.layout).recorded(TARGET)
    assert parsed and recorded is not None
    assert recorded.files == _listed(engine)  # the old mtime, as createrepo_c saw it
    assert recorded.files[f"RPMS/{victim.name}"][1] != victim.stat().st_mtime_ns // 10**9

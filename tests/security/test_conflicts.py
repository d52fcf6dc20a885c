"""Nothing is silently destroyed: one NEVRA with two builds is held and reported, apply
never replaces a different file, quarantine never overwrites."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.tree_hostile import primary_hrefs, snapshot
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.ledger import Ledger

pytestmark = pytest.mark.timeout(120)


def _rebuild(spec: treekit.rpmfactory.FamilySpec, store: Path) -> BuiltFamily:
    """The same name-version-release built again elsewhere: other bytes, other header."""
    return treekit.build(dataclasses.replace(spec, summary="Rebuilt by someone else"), store)


@pytest.fixture(scope="module")
def rebuilt_new(tmp_path_factory: pytest.TempPathFactory) -> BuiltFamily:
    return _rebuild(treekit.clamav("0.97.6", "1"), tmp_path_factory.mktemp("rebuilt-new"))


@pytest.fixture(scope="module")
def rebuilt_old(tmp_path_factory: pytest.TempPathFactory) -> BuiltFamily:
    return _rebuild(treekit.clamav("0.97.5", "2"), tmp_path_factory.mktemp("rebuilt-old"))


def _repos(engine: Engine, *repos: str) -> dict[str, str]:
    found = {}
    for repo in repos:
        top = engine.layout.root / "9" / repo
        found.update({f"{repo}/{k}": v for k, v in snapshot(top).items() if "repodata" not in k})
    return found


def _families_recorded(engine: Engine, name: str) -> list:
    ledger = Ledger.open(engine.layout.ledger_url)
    try:
        return [row for row in ledger.history(name, "9") if "0.97.6" in str(row)]
    finally:
        ledger.close()


def test_one_nevra_two_builds_in_two_repos_is_held_both_kept(
        engine: Engine, rebuilt_new: BuiltFamily) -> None:
    treekit.place(engine.layout, "9", "smeupdates-testing", rebuilt_new)
    before = _repos(engine, "smetest", "smeupdates-testing")
    recorded = _families_recorded(engine, "clamav")

    result = engine.update_repos()
    again = engine.update_repos()

    assert _repos(engine, "smetest", "smeupdates-testing") == before  # both builds kept
    assert not [a for a in result.plan.actions if a.family == "clamav" and "0.97.6" in
                a.family_evr]
    conflicts = [line for line in result.report.splitlines() if "content conflict" in line]
    assert conflicts and "clamav-0.97.6-1.rf.src.rpm" in result.report
    line = next(c for c in conflicts if "clamav-0.97.6-1.el4.rf.i386.rpm" in c)
    assert "9/smetest/i386/RPMS/" in line and "9/smeupdates-testing/i386/RPMS/" in line
    assert line.count("header sha256") == 2
    assert "content conflict" in again.report  # said again every cycle until resolved
    assert _families_recorded(engine, "clamav") == recorded

    # Removing the wrong build lets the family move again.
    for path in (engine.layout.root / "9" / "smeupdates-testing").rglob("*0.97.6*"):
        path.unlink()
    resolved = engine.update_repos()
    assert resolved.ok and "content conflict" not in resolved.report


@pytest.mark.unhealthy_tree("a content conflict is held and reported until resolved")
def test_a_hardlinked_copy_with_one_side_replaced_is_a_conflict_not_ignored(
        engine: Engine, rebuilt_old: BuiltFamily) -> None:
    root = engine.layout.root
    name = "clamav-0.97.5-2.el4.rf.i386.rpm"  # the summary differs: another header
    source = root / "9/smeupdates-testing/i386/RPMS" / name
    staged = root / "stage/9/i386/Packages" / name
    assert os.path.samefile(source, staged)  # the engine hardlinks the stage
    replacement = next(p for p in rebuilt_old.binaries if p.name == name)
    source.unlink()  # rsync-style: a new inode, the stage keeps the old bytes
    shutil.copy(replacement, source)
    stage_bytes, source_bytes = staged.read_bytes(), source.read_bytes()

    result = engine.update_repos()

    assert staged.read_bytes() == stage_bytes and source.read_bytes() == source_bytes
    line = next(line for line in result.report.splitlines() if "content conflict" in line)
    assert name in line and "stage/9/i386/Packages" in line


@pytest.mark.unhealthy_tree("a content conflict is held and reported until resolved")
def test_a_misnamed_file_of_another_build_is_not_deleted_as_a_duplicate(
        engine: Engine, rebuilt_new: BuiltFamily) -> None:
    rpms = engine.layout.binary_dir("9", "smetest", "i386")
    other = next(p for p in rebuilt_new.binaries
                 if p.name == "clamav-0.97.6-1.el4.rf.i386.rpm")
    misnamed = rpms / "clamav-fixed.rpm"  # its header says clamav-0.97.6-1.el4.rf.i386
    shutil.copy(other, misnamed)
    before = _repos(engine, "smetest")

    result = engine.update_repos()

    assert misnamed.read_bytes() == other.read_bytes()
    assert _repos(engine, "smetest") == before
    assert any("content conflict" in line and "clamav-fixed.rpm" in line
               for line in result.report.splitlines())


@pytest.mark.unhealthy_tree("another file at the destination: the family stays unapplied")
def test_apply_never_replaces_a_different_file_at_the_destination(engine: Engine) -> None:
    root = engine.layout.root
    good = root / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm"
    destination = root / "9/smeupdates-testing/x86_64/RPMS" / good.name
    destination.write_bytes(good.read_bytes()[:-500])  # someone's copy, still under way
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    smetest = _repos(engine, "smetest")

    result = engine.update_repos()

    assert destination.read_bytes() == good.read_bytes()[:-500]  # not clobbered
    assert good.exists() and _repos(engine, "smetest") == smetest  # nothing lost
    assert len(result.failures) == 1
    assert "different file of this name is already there" in result.failures[0]
    assert str(destination.relative_to(root)) in result.failures[0]


def test_two_bad_files_of_one_name_in_two_arch_dirs_are_both_quarantined(
        engine: Engine) -> None:
    layout = engine.layout
    empty = layout.binary_dir("9", "smetest", "i386") / "x.rpm"
    junk = layout.binary_dir("9", "smetest", "x86_64") / "x.rpm"
    empty.write_bytes(b"")  # a zero-byte package
    junk.write_bytes(b"junk")
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), layout.root)

    result = engine.update_repos()

    quarantine = layout.quarantine_dir("9") / "smetest"
    assert (quarantine / "i386" / "x.rpm").read_bytes() == b""
    assert (quarantine / "x86_64" / "x.rpm").read_bytes() == b"junk"
    assert not empty.exists() and not junk.exists()
    assert result.report.count("quarantine from smetest") == 2
    for archdir in ("i386", "x86_64"):
        hrefs = primary_hrefs(layout.repodata_dir("9", "smetest", archdir))
        assert "RPMS/x.rpm" not in hrefs and hrefs


def test_quarantine_never_overwrites_an_earlier_quarantined_file(engine: Engine) -> None:
    layout = engine.layout
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), layout.root)
    bad = layout.binary_dir("9", "smetest", "i386") / "x.rpm"
    bad.write_bytes(b"first")
    engine.update_repos()
    bad.write_bytes(b"second")  # next week, the same mistake

    engine.update_repos()

    kept = layout.quarantine_dir("9") / "smetest" / "i386"
    assert {p.name: p.read_bytes() for p in kept.iterdir() if not p.name.endswith(".reason")} \
        == {"x.rpm": b"first", "x.rpm.2": b"second"}
    assert (kept / "x.rpm.2.reason").exists() and (kept / "x.rpm.reason").exists()

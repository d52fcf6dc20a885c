"""Hostile trees: links, odd entries and odd names never reach repodata unchecked, and
whatever is refused is moved aside (the link itself, never its target) and reported."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.tree_hostile import force_publish, primary_hrefs, snapshot, weird_arch_rpm
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine

pytestmark = pytest.mark.timeout(120)

CLAMD_NEW = "clamd-0.97.6-1.el4.rf.i386.rpm"


def _outside(tmp_path: Path, clamav_old: BuiltFamily) -> Path:
    """A directory outside the tree holding a package nobody approved."""
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in clamav_old.binaries:
        if ".i386." in path.name:
            shutil.copy(path, outside / path.name)
    return outside


def _quarantined(engine: Engine, repo: str, where: str, name: str) -> Path:
    return engine.layout.quarantine_dir("9") / repo / where / name


def test_an_rpm_symlink_out_of_the_tree_is_quarantined_not_published(
        engine: Engine, tmp_path: Path, clamav_old: BuiltFamily) -> None:
    outside = _outside(tmp_path, clamav_old)
    before = snapshot(outside)
    rpms = engine.layout.binary_dir("9", "smetest", "i386")
    link = rpms / "evil.rpm"
    link.symlink_to(outside / "clamd-0.97.5-2.el4.rf.i386.rpm")
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert not os.path.lexists(link)
    kept = _quarantined(engine, "smetest", "i386", "evil.rpm")
    assert kept.is_symlink()  # the link itself was moved aside
    assert snapshot(outside) == before  # its target untouched
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smetest", "i386"))
    assert hrefs == sorted(f"RPMS/{n}" for n in os.listdir(rpms))
    assert "RPMS/evil.rpm" not in hrefs and f"RPMS/{CLAMD_NEW}" in hrefs
    assert "symbolic link" in result.report and "evil.rpm" in result.report


def test_a_symlinked_directory_inside_a_repo_is_quarantined_not_published(
        engine: Engine, tmp_path: Path, clamav_old: BuiltFamily) -> None:
    outside = _outside(tmp_path, clamav_old)
    before = snapshot(outside)
    link = engine.layout.binary_dir("9", "smetest", "i386") / "extra"
    link.symlink_to(outside, target_is_directory=True)
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert result.ok and not os.path.lexists(link)
    assert _quarantined(engine, "smetest", "i386", "extra").is_symlink()
    assert snapshot(outside) == before
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smetest", "i386"))
    assert not any("extra" in href or "0.97.5" in href for href in hrefs)


def test_an_arch_dir_that_is_a_link_out_of_the_tree_gets_nothing_written_through_it(
        engine: Engine, tmp_path: Path, clamav_old: BuiltFamily) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "RPMS").mkdir(parents=True)
    for path in clamav_old.binaries:
        if ".i386." in path.name:
            shutil.copy(path, outside / "RPMS" / path.name)
    before = snapshot(outside)
    archdir = engine.layout.repodata_dir("9", "smeextras", "i386")
    shutil.rmtree(archdir)
    archdir.symlink_to(outside, target_is_directory=True)

    result = engine.update_repos()

    assert snapshot(outside) == before  # no repodata, no package written there
    assert not (outside / "repodata").exists()
    assert _quarantined(engine, "smeextras", "stray", "i386").is_symlink()
    assert archdir.is_dir() and not archdir.is_symlink()  # made afresh by the next cycle
    engine.update_repos()
    assert (engine.layout.binary_dir("9", "smeextras", "i386")).is_dir()
    assert "symbolic link" in result.report


@pytest.mark.unhealthy_tree("the bad file stays while its quarantine is a link")
def test_a_link_in_the_quarantine_path_is_never_written_through(
        engine: Engine, tmp_path: Path) -> None:
    outside = tmp_path / "stolen"
    outside.mkdir()
    quarantine = engine.layout.quarantine_dir("9") / "smetest"
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    quarantine.symlink_to(outside, target_is_directory=True)
    bad = engine.layout.binary_dir("9", "smetest", "i386") / "broken-1-1.i386.rpm"
    bad.write_text("not a package\n")
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), engine.layout.root)

    result = engine.update_repos()

    assert list(outside.iterdir()) == []
    assert bad.read_text() == "not a package\n"  # nothing lost: it stays until fixed
    assert len(result.failures) == 1 and "resolves outside" in result.failures[0]


@pytest.mark.parametrize("name", [".clamd.rpm", "..rpm", "%2e%2e.rpm"])
def test_a_hidden_rpm_is_checked_like_any_file_never_published_as_is(
        engine: Engine, name: str) -> None:
    rpms = engine.layout.binary_dir("9", "smetest", "i386")
    hidden = rpms / name
    hidden.write_bytes(b"\xed\xab\xee\xdb not really")  # createrepo_c would publish it
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), engine.layout.root)
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert not hidden.exists()
    kept = _quarantined(engine, "smetest", "i386", name.replace("%", "_"))
    assert kept.read_bytes().endswith(b"not really")
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smetest", "i386"))
    assert f"RPMS/{name}" not in hrefs and f"RPMS/{CLAMD_NEW}" in hrefs
    assert name in result.report


def test_a_fifo_named_like_a_package_neither_blocks_nor_stays(engine: Engine) -> None:
    fifo = engine.layout.binary_dir("9", "smetest", "i386") / "x.rpm"
    os.mkfifo(fifo)

    result = engine.update_repos()  # a reader opening the FIFO would block for ever

    assert not os.path.lexists(fifo)
    kept = _quarantined(engine, "smetest", "i386", "x.rpm")
    assert stat.S_ISFIFO(os.lstat(kept).st_mode)
    assert "not a regular file" in result.report


def test_a_directory_named_like_a_package_is_set_aside(engine: Engine,
                                                       clamav_old: BuiltFamily) -> None:
    directory = engine.layout.binary_dir("9", "smetest", "i386") / "x.rpm"
    directory.mkdir()
    shutil.copy(clamav_old.binaries[0], directory)

    result = engine.update_repos()

    assert not directory.exists()
    kept = _quarantined(engine, "smetest", "i386", "x.rpm")
    assert (kept / clamav_old.binaries[0].name).is_file()  # moved whole, nothing lost
    assert "directory named like a package" in result.report


def test_a_file_name_with_a_newline_is_quarantined_and_shown_safely(engine: Engine) -> None:
    rpms = engine.layout.binary_dir("9", "smetest", "i386")
    odd = rpms / "fake.rpm\nquarantine from smeos (all good).rpm"
    shutil.copy(rpms / CLAMD_NEW, odd)
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert not os.path.lexists(odd)
    kept = _quarantined(engine, "smetest", "i386",
                        "fake.rpm_quarantine_from_smeos__all_good_.rpm")
    assert kept.read_bytes() == (rpms / CLAMD_NEW).read_bytes()
    assert not any(line.startswith("quarantine from smeos") for line in result.report.splitlines())
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smetest", "i386"))
    assert not any("\n" in href for href in hrefs)


@pytest.mark.parametrize("arch", ["../../smeos", "i386/../../../smeos"])
def test_a_header_arch_with_a_path_is_quarantined_never_placed(
        engine: Engine, tmp_path: Path, arch: str) -> None:
    package = weird_arch_rpm(tmp_path, arch)
    rpms = engine.layout.binary_dir("9", "smetest", "i386")
    shutil.copy(package, rpms / "weird-1-1.i386.rpm")
    smeos = snapshot(engine.layout.root / "9" / "smeos")
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert not (rpms / "weird-1-1.i386.rpm").exists()
    kept = _quarantined(engine, "smetest", "i386", "weird-1-1.i386.rpm")
    assert kept.read_bytes() == package.read_bytes()
    assert snapshot(engine.layout.root / "9" / "smeos") == smeos
    assert not list(engine.layout.root.parent.glob("**/smeos*.rpm"))
    assert "header arch" in result.report
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smetest", "i386"))
    assert not any("weird" in href for href in hrefs)


@pytest.mark.parametrize("field,value", [
    ("sourcerpm", "../../smeos/clamav-1-1.src.rpm"), ("sourcerpm", "/etc/x.src.rpm"),
    ("name", ".."), ("release", "1\n2"), ("version", "")])
def test_header_fields_that_would_be_paths_make_a_bad_package(field: str, value: str) -> None:
    from updraft.engine.package import BadPackage, PackageFacts, checked_facts

    facts = {"name": "clamav", "epoch": None, "version": "1", "release": "1",
             "arch": "i386", "sourcerpm": "clamav-1-1.src.rpm", field: value}
    with pytest.raises(BadPackage, match=f"header {field}"):
        checked_facts(PackageFacts(**facts))


def test_a_link_in_the_state_dir_stops_the_cycle_in_one_line(
        engine: Engine, tmp_path: Path) -> None:
    outside = tmp_path / "cron.d"
    outside.mkdir()
    journal = engine.layout.state_dir / "journal"
    shutil.rmtree(journal)
    journal.symlink_to(outside, target_is_directory=True)
    shutil.copy(engine.layout.binary_dir("9", "smetest", "i386") / CLAMD_NEW,
                engine.layout.root / "9" / "smeupdates-testing")
    before = snapshot(engine.layout.root / "9")

    done = treekit.run_cli("--root", str(engine.layout.root), "update-repos")

    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "symbolic link" in done.stderr
    assert str(journal) in done.stderr
    assert list(outside.iterdir()) == []  # no journal written through the link
    assert snapshot(engine.layout.root / "9") == before


@pytest.mark.unhealthy_tree("an arch dir made a link: its publish is refused")
def test_publishing_never_runs_createrepo_through_a_linked_arch_dir(
        engine: Engine, tmp_path: Path, clamav_old: BuiltFamily) -> None:
    from updraft.engine.action import Touched

    outside = tmp_path / "elsewhere"
    (outside / "RPMS").mkdir(parents=True)
    shutil.copy(clamav_old.binaries[0], outside / "RPMS")
    before = snapshot(outside)
    archdir = engine.layout.repodata_dir("9", "smeaddons", "i386")
    shutil.rmtree(archdir)
    archdir.symlink_to(outside, target_is_directory=True)  # after apply, before publish

    with pytest.raises(Exception, match="outside|symbolic link"):
        engine.publish([Touched("9", "smeaddons", "i386")])

    assert snapshot(outside) == before and not (outside / "repodata").exists()


def test_a_link_in_frozen_smeos_is_set_aside_too(engine: Engine, tmp_path: Path,
                                                clamav_old: BuiltFamily) -> None:
    outside = _outside(tmp_path, clamav_old)
    before = snapshot(outside)
    link = engine.layout.binary_dir("9", "smeos", "i386") / "extra.rpm"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside / "clamd-0.97.5-2.el4.rf.i386.rpm")

    result = engine.update_repos()

    assert not os.path.lexists(link) and snapshot(outside) == before
    assert _quarantined(engine, "smeos", "i386", "extra.rpm").is_symlink()
    hrefs = primary_hrefs(engine.layout.repodata_dir("9", "smeos", "i386"))
    assert "RPMS/extra.rpm" not in hrefs
    assert "symbolic link" in result.report

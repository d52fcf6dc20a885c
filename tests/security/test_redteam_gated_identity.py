"""Red team: a gated repo's admitted list names paths; the bytes at a path must be the
ones admitted. A packager (who owns the files they once `cp`-ed) rewrites an admitted
file of smeupdates in place, or renames another build onto an admitted name: without a
Go, nothing of it may reach smeupdates' repodata."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit import rpmfactory
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine

OLD_I386 = "clamav-0.97.5-2.el4.rf.i386.rpm"
NEW_I386 = "clamav-0.97.6-1.el4.rf.i386.rpm"


@pytest.fixture(scope="session")
def trojaned(rpm_store: Path) -> BuiltFamily:
    """clamav-0.97.5-2 again, another build (same NEVRA, other bytes)."""
    spec = dataclasses.replace(treekit.clamav("0.97.5", "2"), summary="Trojaned anti-virus")
    return treekit.build(spec, rpm_store / "trojaned")


@pytest.fixture(scope="session")
def grafted(rpm_store: Path) -> BuiltFamily:
    """clamav-0.97.5-2 rebuilt with one more subpackage: a binary claiming the admitted
    family's SRPM, never admitted anywhere."""
    base = treekit.clamav("0.97.5", "2")
    spec = dataclasses.replace(base, subpackages=(*base.subpackages,
                                                  rpmfactory.Subpackage("clamav-backdoor")))
    return treekit.build(spec, rpm_store / "grafted", arches=("i386",))


@pytest.fixture
def admitted(tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily) -> Engine:
    """smeupdates holds clamav-0.97.5-2 (admitted at first sight); 0.97.6-1 in smetest."""
    engine = Engine(treekit.sme_config(), tmp_path / "tree")
    treekit.place(engine.layout, "9", "smeupdates", clamav_old)
    treekit.place(engine.layout, "9", "smetest", clamav_new)
    assert engine.update_repos().ok
    return engine


def _overwrite_keeping_stat(source: Path, target: Path) -> None:
    """What `cat other > admitted; touch -r` does: same inode, other bytes, old mtime."""
    before = target.stat()
    with open(target, "r+b") as stream:
        stream.truncate(0)
        stream.write(source.read_bytes())
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.unhealthy_tree("the hostile build is held where it lies: a person removes it")
def test_another_nevra_written_over_an_admitted_name_is_not_published(
        admitted: Engine) -> None:
    root = admitted.layout.root
    target = root / "9/smeupdates/i386/RPMS" / OLD_I386
    _overwrite_keeping_stat(root / "9/smetest/i386/RPMS" / NEW_I386, target)

    result = admitted.update_repos()

    assert result.ok
    hrefs = treekit.repo_hrefs(root / "9/smeupdates/i386")
    assert not any("0.97.6" in href for href in hrefs), hrefs
    assert not list((root / "9/smeupdates").rglob("clamav-0.97.6*"))
    assert "waits for a Go" in result.report


@pytest.mark.unhealthy_tree("the hostile build is held where it lies: a person removes it")
def test_a_rebuilt_same_nevra_written_in_place_is_not_published(
        admitted: Engine, trojaned: BuiltFamily, clamav_old: BuiltFamily) -> None:
    """Same inode, same size and mtime (`touch -r`): only the ctime tells."""
    root = admitted.layout.root
    target = root / "9/smeupdates/i386/RPMS" / OLD_I386
    [evil] = [p for p in trojaned.files() if p.name == OLD_I386]
    _overwrite_keeping_stat(evil, target)

    result = admitted.update_repos()

    assert result.ok, result.failures
    published = root / "9/smeupdates/i386/RPMS" / OLD_I386
    assert not published.exists() or published.read_bytes() != evil.read_bytes()
    _published_bytes_are_genuine(root, root / "9/smeupdates/i386", clamav_old)
    assert "waits for a Go" in result.report
    assert "waits for a Go" in result.report


@pytest.mark.unhealthy_tree("the hostile build is held where it lies: a person removes it")
def test_another_build_renamed_onto_an_admitted_name_is_not_published(
        admitted: Engine, trojaned: BuiltFamily, clamav_old: BuiltFamily) -> None:
    """The packager swaps the admitted name for another build by `mv` (a new inode
    under the admitted name): held, and the family completed from the genuine copy."""
    root = admitted.layout.root
    [evil] = [p for p in trojaned.files() if p.name == OLD_I386]
    staged = root / "9/smeupdates/i386/RPMS/.incoming"
    shutil.copy(evil, staged)
    os.replace(staged, root / "9/smeupdates/i386/RPMS" / OLD_I386)

    result = admitted.update_repos()

    assert result.ok, result.failures
    published = root / "9/smeupdates/i386/RPMS" / OLD_I386
    assert not published.exists() or published.read_bytes() != evil.read_bytes()
    _published_bytes_are_genuine(root, root / "9/smeupdates/i386", clamav_old)
    assert "waits for a Go" in result.report


def _published_bytes_are_genuine(root: Path, repo_dir: Path, genuine: BuiltFamily) -> None:
    """Every package smeupdates' repodata lists is on disk with the listed checksum, and
    is the genuine build's file."""
    import hashlib

    import createrepo_c as cr

    metadata = cr.Metadata()
    metadata.locate_and_load_xml(str(repo_dir))
    builds = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in genuine.files()}
    for key in metadata.keys():
        package = metadata.get(key)
        on_disk = hashlib.sha256((repo_dir / package.location_href).read_bytes()).hexdigest()
        assert on_disk == package.pkgId == builds[Path(package.location_href).name]


@pytest.mark.unhealthy_tree("the hostile build is held where it lies: a person removes it")
def test_a_binary_grafted_onto_an_admitted_family_below_is_not_pulled_up(
        admitted: Engine, grafted: BuiltFamily, clamav_old: BuiltFamily) -> None:
    """A `cp` into ungated smeupdates-testing of a new binary of the family smeupdates
    holds: the engine's pull-up must not carry it into smeupdates without a Go."""
    root = admitted.layout.root
    [graft] = [p for p in grafted.files() if p.name.startswith("clamav-backdoor")]
    shutil.copy(graft, root / "9/smeupdates-testing/")

    result = admitted.update_repos()

    assert result.ok, result.failures
    assert not list((root / "9/smeupdates").rglob("clamav-backdoor*"))
    assert not any("backdoor" in href for href in treekit.repo_hrefs(root / "9/smeupdates/i386"))
    _published_bytes_are_genuine(root, root / "9/smeupdates/i386", clamav_old)
    assert list((root / "9/smeupdates-testing").rglob("clamav-backdoor*"))  # nothing lost


PACKAGER = 4242  # a uid that is not the engine's


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file another user's needs root")
def test_a_packagers_cp_promoted_with_a_go_is_no_longer_theirs(engine: Engine) -> None:
    """A hard link keeps the packager the owner of the published inode (smeupdates and
    the stage alike), free to rewrite it in place at any time: the engine places a copy
    of its own, writable by nobody else."""
    from updraft.engine.promote import Promotion

    root = engine.layout.root
    cp = root / "9/smeupdates-testing" / NEW_I386
    shutil.copy(root / "9/smetest/i386/RPMS" / NEW_I386, cp)
    os.chown(cp, PACKAGER, PACKAGER)
    os.chmod(cp, 0o664)
    (root / "9/smetest/i386/RPMS" / NEW_I386).unlink()  # the packager's copy is the one

    promotion = Promotion(engine.layout, "clamav-0.97.6-1.el4.rf", "smeupdates", "9")
    result = engine.update_repos(intents=promotion, grant=True)

    assert result.ok, result.failures
    placed = [root / "9/smeupdates/i386/RPMS" / NEW_I386, root / "stage/9/i386/Packages" / NEW_I386]
    for path in placed:
        info = path.stat()
        assert (info.st_uid, info.st_mode & 0o022) == (os.geteuid(), 0), path
    assert f"RPMS/{NEW_I386}" in treekit.repo_hrefs(root / "9/smeupdates/i386")


def test_a_touch_or_chmod_of_an_admitted_file_holds_nothing(admitted: Engine) -> None:
    """The ctime moves, the build does not: read again, still admitted."""
    root = admitted.layout.root
    target = root / "9/smeupdates/i386/RPMS" / OLD_I386
    target.touch()
    target.chmod(0o644)

    result = admitted.update_repos()

    assert result.ok and "held" not in result.report
    assert target.is_file()
    assert f"RPMS/{OLD_I386}" in treekit.repo_hrefs(root / "9/smeupdates/i386")

"""Preflight catches each broken input of seed 002, and reports them all at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits import isokit
from tests.kits.signing import SigningKey
from updraft.iso.preflight import PreflightReport, normalised, preflight
from updraft.iso.stage import compose
from updraft.iso.target import IsoTarget

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def target(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> IsoTarget:
    engine = isokit.tree(tmp_path, iso_files, iso_key)
    target = isokit.target(engine)
    compose(target)
    return target


def _checks(report: PreflightReport) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report.problems:
        found.setdefault(finding.check, []).append(finding.message)
    return found


def test_a_good_stage_passes(target: IsoTarget) -> None:
    report = preflight(target)
    assert report.ok, report.lines()
    assert report.final


def test_a_release_package_not_bumped(target: IsoTarget, iso_files: isokit.IsoFiles) -> None:
    packages = target.packages_dir(isokit.ARCH)
    for path in packages.glob("smeserver-release-*"):
        path.unlink()
    for path in target.sources_dir.glob("smeserver-release-*"):
        path.unlink()
    for path in iso_files.release_old:
        shutil.copy(path, target.sources_dir if ".src." in path.name else packages)
    problems = _checks(preflight(target))["release package"]
    assert any("displayversion 10.0, the ISO is 10.1" in p for p in problems)
    assert any("smeserver-release-10.0-1 is not newer than the previous ISO's" in p
               for p in problems)
    assert any("displayversion 10.0 is the same" in p for p in problems)


def test_isfinal_false_on_a_final_build(target: IsoTarget) -> None:
    stamp = target.arch_tree(isokit.ARCH) / "product" / ".buildstamp"
    stamp.write_text(stamp.read_text().replace("IsFinal=True", "IsFinal=False"))
    assert _checks(preflight(target))["buildstamp"] == [
        f"{stamp}: IsFinal=False on the final build 10.1: set IsFinal=True"]


def test_isfinal_false_is_fine_for_a_release_candidate(
        tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> None:
    engine = isokit.tree(tmp_path, iso_files, iso_key)
    target = isokit.target(engine, "10.1rc1")
    compose(target)
    stamp = target.arch_tree(isokit.ARCH) / "product" / ".buildstamp"
    stamp.write_text(stamp.read_text().replace("IsFinal=True", "IsFinal=False")
                     .replace("Version=10.1", "Version=10.1rc1"))
    report = preflight(target)
    assert not target.final
    assert "buildstamp" not in _checks(report)


def test_a_wrong_menu_title(target: IsoTarget) -> None:
    cfg = target.arch_tree(isokit.ARCH) / "isolinux" / "isolinux.cfg"
    cfg.write_text(cfg.read_text().replace("SME Server 10.1", "SME Server 10.0"))
    problems = _checks(preflight(target))["menu title"]
    assert problems and "menu title Welcome to SME Server 10.0" in problems[0]


def test_a_stale_release_file(target: IsoTarget) -> None:
    release = target.arch_tree(isokit.ARCH) / "product" / "etc" / "e-smith-release"
    release.write_text("SME Server release 10.0\n")
    assert _checks(preflight(target))["release files"] == [
        f"{release}: does not carry 10.1 (it says 10.0)"]


def test_an_unsigned_package(target: IsoTarget, iso_files: isokit.IsoFiles) -> None:
    unsigned = next(p for p in iso_files.unsigned if p.name.endswith(".noarch.rpm"))
    shutil.copy(unsigned, target.packages_dir(isokit.ARCH))
    problems = _checks(preflight(target))["signatures"]
    assert len(problems) == 1 and problems[0].startswith(unsigned.name)


def test_a_broken_dependency(target: IsoTarget, iso_files: isokit.IsoFiles) -> None:
    broken = next(p for p in iso_files.broken if p.name.endswith(".noarch.rpm"))
    shutil.copy(broken, target.packages_dir(isokit.ARCH))
    assert _checks(preflight(target))["dependencies"] == [
        "x86_64: e-smith-broken-1.0-1.el7.sme.noarch requires libnothere"]


def test_every_problem_is_reported_at_once(target: IsoTarget, iso_files: isokit.IsoFiles) -> None:
    tree = target.arch_tree(isokit.ARCH)
    stamp = tree / "product" / ".buildstamp"
    stamp.write_text(stamp.read_text().replace("IsFinal=True", "IsFinal=False"))
    (tree / "isolinux" / "isolinux.cfg").write_text("menu title Welcome\n")
    for path in iso_files.broken + iso_files.unsigned:
        if not path.name.endswith(".src.rpm"):
            shutil.copy(path, target.packages_dir(isokit.ARCH))
    report = preflight(target)
    assert set(_checks(report)) == {"buildstamp", "menu title", "signatures", "dependencies"}
    assert report.lines()[0].startswith("preflight of 10.1 (final): 4 problems")


def test_unverified_packages_in_smeupdates_testing(target: IsoTarget) -> None:
    waiting = target.layout.binary_dir("10", "smeupdates-testing", isokit.ARCH)
    name = next(waiting.glob("*.rpm")).name
    report = preflight(target, verified={})
    problems = _checks(report)["verification"]
    assert len(problems) == 1 and name in problems[0] and "(no state)" in problems[0]
    assert "ALL RPMS MUST BE VERIFIED" in problems[0]


def test_an_unverified_package_only_warns_a_beta(
        tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> None:
    engine = isokit.tree(tmp_path, iso_files, iso_key)
    target = isokit.target(engine, "10.1beta1")
    compose(target)
    report = preflight(target, verified={})
    assert "verification" not in _checks(report)
    assert any(f.check == "verification" and not f.fatal for f in report.findings)


def test_versions_compare_as_written_on_screens() -> None:
    assert normalised("Welcome to SME Server 10.1 RC1").endswith(normalised("10.1rc1"))

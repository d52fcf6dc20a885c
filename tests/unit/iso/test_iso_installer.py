"""The installer is rebuilt only when anaconda or the cdrom.image content changed."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from tests.kits import isokit
from tests.kits.signing import SigningKey
from updraft.engine.engine import Engine
from updraft.iso.run import IsoRun
from updraft.ledger.isos import iso_steps

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def run(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> IsoRun:
    return isokit.staged(tmp_path, iso_files, iso_key)


def _build(run: IsoRun) -> list[bool]:
    decisions = run.installer_decisions()
    run.build_installer(decisions, lambda line: None)
    return [decision.rebuild for decision in decisions]


def _cdrom(engine: Engine) -> Path:
    return engine.layout.root.parent / "cdrom.image" / "sme10"


def test_the_first_build_makes_the_installer_then_it_is_skipped(run: IsoRun) -> None:
    assert _build(run) == [True]
    product = run.target.arch_tree(isokit.ARCH) / "images" / "product.img"
    made = product.stat().st_mtime_ns
    assert run.installer_decisions()[0].reason.startswith("anaconda and cdrom.image unchanged")
    assert _build(run) == [False]
    assert product.stat().st_mtime_ns == made
    outcomes = [(r.step, r.outcome) for r in iso_steps(run.engine.layout.ledger_url, "10")]
    assert ("installer:x86_64", "done") in outcomes
    assert ("installer:x86_64", "skipped") in outcomes


def test_new_cdrom_image_content_rebuilds_it(run: IsoRun) -> None:
    _build(run)
    (_cdrom(run.engine) / "product" / "etc" / "e-smith-release").write_text("10.1 patched\n")
    decision = run.installer_decisions()[0]
    assert decision.rebuild and "cdrom.image" in decision.reason
    assert _build(run) == [True]
    assert _build(run) == [False]


def test_a_new_release_note_alone_does_not(run: IsoRun) -> None:
    _build(run)
    (_cdrom(run.engine) / "README.txt").write_text("Release notes, second draft\n")
    assert _build(run) == [False]


def test_a_new_anaconda_rebuilds_it(run: IsoRun, iso_files: isokit.IsoFiles) -> None:
    _build(run)
    isokit.place(run.engine.layout, "10.0", "smeextras", iso_files.anaconda_new)
    decision = run.installer_decisions()[0]
    assert decision.rebuild and "anaconda-21.48.22.160" in decision.reason


def test_the_images_are_gzipped_newc_cpio_archives(run: IsoRun) -> None:
    _build(run)
    image = run.target.arch_tree(isokit.ARCH) / "images" / "product.img"
    listing = subprocess.run(["cpio", "-t", "--quiet"], input=gzip.decompress(
        image.read_bytes()), capture_output=True, check=True).stdout.decode().split()
    assert ".buildstamp" in listing and "etc/e-smith-release" in listing

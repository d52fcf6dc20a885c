"""A real small ISO from real signed RPMs: stage, installer, ISO, md5, jigdo, checksums."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits import isokit
from tests.kits.signing import SigningKey
from updraft.iso import chroot, stage
from updraft.iso.image import CHECKSUMS
from updraft.iso.run import IsoRun

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def built(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> IsoRun:
    return isokit.built(tmp_path, iso_files, iso_key)


def _listing(iso: Path) -> set[str]:
    out = subprocess.run(["xorriso", "-indev", str(iso), "-find", "/", "-type", "f"],
                         capture_output=True, text=True, check=True).stdout
    return {line.strip("'") for line in out.splitlines()}


def test_the_iso_passes_checkisomd5_and_holds_the_stage(built: IsoRun) -> None:
    target = built.target
    iso = target.iso_file(isokit.ARCH)
    for image in (iso, target.srpms_iso):
        check = subprocess.run(["checkisomd5", str(image)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    files = _listing(iso)
    for expected in ("/Packages/base/smeserver-release-10.1-1.noarch.rpm",
                     "/Packages/base/e-smith-base-1.0-1.el7.sme.noarch.rpm",
                     "/Packages/base/perl-Foo-1.0-1.el7.sme.noarch.rpm",
                     "/Packages/base/comps.xml", "/repodata/repomd.xml",
                     "/images/product.img", "/images/updates.img", "/isolinux/isolinux.bin",
                     "/isolinux/isolinux.cfg", "/product/.buildstamp", "/updates/po/fr.mo"):
        assert expected in files
    assert not any(name.startswith("/Packages/base/smeserver-release-10.0") for name in files)
    assert any(name.endswith("-comps.xml.gz") for name in files)  # createrepo_c -g comps
    boot = subprocess.run(["xorriso", "-indev", str(iso), "-report_el_torito", "plain"],
                          capture_output=True, text=True, check=True).stdout
    assert "/isolinux/isolinux.bin" in boot
    assert "smeserver-10.1-SRPMS.iso" not in files
    assert "/smeserver-release-10.1-1.src.rpm" in _listing(target.srpms_iso)


def test_jigdo_rebuilds_a_byte_identical_iso(built: IsoRun, tmp_path: Path) -> None:
    target = built.target
    iso = target.iso_file(isokit.ARCH)
    rebuilt = tmp_path / "rebuilt.iso"
    subprocess.run(["jigdo-file", "make-image", "--report=quiet", f"--image={rebuilt}",
                    f"--jigdo={iso.with_suffix('.jigdo')}",
                    f"--template={iso.with_suffix('.template')}",
                    f"{target.packages_dir(isokit.ARCH)}//"], check=True, capture_output=True)
    assert rebuilt.read_bytes() == iso.read_bytes()
    jigdo = iso.with_suffix(".jigdo").read_text()
    assert "Base:Packages/base/e-smith-base-1.0-1.el7.sme.noarch.rpm" in jigdo


def test_the_checksum_file_is_sha256sum_checkable(built: IsoRun) -> None:
    directory = built.target.iso_file(isokit.ARCH).parent
    check = subprocess.run(["sha256sum", "--check", CHECKSUMS], cwd=directory,
                           capture_output=True, text=True)
    assert check.returncode == 0 and "smeserver-10.1-x86_64.iso: OK" in check.stdout


def test_the_stage_keeps_comps_and_follows_the_engine(built: IsoRun) -> None:
    target = built.target
    packages = target.packages_dir(isokit.ARCH)
    assert (packages / "comps.xml").is_file()
    stale = packages / "gone-1.0-1.noarch.rpm"
    stale.write_bytes(b"")
    summary = stage.compose(target)
    assert not stale.exists() and (packages / "comps.xml").is_file()
    assert summary.packages == {isokit.ARCH: 3} and summary.sources == 3


def test_the_mock_backend_runs_init_then_the_chroot_step(
        built: IsoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command lines, against the stand-in `mock` (tests/standins/iso/mock) on PATH,
    which records its argv and runs the chroot command on the host."""
    standins = Path(__file__).resolve().parents[2] / "standins" / "iso"
    argv_file = tmp_path / "argv.jsonl"
    monkeypatch.setenv("PATH", f"{standins}:{Path('/usr/bin')}:{Path('/bin')}")
    monkeypatch.setenv("MOCK_STANDIN_ARGV", str(argv_file))
    target = built.target
    marker = tmp_path / "installer-ran"
    settings = target.settings.model_copy(update={"installer_command": f"touch {marker}"})
    config = target.layout.config.model_copy(update={"iso": settings})
    target.layout.config = config
    run = IsoRun(built.engine, target)
    decisions = run.installer_decisions(force=True)
    run.build_installer(decisions, lambda line: None, backend="mock")
    lines = [__import__("json").loads(line) for line in argv_file.read_text().splitlines()]
    cwd = str(target.arch_tree(isokit.ARCH).parent)
    assert lines == [["-r", "smeserver-10-x86_64-iso", "--init"],
                     ["-r", "smeserver-10-x86_64-iso", "--mount", "--cwd", cwd, "--unpriv",
                      "--chroot", f"touch {marker}"]]
    assert marker.exists()


def test_the_mock_iso_step_collects_what_the_chroot_built(
        built: IsoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With updraft installed in the chroot, its iso_command can be `updraft iso build`
    on the local backend; the operator collects the images it left."""
    standins = Path(__file__).resolve().parents[2] / "standins" / "iso"
    monkeypatch.setenv("PATH", f"{standins}:/usr/bin:/bin")
    target = built.target
    for image in (target.iso_file(isokit.ARCH), target.srpms_iso):
        image.unlink()
    config_file = target.layout.config.source_file
    command = (f"{sys.executable} -m updraft.cli --config {config_file} iso build --step iso "
               "--backend local --release 10 --version 10.1")
    settings = target.settings.model_copy(update={"iso_command": command})
    target.layout.config = target.layout.config.model_copy(update={"iso": settings})
    images = chroot.run_step(target, "iso", lambda line: None, backend="mock")
    assert [image.iso.name for image in images] == ["smeserver-10.1-x86_64.iso",
                                                    "smeserver-10.1-SRPMS.iso"]
    assert images[0].sha256 in (images[0].iso.parent / CHECKSUMS).read_text()


def test_a_failing_chroot_step_names_the_command(
        built: IsoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    standins = Path(__file__).resolve().parents[2] / "standins" / "iso"
    monkeypatch.setenv("PATH", f"{standins}:/usr/bin:/bin")
    target = built.target
    settings = target.settings.model_copy(update={"iso_command": "exit 3"})
    target.layout.config = target.layout.config.model_copy(update={"iso": settings})
    with pytest.raises(chroot.IsoBuildError, match="--chroot.*exited 3|exited 3"):
        chroot.run_step(target, "iso", lambda line: None, backend="mock")

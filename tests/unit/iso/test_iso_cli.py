"""`updraft iso ...`: the DAG's steps from a shell, exit codes as the rest of the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits import isokit
from tests.kits.signing import SigningKey

pytestmark = pytest.mark.timeout(180)


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "updraft.cli", "--config", str(config), *args],
                          capture_output=True, text=True, check=False)


def test_the_whole_build_from_the_shell(tmp_path: Path, iso_files: isokit.IsoFiles,
                                        iso_key: SigningKey) -> None:
    engine = isokit.tree(tmp_path, iso_files, iso_key)
    config = tmp_path / "sme.yaml"
    which = ["--release", "10", "--version", "10.1"]
    assert _cli(config, "iso", "freeze", *which).stdout.startswith("held: ISO 10.1")
    staged = _cli(config, "iso", "stage", *which)
    assert staged.returncode == 0 and "packages: x86_64: 3; SRPMS: 3" in staged.stdout
    checked = _cli(config, "iso", "preflight", *which)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = _cli(config, "iso", "build", *which)
    assert built.returncode == 0, built.stderr
    assert "installer x86_64: rebuild (no installer was built yet)" in built.stdout
    assert "smeserver-10.1-x86_64.iso" in built.stdout
    again = _cli(config, "iso", "build", "--step", "installer", *which)
    assert "installer x86_64: keep" in again.stdout
    dry = _cli(config, "iso", "publish", "--dry-run", *which)
    assert "ln -s 10.1" in dry.stdout and os.readlink(engine.layout.root / "10") == "10.0"
    assert _cli(config, "iso", "publish", *which).returncode == 0
    assert os.readlink(engine.layout.root / "10") == "10.1"
    assert _cli(config, "iso", "thaw", *which).stdout == "freeze lifted\n"
    history = _cli(config, "iso", "history", "--release", "10").stdout
    assert "10.1 publish:switch: done" in history


def test_a_failed_preflight_exits_1_with_every_problem(
        tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> None:
    isokit.tree(tmp_path, iso_files, iso_key)
    config = tmp_path / "sme.yaml"
    stamp = tmp_path / "cdrom.image" / "sme10" / "product" / ".buildstamp"
    stamp.write_text(stamp.read_text().replace("IsFinal=True", "IsFinal=False"))
    which = ["--release", "10", "--version", "10.1"]
    assert _cli(config, "iso", "stage", *which).returncode == 0
    checked = _cli(config, "iso", "preflight", *which)
    assert checked.returncode == 1
    assert "problem: buildstamp:" in checked.stdout and "IsFinal=False" in checked.stdout


def test_a_version_of_another_release_is_bad_input(
        tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> None:
    isokit.tree(tmp_path, iso_files, iso_key)
    bad = _cli(tmp_path / "sme.yaml", "iso", "stage", "--release", "10", "--version", "9.2")
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("updraft: ISO version 9.2 does not belong to release 10: "
                                  "it must start with 10")

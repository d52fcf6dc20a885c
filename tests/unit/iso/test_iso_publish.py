"""Publish: ISOs and jigdos copied, smeos synced from the stage, the other repos
hardlinked from the previous version, the major link switched atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kits import isokit, treekit
from tests.kits.signing import SigningKey
from updraft.errors import ConfigError
from updraft.iso import publish
from updraft.iso.run import IsoRun
from updraft.ledger.isos import iso_steps

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def run(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> IsoRun:
    return isokit.built(tmp_path, iso_files, iso_key)


def test_publish_hardlinks_syncs_and_switches(run: IsoRun) -> None:
    root = run.engine.layout.root
    before = {p.relative_to(root / "10.0"): p.stat().st_ino
              for p in (root / "10.0" / "smeupdates-testing").rglob("*") if p.is_file()}
    assert before
    run.publish()
    assert os.readlink(root / "10") == "10.1"
    assert not list(root.glob(".10.updraft-new"))
    for relative, inode in before.items():  # cp -lr: the very same inodes
        assert (root / "10.1" / relative).stat().st_ino == inode
    iso = root / "10.1" / "iso" / "x86_64"
    assert {p.name for p in iso.iterdir()} == {
        "smeserver-10.1-x86_64.iso", "smeserver-10.1-x86_64.jigdo",
        "smeserver-10.1-x86_64.template", "SHA256SUM"}
    assert (root / "10.1" / "iso" / "source" / "smeserver-10.1-SRPMS.jigdo").is_file()
    smeos = root / "10" / "smeos" / "x86_64"
    assert sorted(p.name for p in (smeos / "RPMS").glob("*.rpm")) == [
        "e-smith-base-1.0-1.el7.sme.noarch.rpm", "perl-Foo-1.0-1.el7.sme.noarch.rpm",
        "smeserver-release-10.1-1.noarch.rpm"]
    assert (smeos / "isolinux" / "isolinux.cfg").is_file()
    assert not (smeos / "Packages").exists()
    assert "smeserver-release-10.1-1.noarch.rpm" in " ".join(treekit.repo_hrefs(smeos))
    assert any("comps" in p.name for p in (smeos / "repodata").iterdir())
    assert (root / "10" / "smeos" / "SRPMS" / "smeserver-release-10.1-1.src.rpm").is_file()
    steps = iso_steps(run.engine.layout.ledger_url, "10", "10.1")
    kinds = [r.step for r in steps if r.step.startswith("publish:")]
    assert kinds[-1] == "publish:switch" and "publish:hardlink" in kinds
    assert all(r.outcome == "done" for r in steps)
    # The engine still reads the tree through the link.
    assert run.engine.update_repos(["10"]).ok


def test_publishing_again_is_harmless(run: IsoRun) -> None:
    run.publish()
    run.publish()
    assert os.readlink(run.engine.layout.root / "10") == "10.1"


def test_the_switch_is_one_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "10.0").mkdir()
    (tmp_path / "10.1").mkdir()
    (tmp_path / "10").symlink_to("10.0")
    calls: list[tuple[str, str]] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        calls.append((os.readlink(src), str(dst)))
        real(src, dst)

    monkeypatch.setattr(publish.os, "replace", replace)
    publish.switch_link(tmp_path / "10", "10.1")
    assert calls == [("10.1", str(tmp_path / "10"))]
    assert os.readlink(tmp_path / "10") == "10.1"


def test_a_real_release_directory_is_refused(run: IsoRun) -> None:
    root = run.engine.layout.root
    (root / "10").unlink()
    (root / "10.0").rename(root / "10")
    with pytest.raises(ConfigError, match="is a directory, not a link to a version"):
        run.publish_plan()

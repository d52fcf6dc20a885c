"""Repodata: written aside, swapped in atomically, an existing updateinfo kept."""

from __future__ import annotations

import subprocess
from pathlib import Path

import createrepo_c as cr

from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.repodata import exchange, rebuild

UPDATEINFO = """<?xml version="1.0" encoding="UTF-8"?>
<updates><update from="releases@contribs.org" status="final" type="security" version="1">
<id>SME-2012:1</id><title>clamav update</title><issued date="2012-11-21 00:00:00"/>
<description>Update to ClamAV 0.97.6</description><pkglist><collection short="sme9">
<name>sme9</name><package name="clamav" version="0.97.6" release="1.el4.rf" epoch="0"
arch="i386"><filename>clamav-0.97.6-1.el4.rf.i386.rpm</filename></package></collection>
</pkglist></update></updates>
"""


def _types(repo: Path) -> set[str]:
    repomd = cr.Repomd(str(repo / "repodata" / "repomd.xml"))
    return {record.type for record in repomd.records}


def test_rebuild_keeps_updateinfo_and_follows_the_packages(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily
) -> None:
    repo = tmp_path / "smeupdates" / "i386"
    (repo / "RPMS").mkdir(parents=True)
    old = next(p for p in clamav_old.binaries if p.name.startswith("clamav-0") and "i386" in p.name)
    (repo / "RPMS" / old.name).write_bytes(old.read_bytes())
    rebuild(repo, tmp_path / "cache")
    (tmp_path / "updateinfo.xml").write_text(UPDATEINFO)
    subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", str(tmp_path / "updateinfo.xml"),
                    str(repo / "repodata")], check=True, capture_output=True)
    new = next(p for p in clamav_new.binaries if p.name.startswith("clamav-0") and "i386" in p.name)
    (repo / "RPMS" / old.name).unlink()
    (repo / "RPMS" / new.name).write_bytes(new.read_bytes())

    rebuild(repo, tmp_path / "cache")

    assert "updateinfo" in _types(repo) and "primary" in _types(repo)
    metadata = cr.Metadata()
    metadata.locate_and_load_xml(str(repo))
    assert [metadata.get(k).location_href for k in metadata.keys()] == [f"RPMS/{new.name}"]
    updates = cr.UpdateInfo(str(next((repo / "repodata").glob("*updateinfo.xml*"))))
    assert [update.id for update in updates.updates] == ["SME-2012:1"]
    assert not list(repo.glob(".repodata.updraft*"))  # the workspace is gone


def test_exchange_swaps_two_directories_in_one_step(tmp_path: Path) -> None:
    live, fresh = tmp_path / "repodata", tmp_path / "new"
    live.mkdir()
    fresh.mkdir()
    (live / "repomd.xml").write_text("old")
    (fresh / "repomd.xml").write_text("new")
    live_inode = live.stat().st_ino
    exchange(fresh, live)
    assert (live / "repomd.xml").read_text() == "new"
    assert (fresh / "repomd.xml").read_text() == "old"
    assert fresh.stat().st_ino == live_inode

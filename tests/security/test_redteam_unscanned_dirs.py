"""Red team: the tree scan skips `repodata`/`repoview` dirs at any depth and anything
named `.repodata*`/`.olddata*`; createrepo_c indexes *.rpm files in all of them, and
follows links. A packager's file dropped into `RPMS/repodata/`, `repoview/` or
`.olddata/` of any repo was published without ever being read, checked or held, and a
link there was followed out of the tree. createrepo_c now indexes exactly the files the
tree scan reads (a gated repo: those admitted), and never follows a package link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.kits.tree_hostile import force_publish, primary_hrefs
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine


def _drop(engine: Engine, repo: str, outside: Path, source: Path) -> list[str]:
    """Files where the scan never looks, in repo's i386 arch dir: their hrefs."""
    arch = engine.layout.root / "9" / repo / "i386"
    places = {"RPMS/repodata/hidden.rpm": source, "repoview/viewed.rpm": source,
              ".olddata/old.rpm": source, "RPMS/.repodata-x.rpm": source}
    for href, file in places.items():
        (arch / href).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, arch / href)
    link = arch / "repoview/linked.rpm"
    os.symlink(outside, link)
    return [*places, "repoview/linked.rpm"]


def test_files_the_scan_never_reads_are_not_published(engine: Engine,
                                                      clamav_old: BuiltFamily,
                                                      tmp_path: Path) -> None:
    [old] = [p for p in clamav_old.files() if p.name == "clamd-0.97.5-2.el4.rf.i386.rpm"]
    outside = tmp_path / "outside.rpm"
    shutil.copy(old, outside)
    dropped = _drop(engine, "smetest", outside, old)
    force_publish(engine, ("smetest", "i386"))

    result = engine.update_repos()

    assert result.ok, result.failures
    hrefs = primary_hrefs(engine.layout.root / "9/smetest/i386")
    assert hrefs and not set(dropped) & set(hrefs), hrefs
    assert all(href.startswith("RPMS/clamav") or href.startswith("RPMS/clamd")
               for href in hrefs), hrefs


def test_nor_in_a_gated_repo(engine: Engine, clamav_old: BuiltFamily, tmp_path: Path) -> None:
    from updraft.engine.promote import Promotion

    promoted = engine.update_repos(intents=Promotion(engine.layout, "clamav-0.97.6-1.el4.rf",
                                                     "smeupdates", "9"), grant=True)
    assert promoted.ok
    [old] = [p for p in clamav_old.files() if p.name == "clamd-0.97.5-2.el4.rf.i386.rpm"]
    outside = tmp_path / "outside.rpm"
    shutil.copy(old, outside)
    dropped = _drop(engine, "smeupdates", outside, old)
    force_publish(engine, ("smeupdates", "i386"))

    assert engine.update_repos().ok
    hrefs = primary_hrefs(engine.layout.root / "9/smeupdates/i386")
    assert "RPMS/clamd-0.97.6-1.el4.rf.i386.rpm" in hrefs
    assert not set(dropped) & set(hrefs), hrefs

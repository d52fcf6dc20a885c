"""Test helpers: build real RPM families once per session and lay out trees from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import createrepo_c as cr

from updraft.config.dist import DistConfig, load_config
from updraft.devkit import rpmfactory
from updraft.engine.layout import Layout

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO / "config" / "sme.yaml"


def sme_config() -> DistConfig:
    return load_config(CONFIG_FILE)


def clamav(version: str, release: str, dist: str = ".el4.rf") -> rpmfactory.FamilySpec:
    """Seed 000's clamav family: three arch packages from one SRPM named without el4."""
    return rpmfactory.FamilySpec(
        name="clamav", version=version, release=release, summary="Anti-virus software",
        subpackages=(rpmfactory.Subpackage("clamav-db"), rpmfactory.Subpackage("clamd")),
        changelog=(rpmfactory.ChangelogEntry("Sun Sep 23 2012", "Dag Wieers <dag@wieers.com>",
                                  f"{version}-{release}", (f"- Updated to release {version}.",)),),
        binary_dist=dist, source_dist=".rf",
    )


def noarch(name: str, version: str, release: str, dist: str = ".el6.sme") -> rpmfactory.FamilySpec:
    return rpmfactory.FamilySpec(name=name, version=version, release=release, main_arch="noarch",
                      binary_dist=dist)


def build(spec: rpmfactory.FamilySpec, store: Path,
          arches: tuple[str, ...] = ("i386", "x86_64")) -> rpmfactory.BuiltFamily:
    outdir = store / f"{spec.name}-{spec.version}-{spec.release}"
    return rpmfactory.build_family(spec, outdir, arches)


def place(layout: Layout, release: str, repo: str, family: rpmfactory.BuiltFamily) -> list[Path]:
    """Lay a built family into a repo the way the engine would (noarch in every arch dir)."""
    placed = []
    for rpm_file in family.files():
        arch = rpm_file.name.rsplit(".", 2)[-2]
        if arch == "src":
            dirs = [layout.source_dir(release, repo)]
        else:
            dirs = [layout.binary_dir(release, repo, a) for a in layout.archdirs_for(release, arch)]
        for directory in dirs:
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / rpm_file.name
            shutil.copy2(rpm_file, target)
            placed.append(target)
    return placed


def rpm_files(root: Path) -> dict[str, int]:
    """Every *.rpm under root (state dir excluded) -> its inode's size, for tree equality."""
    found = {}
    for path in sorted(root.rglob("*.rpm")):
        relative = path.relative_to(root)
        if relative.parts[0] != ".updraft":
            found[str(relative)] = path.stat().st_size
    return found


def repo_hrefs(repo_dir: Path) -> list[str]:
    """Package locations in a repo's repodata, read back with createrepo_c."""
    metadata = cr.Metadata()
    metadata.locate_and_load_xml(str(repo_dir))
    return sorted(metadata.get(key).location_href for key in metadata.keys())


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updraft.cli", "--config", str(CONFIG_FILE), *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False,
    )

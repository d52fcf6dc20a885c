"""Test kit for the ISO build (seed 002): real signed RPMs, a tree whose `10` links to
`10.0`, cdrom.image content with a real isolinux.bin, and a config naming it all."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tests.kits import treekit
from tests.kits.signing import SigningKey, sign_rpms
from updraft.config.dist import DistConfig, load_config
from updraft.devkit import rpmfactory
from updraft.devkit.demo_iso import COMPS  # the ISO stage's comps, as the demo writes it
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.iso.run import IsoRun
from updraft.iso.target import IsoTarget
from updraft.ledger import Ledger, StateChange

ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
RELEASE = "10"
ARCH = "x86_64"

_RELEASE_SPEC = """\
%define version {version}
%define release {release}
%define displayversion {display}
Name: smeserver-release
Version: %{{version}}
Source0: release-notes.bin
Release: %{{release}}
Summary: SME Server release file
License: GPL
BuildArch: noarch
%description
The release file of SME Server %{{displayversion}}.
%install
mkdir -p %{{buildroot}}/etc
echo "SME Server release %{{displayversion}}" > %{{buildroot}}/etc/e-smith-release
%files
/etc/e-smith-release
%changelog
* Sun Nov 29 2026 Releases <releases@example.org> - %{{version}}-%{{release}}
- Release %{{displayversion}}
"""



def release_package(store: Path, version: str, release: str, display: str) -> list[Path]:
    """smeserver-release as seed 002 bumps it: version, release and displayversion."""
    top = store / f"smeserver-release-{display}-{release}"
    spec = top / "smeserver-release.spec"
    top.mkdir(parents=True)
    spec.write_text(_RELEASE_SPEC.format(version=version, release=release, display=display))
    # Random bytes: an SRPMS ISO big enough for checkisomd5 (it fails images < ~700 kB).
    (top / "SOURCES").mkdir()
    (top / "SOURCES" / "release-notes.bin").write_bytes(os.urandom(800_000))
    subprocess.run(["rpmbuild", "-ba", "--define", f"_topdir {top}", "--define",
                    "_source_payload w1.gzdio", str(spec)], check=True,
                   capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": str(top),
                                             "LC_ALL": "C"})
    return sorted(top.glob("*RPMS/**/*.rpm"))


@dataclass
class IsoFiles:
    """Every package of the scenario, signed, by role."""

    release_old: list[Path]  # smeserver-release 10.0-1 (displayversion 10.0): in smeos
    release_new: list[Path]  # 10.1-1 (10.1): in smeupdates-testing
    base: list[Path]  # e-smith-base (requires perl-Foo) and perl-Foo: in smeos
    anaconda: list[Path]  # in smeextras
    anaconda_new: list[Path]  # a newer anaconda
    broken: list[Path]  # e-smith-broken requires libnothere
    unsigned: list[Path]  # e-smith-unsigned, never signed


def build_files(store: Path, key: SigningKey) -> IsoFiles:
    def family(spec: rpmfactory.FamilySpec, arches: tuple[str, ...] = (ARCH,)) -> list[Path]:
        return treekit.build(spec, store, arches).files()

    def noarch(name: str, requires: tuple[str, ...] = (), provides: tuple[str, ...] = (),
               payload: int = 4096) -> list[Path]:
        return family(rpmfactory.FamilySpec(name=name, version="1.0", release="1",
                                            main_arch="noarch", binary_dist=".el7.sme",
                                            requires=requires, provides=provides,
                                            payload_bytes=payload))

    files = IsoFiles(
        release_old=release_package(store, "10.0", "1", "10.0"),
        release_new=release_package(store, "10.1", "1", "10.1"),
        base=noarch("e-smith-base", requires=("perl(Foo)",), payload=800_000) + noarch(
            "perl-Foo", provides=("perl(Foo)",)),
        anaconda=family(rpmfactory.FamilySpec(name="anaconda", version="21.48.22.159",
                                              release="1", binary_dist=".el7.sme")),
        anaconda_new=family(rpmfactory.FamilySpec(name="anaconda", version="21.48.22.160",
                                                  release="1", binary_dist=".el7.sme")),
        broken=noarch("e-smith-broken", requires=("libnothere",)),
        unsigned=noarch("e-smith-unsigned"),
    )
    sign_rpms(key, [p for name, paths in vars(files).items() if name != "unsigned"
                    for p in paths])
    return files


def _mo_file() -> bytes:
    """An empty but valid GNU .mo catalogue (anaconda's translations are .mo files)."""
    return struct.pack("<7I", 0x950412DE, 0, 0, 28, 28, 0, 28)


def cdrom_image(directory: Path, version: str = "10.1") -> Path:
    """seed 002's cdrom.image/sme10: isolinux, product (buildstamp, etc/*release*), comps."""
    sme = directory / "cdrom.image" / f"sme{RELEASE}"
    (sme / "isolinux").mkdir(parents=True)
    shutil.copy(ISOLINUX_BIN, sme / "isolinux" / "isolinux.bin")
    (sme / "isolinux" / "isolinux.cfg").write_text(
        f"default vesamenu.c32\ntimeout 600\nmenu title Welcome to SME Server {version}\n"
        "label linux\n  menu label ^Install SME Server\n  kernel vmlinuz\n")
    (sme / "product" / "etc").mkdir(parents=True)
    (sme / "product" / ".buildstamp").write_text(
        f"[Main]\nProduct=Koozali SME Server\nVersion={version}\n"
        f"BugURL=https://bugs.koozali.org\nIsFinal=True\nUUID={version}.x86_64\n"
        "[Compose]\nLorax=19.6.66-1\n")
    (sme / "product" / "etc" / "e-smith-release").write_text(f"SME Server release {version}\n")
    (sme / "product" / "etc" / "system-release-cpe").write_text(
        f"cpe:/o:koozali:smeserver:{version}\n")
    (sme / "Packages" / "base").mkdir(parents=True)
    (sme / "Packages" / "base" / "comps.xml").write_text(COMPS)
    (sme / "updates" / "po").mkdir(parents=True)
    (sme / "README.txt").write_text(f"Release notes of SME Server {version}\n")
    po = directory / "anaconda-po" / f"sme{RELEASE}"
    po.mkdir(parents=True)
    (po / "fr.mo").write_bytes(_mo_file())
    return directory


def write_config(directory: Path, key: SigningKey | None, **iso: object) -> Path:
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    raw["iso"] = {"release_keys": [str(key.public)] if key else [],
                  "cdrom_image": str(directory / "cdrom.image" / "sme{release}"),
                  "anaconda_po": str(directory / "anaconda-po" / "sme{release}"), **iso}
    raw["root"] = str(directory / "tree")
    path = directory / "sme.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def place(layout: Layout, version_dir: str, repo: str, files: list[Path]) -> None:
    for path in files:
        arch = path.name.rsplit(".", 2)[-2]
        directory = (layout.source_dir(version_dir, repo) if arch == "src"
                     else layout.binary_dir(version_dir, repo, ARCH))
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, directory / path.name)


def tree(directory: Path, files: IsoFiles, key: SigningKey, **iso: object) -> Engine:
    """The tree at 10.0 (`10 -> 10.0`), smeserver-release 10.1 waiting (verified) in
    smeupdates-testing, the stage refreshed."""
    cdrom_image(directory)
    config_file = write_config(directory, key, **iso)
    config: DistConfig = load_config(config_file)
    layout = Layout(config, directory / "tree")
    (layout.root / "10.0").mkdir(parents=True)
    (layout.root / RELEASE).symlink_to("10.0")
    place(layout, "10.0", "smeos", files.release_old + files.base)
    place(layout, "10.0", "smeupdates-testing", files.release_new)
    place(layout, "10.0", "smeextras", files.anaconda)
    engine = Engine(config, layout.root)
    assert engine.update_repos([RELEASE]).ok
    mark_verified(layout, "smeupdates-testing")
    return engine


def mark_verified(layout: Layout, repo: str) -> None:
    now = datetime.now(UTC)
    names = sorted({p.name for p in layout.repo_dir(RELEASE, repo).rglob("*.rpm")})
    with Ledger.open(layout.ledger_url) as ledger:
        ledger.set_states([StateChange(RELEASE, n.split("-1")[0], "", n, repo, "tested", now)
                           for n in names])


def target(engine: Engine, version: str = "10.1") -> IsoTarget:
    return IsoTarget.of(engine.layout, RELEASE, version)


def staged(directory: Path, files: IsoFiles, key: SigningKey) -> IsoRun:
    """The tree of `tree`, its ISO tree of 10.1 laid out."""
    engine = tree(directory, files, key)
    run = IsoRun(engine, target(engine))
    run.stage()
    return run


def built(directory: Path, files: IsoFiles, key: SigningKey) -> IsoRun:
    """`staged`, then the installer and the ISOs built on this host."""
    run = staged(directory, files, key)
    run.build_installer(run.installer_decisions(), lambda line: None)
    run.build_iso(lambda line: None)
    return run

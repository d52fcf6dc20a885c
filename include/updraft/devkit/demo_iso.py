"""Release 10 of the demo tree, ready for its ISO (seed 002) on `make run`.

- the release dir is a link, as on the build host: `10 -> 10.0` (publishing 10.1 switches it);
- smeserver-release 10.0 in smeos, and the bumped 10.1 (version, release, displayversion)
  waiting in smeupdates-testing, its changelog citing a bug the demo Bugzilla has VERIFIED;
- every package of the release signed by the demo key, the config's release key;
- a small cdrom.image (a stand-in for SME's `cvs co cdrom.image`: isolinux, .buildstamp,
  the release files, comps.xml) and anaconda translations next to the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.devkit.demo_key import DemoKey
from updraft.engine.layout import Layout

RELEASE = "10"
PREVIOUS = "10.0"  # the published version the link points at
NEXT = "10.1"  # the ISO the walkthrough builds
ARCH = "x86_64"
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")  # Debian's isolinux package
MARKER = ".updraft-demo-iso.json"
RELEASE_BUG = 11002  # updraft.devkit.demo.DEMO_BUGS: "Bump smeserver-release to 10.1", VERIFIED

_SPEC = """\
%define version {version}
%define release {release}
%define displayversion {version}
Name: smeserver-release
Version: %{{version}}
Release: %{{release}}
Summary: SME Server release file
License: GPL
BuildArch: noarch
Source0: release-notes.bin
%description
The release file of SME Server %{{displayversion}}.
%install
mkdir -p %{{buildroot}}/etc %{{buildroot}}/usr/share/smeserver-release
echo "SME Server release %{{displayversion}}" > %{{buildroot}}/etc/e-smith-release
cp %{{SOURCE0}} %{{buildroot}}/usr/share/smeserver-release/
%files
/etc/e-smith-release
/usr/share/smeserver-release/release-notes.bin
%changelog
* Mon Nov 30 2026 Releases <releases@contribs.org> - %{{version}}-%{{release}}
- Release {version}{bug}
"""

COMPS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>base</id>
    <name>Base</name>
    <description>SME Server base</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">e-smith-base</packagereq>
      <packagereq type="mandatory">smeserver-release</packagereq>
    </packagelist>
  </group>
</comps>
"""


def release_package(store: Path, version: str, bug: int | None) -> list[Path]:
    """smeserver-release VERSION-1 (displayversion VERSION), SRPM and noarch binary. It
    carries 800 kB of release notes: checkisomd5 refuses images below ~700 kB."""
    with tempfile.TemporaryDirectory(prefix="release-", dir=store) as scratch:
        top = Path(scratch)
        (top / "SOURCES").mkdir()
        (top / "SOURCES" / "release-notes.bin").write_bytes(os.urandom(800_000))
        spec = top / "smeserver-release.spec"
        spec.write_text(_SPEC.format(version=version, release="1",
                                 bug=f" [SME: {bug}]" if bug else ""))
        done = subprocess.run(
            ["rpmbuild", "-ba", "--define", f"_topdir {top}", "--define",
             "_source_payload w1.gzdio", "--define", "_binary_payload w1.gzdio", str(spec)],
            capture_output=True, text=True,
            env={"PATH": os.environ.get("PATH", os.defpath), "HOME": str(top), "LC_ALL": "C"})
        if done.returncode != 0:
            raise RuntimeError(f"rpmbuild of smeserver-release {version} failed:\n"
                               f"{done.stderr[-2000:]}")
        return [Path(shutil.move(path, store / path.name))
                for path in sorted(top.glob("*RPMS/**/*.rpm"))]


def cdrom_image(directory: Path, version: str = NEXT) -> None:
    """The cdrom.image stand-in (seed 002's cdrom.image/sme10) and anaconda-po/sme10."""
    sme = directory / "cdrom.image" / f"sme{RELEASE}"
    (sme / "isolinux").mkdir(parents=True, exist_ok=True)
    shutil.copy(ISOLINUX_BIN, sme / "isolinux" / "isolinux.bin")
    (sme / "isolinux" / "isolinux.cfg").write_text(
        f"default vesamenu.c32\ntimeout 600\nmenu title Welcome to SME Server {version}\n"
        "label linux\n  menu label ^Install SME Server\n  kernel vmlinuz\n")
    (sme / "product" / "etc").mkdir(parents=True, exist_ok=True)
    (sme / "product" / ".buildstamp").write_text(
        f"[Main]\nProduct=Koozali SME Server\nVersion={version}\n"
        f"BugURL=https://bugs.koozali.org\nIsFinal=True\nUUID={version}.{ARCH}\n")
    (sme / "product" / "etc" / "e-smith-release").write_text(f"SME Server release {version}\n")
    (sme / "product" / "etc" / "system-release-cpe").write_text(
        f"cpe:/o:koozali:smeserver:{version}\n")
    (sme / "Packages" / "base").mkdir(parents=True, exist_ok=True)
    (sme / "Packages" / "base" / "comps.xml").write_text(COMPS)
    (sme / "updates" / "po").mkdir(parents=True, exist_ok=True)
    (sme / "README.txt").write_text(f"Release notes of SME Server {version} (demo)\n")
    po = directory / "anaconda-po" / f"sme{RELEASE}"
    po.mkdir(parents=True, exist_ok=True)
    # An empty but valid GNU .mo catalogue (anaconda's translations are .mo files).
    (po / "fr.mo").write_bytes(bytes.fromhex("de120495" + "00" * 4 * 2 + "1c000000" * 2
                                             + "00" * 4 + "1c000000"))


def _place(layout: Layout, repo: str, files: list[Path]) -> None:
    for path in files:
        if path.name.endswith(".src.rpm"):
            directory = layout.source_dir(PREVIOUS, repo)
        else:
            directory = layout.binary_dir(PREVIOUS, repo, ARCH)
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, directory / path.name)


def prepare(config: DistConfig, root: Path, demo_dir: Path, key: DemoKey) -> bool:
    """Make release 10 ISO-ready once (the marker says so); True when it did."""
    root = Path(root)
    marker = root / MARKER
    if marker.exists():
        return False
    config.check_release(RELEASE)
    layout = Layout(config, root)
    release_dir = root / RELEASE
    if release_dir.is_dir() and not release_dir.is_symlink():
        os.rename(release_dir, root / PREVIOUS)
        os.symlink(PREVIOUS, release_dir)  # relative: the tree may move
    (root / PREVIOUS).mkdir(parents=True, exist_ok=True)
    if not release_dir.is_symlink():
        os.symlink(PREVIOUS, release_dir)
    with tempfile.TemporaryDirectory(prefix=".release-", dir=demo_dir) as scratch:
        store = Path(scratch)
        _place(layout, "smeos", release_package(store, PREVIOUS, None))
        _place(layout, "smeupdates-testing", release_package(store, NEXT, RELEASE_BUG))
    key.sign_rpms(sorted((root / PREVIOUS).rglob("*.rpm")))
    cdrom_image(demo_dir)
    marker.write_text(f'{{"release": "{RELEASE}", "link": "{PREVIOUS}"}}\n')
    return True

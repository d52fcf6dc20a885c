"""The demo's upstream: a small CentOS-like source for release 9, served on 127.0.0.1 by
`make run` (scripts/standalone.sh), so upstream_sync has something real to mirror.

What it carries, each a step of the mission (README, "A walk through the mission"):
- clamav 0.97.8: a newer version of a family the tree ships (0.97.6 in smetest), with a
  security advisory naming a CVE in its updateinfo;
- libtevent 0.9.31-2: an update of a library the tree ships, coupled to samba by policy
  (samba 4.6.2-12 is offered too, and never lands: samba is built locally);
- fail2ban: a name upstream never carried before;
- initscripts 9.03.49: an SRPM the rebase policy rebuilds with our patches. It is a
  stand-in for CentOS's: its tarball carries the `SME-STAND-IN/` files that the stand-in
  patches in config/patches/initscripts edit, so the rebase applies them.

Every package is built by rpmbuild and signed by the demo key (updraft.devkit.demo_key); each
repo's repomd/primary (and updateinfo) are made by createrepo_c, repomd.xml is signed
too. Upstream's earlier sync is part of the demo's history: the mirror remembers the names
upstream carried before (clamav, libtevent, samba), which makes the others "new".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import createrepo_c as cr

from updraft.config.dist import DistConfig
from updraft.devkit.demo_key import DemoKey
from updraft.devkit.rpmfactory import BuiltFamily, ChangelogEntry, FamilySpec, Subpackage
from updraft.engine.layout import Layout

ORIGIN = "upstream-demo"  # the source's name in config/sme.yaml
RELEASE = "9"
ARCHES = ("i386", "x86_64")
DIST = ".el6"
VENDOR = "CentOS"
PORT = 8091  # config/sme.yaml's baseurl says the same; UPDRAFT_UPSTREAM_PORT moves the server
MARKER = ".updraft-demo-upstream.json"  # in the served dir
HISTORY_MARKER = ".updraft-demo-history.json"  # at the tree root
EARLIER_NAMES = ("clamav", "libtevent", "samba")  # what upstream carried at its last sync
ADVISORY = {"id": "CESA-2013:0612", "title": "Important: clamav security update",
            "severity": "Important", "cves": ("CVE-2013-2020", "CVE-2013-2021"),
            "name": "clamav", "version": "0.97.8", "release": "1" + DIST}
# The files the stand-in patches of config/patches/initscripts edit (one line each).
STAND_IN_PATCHES = ("initscripts-9.03.31-runlevel7.patch", "initscripts-9.03.40-dmesg.patch",
                    "initscripts-9.03.40-slapd_alias_ldap.patch",
                    "initscripts-9.03.46-dont_run_plymouth_if_disabled.patch")
INITSCRIPTS = ("initscripts", "9.03.49", "1")
_UPSTREAM = "CentOS Buildsys <bugs@centos.org>"


def _entry(date: str, evr: str, line: str) -> ChangelogEntry:
    return ChangelogEntry(date=date, author=_UPSTREAM, evr=evr, lines=(line,))


def _spec(name: str, version: str, release: str, line: str, date: str,
          subs: Sequence[str] = (), noarch: bool = True) -> FamilySpec:
    arch = "noarch" if noarch else None
    return FamilySpec(name=name, version=version, release=release, binary_dist=DIST,
                      vendor=VENDOR, main_arch=arch, summary=f"{name} (demo upstream)",
                      subpackages=tuple(Subpackage(sub, arch=arch) for sub in subs),
                      changelog=(_entry(date, f"{version}-{release}", line),))


def upstream_specs() -> list[FamilySpec]:
    """The families the demo upstream serves (initscripts and samba aside: built from
    specs of their own, see `rebuilt`)."""
    return [
        _spec("clamav", "0.97.8", "1", "- Update to 0.97.8 (CVE-2013-2020, CVE-2013-2021)",
              "Tue Apr 23 2013", subs=("clamav-db", "clamd"), noarch=False),
        _spec("libtevent", "0.9.31", "2", "- Fix a use after free in tevent_req",
              "Mon Mar 04 2013"),
        _spec("fail2ban", "0.8.14", "1", "- First build for el6", "Fri Feb 15 2013"),
    ]


def history_specs() -> list[FamilySpec]:
    """What the tree shipped before (release 9, smeos): the coupled pair's old versions."""
    return [
        _spec("libtevent", "0.9.31", "1", "- Update to 0.9.31", "Mon Jan 07 2013"),
        _spec("samba", "4.6.2", "10", "- Update to 4.6.2", "Mon Jan 07 2013",
              subs=("libsmbclient",)),
    ]


# -- initscripts: a real tarball, so that the rebase's patches have something to edit ------

_INITSCRIPTS_SPEC = """\
Name: initscripts
Version: {version}
Release: {release}%{{?dist}}
Summary: The inittab file and the /etc/init.d scripts (demo upstream stand-in)
License: GPLv2
Vendor: {vendor}
BuildArch: noarch
Source0: %{{name}}-%{{version}}.tar.gz

%description
A stand-in for CentOS's initscripts: its SME-STAND-IN files are what the stand-in patches
of updraft's config/patches/initscripts edit.

%prep
%setup -q

%build

%install
mkdir -p %{{buildroot}}%{{_datadir}}/%{{name}}
cp -a . %{{buildroot}}%{{_datadir}}/%{{name}}/

%files
%{{_datadir}}/%{{name}}

%changelog
* Mon Jan 07 2013 {author} - {version}-{release}
- Update to {version}
"""
_FAST = {"debug_package": "%{nil}", "__os_install_post": "%{nil}",
         "_build_id_links": "none", "_binary_payload": "w1.gzdio",
         "_source_payload": "w1.gzdio"}


def _initscripts_files() -> dict[str, str]:
    files = {f"SME-STAND-IN/{patch}": f"replace {patch} with the real patch\n"
             for patch in STAND_IN_PATCHES}
    files["rc.sysinit"] = "#!/bin/bash\n# rc.sysinit, run once at boot (demo stand-in)\n"
    return files


def tarball(target: Path, top: str, files: dict[str, str]) -> None:
    """A source tarball of `files` (relative path -> text) under `top`/, reproducible."""
    with tarfile.open(target, "w:gz") as tar:
        for relative, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1357516800
            tar.addfile(info, io.BytesIO(data))


def initscripts(store: Path) -> BuiltFamily:
    """initscripts' SRPM and its noarch binary, by rpmbuild -ba in a private topdir."""
    name, version, release = INITSCRIPTS
    spec = _INITSCRIPTS_SPEC.format(version=version, release=release, vendor=VENDOR,
                                    author=_UPSTREAM)
    return _rpmbuild(store, name, version, spec, _initscripts_files())


def samba(store: Path) -> BuiltFamily:
    """samba 4.6.2-12 from the cut-down upstream spec seed 000's samba.spec.patch applies
    to (updraft.devkit.samba_standin): what the demo's build_batch rebuilds."""
    from updraft.devkit.samba_standin import SAMBA_SPEC, TARBALL_FILES

    return _rpmbuild(store, "samba", "4.6.2", SAMBA_SPEC, TARBALL_FILES)


def rebuilt(store: Path) -> list[BuiltFamily]:
    """The families a rebuild policy takes from upstream as SRPMs (initscripts, samba)."""
    return [initscripts(store), samba(store)]


def _rpmbuild(store: Path, name: str, version: str, spec_text: str,
              files: dict[str, str]) -> BuiltFamily:
    """A family's SRPM and binaries, by rpmbuild -ba in a private topdir."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=store) as scratch:
        top = Path(scratch)
        for sub in ("SOURCES", "SPECS", "home"):
            (top / sub).mkdir()
        tarball(top / "SOURCES" / f"{name}-{version}.tar.gz", f"{name}-{version}", files)
        spec = top / "SPECS" / f"{name}.spec"
        spec.write_text(spec_text)
        command = ["rpmbuild", "-ba", "--nodeps"]
        for key, value in {**_FAST, "_topdir": str(top), "dist": DIST, "vendor": VENDOR}.items():
            command += ["--define", f"{key} {value}"]
        done = subprocess.run([*command, str(spec)], capture_output=True, text=True,
                              env={**os.environ, "LC_ALL": "C", "HOME": str(top / "home")})
        if done.returncode != 0:
            raise RuntimeError(f"rpmbuild of the demo {name} failed:\n{done.stderr[-2000:]}")
        built = [shutil.move(path, store / path.name) for path in top.glob("*RPMS/**/*.rpm")]
    paths = [Path(path) for path in built]
    srpm = next(path for path in paths if path.name.endswith(".src.rpm"))
    return BuiltFamily(srpm, [path for path in paths if path != srpm])


# -- publishing -----------------------------------------------------------------------------


def _arch_of(path: Path) -> str:
    return path.name.removesuffix(".rpm").rsplit(".", 1)[1]


def publish(served: Path, files: Sequence[Path], key: DemoKey) -> Path:
    """Lay signed files out as CentOS does (<origin>/<arch>/Packages, <origin>/Source),
    createrepo_c every repo, add the advisory's updateinfo, sign each repomd.xml."""
    top = served / ORIGIN
    repos = {arch: top / arch for arch in ARCHES} | {"src": top / "Source"}
    for path in files:
        arch = _arch_of(path)
        for repo in [repos[arch]] if arch in repos else [repos[a] for a in ARCHES]:
            (repo / "Packages").mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, repo / "Packages" / path.name)
    for kind, repo in repos.items():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["createrepo_c", "-q", "--no-database", str(repo)], check=True)
        if kind != "src":
            _add_updateinfo(repo, kind)
        key.sign_detached(repo / "repodata" / "repomd.xml")
    return top


def _add_updateinfo(repo: Path, arch: str) -> None:
    record = cr.UpdateRecord()
    record.id, record.type, record.status, record.version = ADVISORY["id"], "security", \
        "final", "1"
    record.severity, record.title = ADVISORY["severity"], ADVISORY["title"]
    record.fromstr, record.release = "centos-announce@centos.org", "CentOS 6"
    for cve in ADVISORY["cves"]:
        reference = cr.UpdateReference()
        reference.type, reference.id, reference.title = "cve", cve, cve
        reference.href = f"https://www.cve.org/CVERecord?id={cve}"
        record.append_reference(reference)
    collection = cr.UpdateCollection()
    collection.shortname, collection.name = "el6", "CentOS 6"
    for name in ("clamav", "clamav-db", "clamd"):
        package = cr.UpdateCollectionPackage()
        package.name, package.version, package.release = name, ADVISORY["version"], \
            ADVISORY["release"]
        package.epoch, package.arch = "0", arch
        package.filename = f"{name}-{ADVISORY['version']}-{ADVISORY['release']}.{arch}.rpm"
        collection.append(package)
    record.append_collection(collection)
    info = cr.UpdateInfo()
    info.append(record)
    xml = repo / "updateinfo.xml"
    xml.write_text(info.xml_dump())
    subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", str(xml), str(repo / "repodata")],
                   check=True, capture_output=True)
    xml.unlink()


def build_upstream(served: Path, key: DemoKey, cache_dir: Path) -> list[str]:
    """Build, sign and publish the demo upstream into `served` once; return the files
    published (nothing when an earlier call did it: the marker says so)."""
    from updraft.devkit.demo import build_cached  # the demo's spec-keyed RPM cache

    marker = served / MARKER
    if marker.is_file():
        return []
    families = build_cached(upstream_specs(), ARCHES, cache_dir)
    with tempfile.TemporaryDirectory(prefix=".upstream-", dir=cache_dir) as scratch:
        staging = Path(scratch)
        files = [Path(shutil.copy2(path, staging / path.name))
                 for family in families for path in family.files()]
        files += [path for family in rebuilt(staging) for path in family.files()]
        key.sign_rpms(files)
        if (served / ORIGIN).exists():
            shutil.rmtree(served / ORIGIN)  # a half-published earlier attempt
        publish(served, files, key)
    names = sorted(path.name for path in files)
    marker.write_text(json.dumps({"origin": ORIGIN, "files": names}, indent=1) + "\n")
    return names


def remember_earlier_sync(state_dir: Path) -> None:
    """The mirror's memory of upstream's names at its previous sync (the demo's history):
    what upstream_sync compares with to call a name new."""
    names = state_dir / "mirror" / RELEASE / ORIGIN / "names.json"
    if not names.exists():
        names.parent.mkdir(parents=True, exist_ok=True)
        names.write_text(json.dumps(sorted(EARLIER_NAMES)))


def prepare(config: DistConfig, root: Path, demo_dir: Path, key: DemoKey,
            cache_dir: Path) -> list[str]:
    """The tree's history (the coupled pair in smeos), the mirror's memory and the served
    upstream under `demo_dir`/upstream; each made once."""
    from updraft.devkit.demo import DemoFamily, place_families

    history = Path(root) / HISTORY_MARKER
    if not history.exists():
        items = [DemoFamily(RELEASE, "smeos", spec) for spec in history_specs()]
        placed = place_families(config, Path(root), items, cache_dir)
        history.write_text(json.dumps({"placed": [p.name for p in placed]}, indent=1) + "\n")
    remember_earlier_sync(Layout(config, Path(root)).state_dir)
    return build_upstream(Path(demo_dir) / "upstream", key, cache_dir)


# -- serving ----------------------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def serve(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    """A static HTTP server for the published upstream, until SIGTERM/SIGINT."""
    handler = partial(_Quiet, directory=str(directory))
    with ThreadingHTTPServer((host, port), handler) as server:
        print(f"serving {directory} on http://{host}:{port}/", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m updraft.devkit.demo_upstream",
                                     description="Serve the demo upstream on 127.0.0.1.")
    parser.add_argument("--dir", required=True, help="the published upstream (.demo/upstream)")
    parser.add_argument("--port", type=int, default=int(os.environ.get(
        "UPDRAFT_UPSTREAM_PORT", PORT)))
    args = parser.parse_args(argv)
    if not (Path(args.dir) / ORIGIN).is_dir():
        print(f"error: {args.dir} holds no demo upstream (run `make demo`)", file=sys.stderr)
        return 1
    serve(Path(args.dir), args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Test kit for upstream sync: real signed RPMs in real createrepo_c repos, served over
HTTP on 127.0.0.1, and a distribution config whose `upstream` points at them.

The upstream is a CentOS-like source "centos": one binary repo per arch
(<name>/<arch>/) and a separate SRPM repo (<name>/Source/), el5 packages, Vendor CentOS.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr
import yaml

from tests.kits import treekit
from tests.kits.httprepo import RepoServer
from tests.kits.signing import SigningKey, sign_detached, sign_rpms
from updraft.config.dist import DistConfig, load_config
from updraft.devkit.rpmfactory import BuiltFamily, FamilySpec, Subpackage, build_families
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.upstream.manifest import Manifest
from updraft.upstream.sync import Landed, UpstreamSync

ARCHES = ("i386", "x86_64")
VENDOR = "CentOS"


def _spec(name: str, version: str, release: str, subs: Sequence[str] = (),
          noarch: bool = False, vendor: str = VENDOR) -> FamilySpec:
    return FamilySpec(name=name, version=version, release=release, binary_dist=".el5",
                      main_arch="noarch" if noarch else None, vendor=vendor,
                      subpackages=tuple(Subpackage(sub, arch="noarch" if noarch else None)
                                        for sub in subs))


# The families of the tests: what the tree ships, and what upstream offers.
SPECS = {
    "tzdata-old": _spec("tzdata", "2012i", "1"),
    "tzdata-new": _spec("tzdata", "2012i", "2"),
    "GeoIP-old": _spec("GeoIP", "1.4.8", "1", noarch=True),
    "GeoIP-new": _spec("GeoIP", "1.6.5", "2", noarch=True),
    "samba-old": _spec("samba", "4.6.2", "10", subs=["libsmbclient"], noarch=True),
    "samba-new": _spec("samba", "4.6.2", "12", subs=["libsmbclient"], noarch=True),
    "libtevent-old": _spec("libtevent", "0.9.31", "1", noarch=True),
    "libtevent-new": _spec("libtevent", "0.9.31", "2", noarch=True),
    "php-old": _spec("php", "5.3.3", "1", subs=["php-cli"], noarch=True),
    "php-new": _spec("php", "5.3.3", "2", subs=["php-cli", "php-foo"], noarch=True),
    "bash": _spec("bash", "4.1.2", "1", noarch=True),
    "newpkg": _spec("newpkg", "1.0", "1", noarch=True),
}

# Where the tree starts: the "old" families in the higher repos (seed 000's list).
TREE = {"tzdata-old": "smeupdates", "GeoIP-old": "smeos", "samba-old": "smeos",
        "libtevent-old": "smeupdates", "php-old": "smeupdates"}


def build_all(store: Path) -> dict[str, BuiltFamily]:
    keys = list(SPECS)
    built = build_families([SPECS[key] for key in keys], store, ARCHES, jobs=2)
    return dict(zip(keys, built, strict=True))


def signed_copies(families: dict[str, BuiltFamily], keys: Sequence[str], directory: Path,
                  key: SigningKey | None) -> list[Path]:
    """Copies of the families' files, rpmsign'ed with `key` (None: left unsigned)."""
    directory.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in keys:
        for path in families[name].files():
            target = directory / path.name
            shutil.copy2(path, target)
            copies.append(target)
    if key is not None:
        sign_rpms(key, copies)
    return copies


def _arch_of(path: Path) -> str:
    return path.name.rsplit(".", 2)[-2]


def publish(root: Path, files: Sequence[Path], name: str = "centos",
            advisories: Sequence[dict] = (), metadata_key: SigningKey | None = None) -> Path:
    """Lay the files out as upstream does and run createrepo_c on every repo; add an
    updateinfo (modifyrepo_c) and a repomd.xml.asc when asked. Returns <root>/<name>."""
    top = root / name
    if top.exists():
        shutil.rmtree(top)
    repos = {arch: top / arch for arch in ARCHES} | {"src": top / "Source"}
    for path in files:
        arch = _arch_of(path)
        for key in ([arch] if arch in repos else list(ARCHES)):
            packages = repos[key] / "Packages"
            packages.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, packages / path.name)
    for key, repo in repos.items():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["createrepo_c", "-q", "--no-database", str(repo)], check=True)
        if advisories and key != "src":
            _add_updateinfo(repo, advisories)
        if metadata_key is not None:
            sign_detached(metadata_key, repo / "repodata" / "repomd.xml")
    return top


def _add_updateinfo(repo: Path, advisories: Sequence[dict]) -> None:
    info = cr.UpdateInfo()
    for advisory in advisories:
        record = cr.UpdateRecord()
        record.id, record.type = advisory["id"], advisory.get("type", "security")
        record.severity, record.title = advisory.get("severity", ""), advisory["title"]
        record.fromstr, record.status, record.version = "centos@example.org", "final", "1"
        record.release = "CentOS 5"
        for cve in advisory.get("cves", ()):
            reference = cr.UpdateReference()
            reference.type, reference.id = "cve", cve
            reference.href = f"https://cve.example.org/{cve}"
            record.append_reference(reference)
        collection = cr.UpdateCollection()
        collection.shortname, collection.name = "el5", "CentOS 5"
        for nevra in advisory["packages"]:  # (name, version, release, arch)
            package = cr.UpdateCollectionPackage()
            package.name, package.version, package.release, package.arch = nevra
            package.epoch = "0"
            package.filename = f"{nevra[0]}-{nevra[1]}-{nevra[2]}.{nevra[3]}.rpm"
            collection.append(package)
        record.append_collection(collection)
        info.append(record)
    xml = repo / "updateinfo.xml"
    xml.write_text(info.xml_dump())
    subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", str(xml), str(repo / "repodata")],
                   check=True, capture_output=True)
    xml.unlink()


@dataclass
class Source:
    baseurl: str
    source_url: str | None
    key: Path | None
    extra: dict


def config_with(directory: Path, sources: Sequence[Source]) -> DistConfig:
    """config/sme.yaml plus `upstream` for release 9, written next to the key files."""
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    raw.pop("root", None)
    entries = []
    for index, source in enumerate(sources):
        entry = {"name": "centos" if index == 0 else f"source{index}",
                 "baseurl": source.baseurl, "arches": list(ARCHES), "priority": index + 1,
                 "dist_tag": r"\.el5", "vendor": VENDOR}
        if source.source_url:
            entry["source_url"] = source.source_url
        if source.key is not None:
            entry["gpgkeys"] = [str(source.key)]
        else:
            entry["gpgcheck"] = False
        entry.update(source.extra)
        entries.append(entry)
    raw["upstream"] = {"9": entries}
    path = directory / "dist.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def centos(url: str, key: Path | None, **extra: object) -> Source:
    """The "centos" source served at `url` (the server's base URL)."""
    return Source(f"{url}/centos/{{arch}}/", f"{url}/centos/Source/", key, dict(extra))


# -- a compromised mirror: metadata rewritten as an attacker would serve it --------------

def rewrite_primary(repo: Path, edit: Callable[[cr.Package], object]) -> None:
    """Rewrite <repo>'s primary with `edit` applied to each package (it may change any
    field, e.g. location_href) and repomd.xml to match, checksums and all: metadata that
    is consistent, only hostile."""
    repodata = repo / "repodata"
    repomd = cr.Repomd(str(repodata / "repomd.xml"))
    old = next(r for r in repomd.records if r.type == "primary")
    packages: list[cr.Package] = []
    cr.xml_parse_primary(str(repo / old.location_href),
                         pkgcb=lambda p: packages.append(p) or True, do_files=False)
    for package in packages:
        edit(package)
    (repo / old.location_href).unlink()
    path = repodata / "primary.xml.gz"
    primary = cr.PrimaryXmlFile(str(path), cr.GZ_COMPRESSION)
    primary.set_num_of_pkgs(len(packages))
    for package in packages:
        primary.add_pkg(package)
    primary.close()
    replace_record(repo, "primary", path)


RecordEdit = Callable[[cr.RepomdRecord], object]


def replace_record(repo: Path, kind: str, path: Path, edit: RecordEdit | None = None) -> None:
    """Make repomd.xml's `kind` record name `path` (filled, renamed to its checksum);
    `edit` may then change the record (its href, its size) before repomd is written."""
    repodata = repo / "repodata"
    old = cr.Repomd(str(repodata / "repomd.xml"))
    record = cr.RepomdRecord(kind, str(path))
    record.fill(cr.SHA256)
    record.rename_file()
    if edit is not None:
        edit(record)
    repomd = cr.Repomd()
    repomd.set_revision(old.revision)
    for existing in old.records:
        if existing.type != kind:
            repomd.set_record(existing)
    repomd.set_record(record)
    (repodata / "repomd.xml").write_text(repomd.xml_dump())


def add_updateinfo_xml(repo: Path, xml: str) -> None:
    """An updateinfo.xml written by hand, added as a real repo carries it (modifyrepo_c)."""
    path = repo / "updateinfo.xml"
    path.write_text(xml)
    subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", str(path), str(repo / "repodata")],
                   check=True, capture_output=True)
    path.unlink()


@dataclass
class Case:
    """A tree holding TREE's families, an upstream "centos" served over HTTP from
    `served`, and the sync between them: what a hostile-mirror test starts from."""

    root: Path
    served: Path
    server: RepoServer
    engine: Engine
    sync: UpstreamSync

    @property
    def layout(self) -> Layout:
        return self.engine.layout

    def mirror_dir(self) -> Path:
        return self.sync.mirror_dir("9", "centos")

    def run(self) -> tuple[Manifest, Landed]:
        manifest = self.sync.mirror("9", "centos")
        landed = self.sync.land(["9"])
        self.engine.publish(landed.result.unpublished)
        return manifest, landed

    def has(self, repo: str, archdir: str, filename: str) -> bool:
        return (self.layout.package_dir("9", repo, archdir) / filename).exists()

    def state_of(self, filename: str) -> str | None:
        with Ledger.open(self.layout.ledger_url) as ledger:
            return ledger.state_of("9", filename)


def make_case(root: Path, families: dict[str, BuiltFamily], key: Path | None,
              **extra: object) -> Case:
    """Start the server and build the tree (stop `case.server` when done)."""
    served = root / "served"
    served.mkdir(parents=True, exist_ok=True)
    server = RepoServer(served).start()
    config = config_with(root, [centos(server.url, key, **extra)])
    layout = Layout(config, root / "tree")
    for name, repo in TREE.items():
        treekit.place(layout, "9", repo, families[name])
    engine = Engine(config, layout.root)
    assert engine.update_repos().ok
    return Case(root, served, server, engine, UpstreamSync(engine))


def offer(signed: dict[str, Path], families: dict[str, BuiltFamily],
          names: Sequence[str]) -> list[Path]:
    """The signed copies of these families' files (conftest's `signed`)."""
    return [signed[path.name] for name in names for path in families[name].files()]


# An upstream security advisory for tzdata, as CentOS would publish it.
TZDATA_ADVISORY = {"id": "CESA-2012:1234", "title": "Important: tzdata security update",
                   "severity": "Important", "cves": ["CVE-2012-0001"],
                   "packages": [("tzdata", "2012i", "2.el5", arch) for arch in ARCHES]}

"""Upstream packages, catalogs and inventories made by hand, for the pure landing
decision's tests (no download, no disk)."""

from __future__ import annotations

from tests.kits import treekit
from updraft.engine.evr import EVR, DistTag
from updraft.upstream.landing import Catalog, Inventory, KnownName, group_upstream
from updraft.upstream.metadata import RemotePackage

CONFIG = treekit.sme_config()
DIST = DistTag(CONFIG.dist_tag_pattern)


def make_package(name: str, version: str, release: str, arch: str = "x86_64",
             source: str | None = None) -> RemotePackage:
    srpm = None if arch == "src" else f"{source or name}-{version}-{release}.src.rpm"
    return RemotePackage(name, None, version, release, arch, srpm,
                         f"Packages/{name}-{version}-{release}.{arch}.rpm", "http://up",
                         "sha256", "0" * 64, 10, "CentOS", arch)


def make_catalog(origin: str, priority: int, packages: list[RemotePackage],
             inventory: Inventory, new: set[str] = frozenset()) -> Catalog:
    families = group_upstream(origin, packages, DIST)
    return Catalog(origin, priority, families,
                   {f.name for f in families} & inventory.known.keys(), set(new))


def make_inventory(**known: str) -> Inventory:
    inventory = Inventory("9")
    for name, evr in known.items():
        version, release = evr.split("-")
        inventory.known[name] = KnownName(EVR(None, version, release), evr, {name})
        inventory.seen.add(name)
    return inventory

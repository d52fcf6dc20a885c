"""Inventory: what a release holds for the release cycle, read from the tree.

Per source package: the version released (newest in smeupdates / smeos), the versions
offered (smeupdates-testing, newer than the released one, newest first), newer
versions still in smetest, and each one's changelog and files. Seed 000: "the
changelog entries newer than its version in smeupdates/smeos".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from updraft.engine.evr import DistTag, compare, evr_key
from updraft.engine.family import Family, FamilyKey, group_families
from updraft.engine.layout import Layout
from updraft.engine.tree import scan
from updraft.release.changelog import Changelog, RefParser, read_changelog
from updraft.release.releasability import PackageVersions, VersionLog


@dataclass
class Held:
    """One family (a source package version) as held by one repo."""

    family: Family
    repo: str
    srpm: str | None
    binaries: dict[str, list[str]]  # arch dir -> paths
    changelog: Changelog = field(default_factory=Changelog)

    @property
    def label(self) -> str:
        return self.family.label

    @property
    def nvr(self) -> str:
        return f"{self.family.name}-{self.label}"

    def binary_paths(self) -> list[str]:
        return sorted({path for paths in self.binaries.values() for path in paths})


@dataclass
class Inventory:
    release: str
    packages: list[PackageVersions]
    held: dict[tuple[str, str], Held]  # (name, label) -> where it is, its files
    released: dict[str, Held]  # name -> the version in the target/base repos
    watched: list[Held]  # every version in the watched repos (smetest), for the report

    def offered(self, name: str, label: str) -> Held:
        return self.held[(name, label)]


def holdings(layout: Layout, release: str) -> dict[str, dict[FamilyKey, Held]]:
    """repo -> family -> what of it that repo holds."""
    tree = scan(layout, [release])
    families = group_families(tree.releases[release].files, DistTag(
        layout.config.dist_tag_pattern))
    repos: dict[str, dict[FamilyKey, Held]] = {}
    for key, family in families.items():
        for member in family.members.values():
            for package in member.files:
                held = repos.setdefault(package.repo, {}).get(key)
                if held is None:
                    held = repos[package.repo][key] = Held(family, package.repo, None, {})
                if member.facts.is_source:
                    held.srpm = package.path
                elif package.archdir:
                    held.binaries.setdefault(package.archdir, []).append(package.path)
    return repos


def _read_log(held: Held, parser: RefParser) -> Held:
    source = held.srpm or next(iter(held.binary_paths()), None)
    if source is not None:
        held.changelog = read_changelog(Path(source), parser)
    return held


def _version_log(held: Held, base: Held | None) -> VersionLog:
    """A version with its changes since the released one (all of them if never released)."""
    since = held.changelog.since(base.changelog if base else None)
    return VersionLog(held.label, held.repo, tuple(since))


def take_inventory(layout: Layout, release: str, parser: RefParser) -> Inventory:
    settings = layout.config.release
    repos = holdings(layout, release)
    released: dict[str, Held] = {}
    for repo in (settings.target, *settings.base):
        for held in repos.get(repo, {}).values():
            current = released.get(held.family.name)
            if current is None or compare(held.family.evr, current.family.evr) > 0:
                released[held.family.name] = held

    def newer(repo_names: tuple[str, ...]) -> dict[str, list[Held]]:
        found: dict[str, list[Held]] = {}
        for repo in repo_names:
            for held in repos.get(repo, {}).values():
                base = released.get(held.family.name)
                if base is None or compare(held.family.evr, base.family.evr) > 0:
                    found.setdefault(held.family.name, []).append(held)
        for versions in found.values():
            versions.sort(key=lambda h: evr_key(h.family.evr), reverse=True)
        return found

    offered, pending = newer((settings.candidates,)), newer(settings.watch)
    # Only the released versions something newer is compared with: smeos holds a whole
    # distribution, and most of it waits for nothing.
    moving = offered.keys() | pending.keys()
    for held in [*(h for name, h in released.items() if name in moving),
                 *(h for v in offered.values() for h in v),
                 *(h for v in pending.values() for h in v)]:
        _read_log(held, parser)
    packages, index = [], {}
    for name, versions in sorted(offered.items()):
        base = released.get(name)
        newest = versions[0].family.evr
        # Only smetest versions newer than every offered one hold changes not offered.
        ahead = [h for h in pending.get(name, []) if compare(h.family.evr, newest) > 0]

        packages.append(PackageVersions(name, base.label if base else None,
                                        tuple(_version_log(h, base) for h in versions),
                                        tuple(_version_log(h, base) for h in ahead)))
        index.update({(name, h.label): h for h in versions})
    for name, versions in pending.items():
        if name not in offered:  # held by smetest alone: its bugs still hold others back
            base = released.get(name)
            packages.append(PackageVersions(name, base.label if base else None, (),
                                            (_version_log(versions[0], base),)))
    watched = [h for versions in pending.values() for h in versions]
    return Inventory(release, packages, index, released, watched)

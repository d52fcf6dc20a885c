"""Family: an SRPM and every binary RPM built from it, across arches.

The unit of promotion. Its key is the source name + version + release with the
distribution tag stripped, so an SRPM named clamav-0.97.6-1.rf.src.rpm joins the
binaries whose SOURCERPM is clamav-0.97.6-1.el4.rf.src.rpm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from updraft.engine.evr import EVR, DistTag, split_sourcerpm
from updraft.engine.package import PackageFacts, PackageFile


class FamilyKey(NamedTuple):
    name: str
    version: str
    release: str  # dist tag stripped


class Slot(NamedTuple):
    """What a repo holds of a family: a binary package name, or the source package."""

    name: str
    source: bool


@dataclass
class Member:
    """One package (NEVRA) of a family and every file of it in the release."""

    facts: PackageFacts
    files: list[PackageFile] = field(default_factory=list)
    slot: Slot = Slot("", False)

    def __post_init__(self) -> None:
        self.slot = Slot(self.facts.name, self.facts.is_source)


@dataclass
class Family:
    key: FamilyKey
    epoch: int | None = None
    display_release: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    by_slot: dict[Slot, list[Member]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def evr(self) -> EVR:
        """For ordering families of one name (dist tag stripped, so SRPM and binaries agree)."""
        return EVR(self.epoch, self.key.version, self.key.release)

    @property
    def label(self) -> str:
        return f"{self.key.version}-{self.display_release or self.key.release}"

    def members_in(self, slot: Slot) -> list[Member]:
        return self.by_slot.get(slot, [])

    @property
    def source_slot(self) -> Slot | None:
        has_source = any(member.facts.is_source for member in self.members.values())
        return Slot(self.key.name, True) if has_source else None


def source_name(facts: PackageFacts) -> str:
    if facts.is_source or not facts.sourcerpm:
        return facts.name
    return split_sourcerpm(facts.sourcerpm)[0]


def family_key(facts: PackageFacts, dist: DistTag) -> FamilyKey:
    if facts.is_source or not facts.sourcerpm:
        return FamilyKey(facts.name, facts.version, dist.strip(facts.release))
    name, version, release = split_sourcerpm(facts.sourcerpm)
    return FamilyKey(name, version, dist.strip(release))


def group_families(files: Iterable[PackageFile], dist: DistTag) -> dict[FamilyKey, Family]:
    families: dict[FamilyKey, Family] = {}
    members: dict[int, Member] = {}  # by facts object: hardlinked copies share one
    for package in files:
        member = members.get(id(package.facts))
        if member is None:
            facts = package.facts
            key = family_key(facts, dist)
            family = families.get(key)
            if family is None:
                family = families[key] = Family(key)
            member = family.members.get(facts.nevra)
            if member is None:
                member = family.members[facts.nevra] = Member(facts)
                family.by_slot.setdefault(member.slot, []).append(member)
            members[id(facts)] = member
        member.files.append(package)
    for family in families.values():
        _settle_identity(family)
    return families


def _settle_identity(family: Family) -> None:
    """The SRPM's epoch and release name the family; without it, its binaries do."""
    facts = [member.facts for member in family.members.values()]
    source = next((f for f in facts if f.is_source), None)
    if source is not None:
        family.epoch, family.display_release = source.epoch, source.release
        return
    main = next((f for f in facts if f.name == family.key.name), facts[0])
    family.epoch = main.epoch
    family.display_release = split_sourcerpm(main.sourcerpm)[2] if main.sourcerpm else main.release

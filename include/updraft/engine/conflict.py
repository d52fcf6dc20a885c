"""Content conflicts: one NEVRA, two different builds. Held and reported, never resolved.

Two files of one package name, version, release and arch whose headers differ (another
build, another payload) are not copies of each other: keeping either one silently would
ship something nobody chose (and could leave a family with the SRPM of one build and the
binaries of the other). The whole family is held, both files are kept, and the plan
says which paths disagree until a person removes the wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from updraft.engine.evr import DistTag
from updraft.engine.family import Family, FamilyKey, family_key
from updraft.engine.package import PackageFacts, PackageFile


@dataclass(frozen=True, slots=True)
class Conflict:
    family: Family
    nevra: str
    files: tuple[tuple[str, str], ...]  # (path, header digest), one per distinct build

    def line(self, root: str) -> str:
        shown = " and ".join(
            f"{_short(path, root)} (header sha256 {digest[:16]})" for path, digest in self.files)
        return (f"{self.family.name}-{self.family.label}: content conflict, held: "
                f"{self.nevra} is {shown}; two builds with one name: both kept, nothing "
                "of this family moves until the wrong one is removed")


def _short(path: str, root: str) -> str:
    shown = path[len(root):] if path.startswith(root) else path
    return "".join(char if char.isprintable() else "?" for char in shown)


def find_conflicts(families: dict[FamilyKey, Family]) -> list[Conflict]:
    """Every package of which the release holds two or more different builds: one NEVRA
    with other header bytes, or one family (its key strips the dist tag) with two
    releases of one package, e.g. clamav-0.97.6-1.rf.src and clamav-0.97.6-1.el6.rf.src.
    The planner treats a family's files of one package as copies of each other, so two
    builds under one key would let one build's SRPM stand in for the other's and the
    SRPM its binaries name be deleted."""
    found = []
    for family in families.values():
        builds_of: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for nevra, member in family.members.items():
            builds: dict[str, str] = {}
            for package in sorted(member.files, key=lambda p: p.path):
                digest = package.facts.digest
                if digest:
                    builds.setdefault(digest, package.path)
            if len(builds) > 1:
                found.append(Conflict(family, nevra,
                                      tuple((path, d) for d, path in builds.items())))
            elif member.files:
                first = min(member.files, key=lambda p: p.path)
                package_of = builds_of.setdefault((member.facts.name, member.facts.arch), {})
                package_of[nevra] = (first.path, first.facts.digest)
        for (name, arch), nevras in sorted(builds_of.items()):
            if len(nevras) > 1 and not any(c.family is family for c in found):
                found.append(Conflict(family, f"{name}.{arch}",
                                      tuple(nevras[n] for n in sorted(nevras))))
    return found


def other_builds(arriving: Iterable[PackageFacts], present: Iterable[PackageFile],
                 dist: DistTag, root: str) -> list[str]:
    """One line per arriving package the release already holds as another build: the
    same package of the same family (name, version, release without dist tag) with
    another release string or other header bytes. Landing it would only make a content
    conflict that holds the family: a rebuild of a version must carry a new release."""
    held: dict[tuple[FamilyKey, str, str], list[PackageFile]] = {}
    for package in present:
        facts = package.facts
        held.setdefault((family_key(facts, dist), facts.name, facts.arch), []).append(package)
    lines = []
    for facts in arriving:
        others = sorted({_short(p.path, root)
                         for p in held.get((family_key(facts, dist), facts.name, facts.arch), [])
                         if p.facts.nevra != facts.nevra
                         or p.facts.digest and facts.digest and p.facts.digest != facts.digest})
        if others:
            lines.append(f"{facts.filename}: another build of it is already in {others[0]}")
    return lines

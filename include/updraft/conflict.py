"""Content conflicts: one NEVRA, two different builds. Held and reported, never resolved.

Two files of one package name, version, release and arch whose headers differ (another
build, another payload) are not copies of each other: keeping either one silently would
ship something nobody chose (and could leave a family with the SRPM of one build and the
binaries of the other). The whole family is held, both files are kept, and the plan
says which paths disagree until a person removes the wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

from updraft.family import Family, FamilyKey


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
    """Every package of which the release holds two or more different builds."""
    found = []
    for family in families.values():
        for nevra, member in family.members.items():
            builds: dict[str, str] = {}
            for package in sorted(member.files, key=lambda p: p.path):
                digest = package.facts.digest
                if digest:
                    builds.setdefault(digest, package.path)
            if len(builds) > 1:
                found.append(Conflict(family, nevra,
                                      tuple((path, d) for d, path in builds.items())))
    return found

"""Advisory: upstream updateinfo records (RHSA/CESA and the like), read with createrepo_c,
and which landed families they speak for (seed 004: "it should read RHSA advisory
information")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

from updraft.errors import UpstreamError


@dataclass(frozen=True)
class UpstreamAdvisory:
    id: str
    kind: str  # "security", "bugfix", "enhancement", ...
    severity: str
    title: str
    issued: str  # as updateinfo gives it, "2012-11-26 10:47:31"
    references: tuple[dict[str, str], ...]  # {type, id, href, title}
    packages: tuple[str, ...]  # name-version-release of every package it updates

    @property
    def security(self) -> bool:
        return self.kind == "security"

    @property
    def cves(self) -> list[str]:
        return [ref["id"] for ref in self.references if ref["type"] == "cve" and ref["id"]]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "severity": self.severity,
                "title": self.title, "issued": self.issued,
                "references": list(self.references), "packages": list(self.packages)}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> UpstreamAdvisory:
        return cls(str(raw["id"]), str(raw["kind"]), str(raw["severity"]), str(raw["title"]),
                   str(raw["issued"]), tuple(raw["references"]),  # type: ignore[arg-type]
                   tuple(raw["packages"]))  # type: ignore[arg-type]


def read_updateinfo(path: Path, wanted: set[str] | None = None) -> list[UpstreamAdvisory]:
    """Advisories of an updateinfo file; with `wanted`, only those naming one of these
    source or binary names (a distribution's updateinfo holds thousands)."""
    info = cr.UpdateInfo()
    try:
        cr.xml_parse_updateinfo(str(path), info)
    except cr.CreaterepoCError as exc:
        raise UpstreamError(f"{path}: unreadable updateinfo ({exc})") from exc
    found = []
    for record in info.updates:
        packages = tuple(dict.fromkeys(
            f"{package.name}-{package.version}-{package.release}"
            for collection in record.collections for package in collection.packages))
        if wanted is not None and not _names(record) & wanted:
            continue
        found.append(UpstreamAdvisory(
            id=record.id or "", kind=record.type or "", severity=record.severity or "",
            title=record.title or "",
            issued=str(record.issued_date) if record.issued_date else "",
            references=tuple({"type": ref.type or "", "id": ref.id or "",
                              "href": ref.href or "", "title": ref.title or ""}
                             for ref in record.references),
            packages=packages,
        ))
    return found


def _names(record: cr.UpdateRecord) -> set[str]:
    names = set()
    for collection in record.collections:
        for package in collection.packages:
            names.add(package.name)
            if package.src:
                names.add(package.src.rsplit("-", 2)[0])
    return names


def advisories_for(advisories: Iterable[UpstreamAdvisory],
                   nvrs: set[str]) -> list[UpstreamAdvisory]:
    """The advisories that name any of these packages (name-version-release)."""
    return [advisory for advisory in advisories if nvrs & set(advisory.packages)]

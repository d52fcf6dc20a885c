"""Advisory: upstream updateinfo records (RHSA/CESA and the like), read with createrepo_c,
and which landed families they speak for (seed 004: "it should read RHSA advisory
information")."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import createrepo_c as cr

log = logging.getLogger(__name__)


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
    source or binary names (a distribution's updateinfo holds thousands).

    Real updateinfo carries advisories createrepo_c reads only partly (a date like
    "2019-13-45" raises when read, an id may be missing or repeated): such an advisory is
    skipped with a warning naming it, the others are read. A file createrepo_c cannot
    read at all gives no advisories and a warning: advisories never block packages.
    """
    info = cr.UpdateInfo()
    try:
        cr.xml_parse_updateinfo(str(path), info)
    except (cr.CreaterepoCError, OSError, ValueError) as exc:
        log.warning("%s: unreadable updateinfo, no advisories taken from it (%s)", path, exc)
        return []
    found: dict[str, UpstreamAdvisory] = {}
    for number, record in enumerate(info.updates, start=1):
        try:
            if wanted is not None and not _names(record) & wanted:
                continue
            advisory = _advisory(record)
        except (cr.CreaterepoCError, ValueError, TypeError, AttributeError) as exc:
            label = _label(record, number)
            log.warning("%s: advisory %s skipped: createrepo_c cannot read it (%s)",
                        path, label, exc)
            continue
        if not advisory.id:
            log.warning("%s: advisory #%d (%r) skipped: it has no id", path, number,
                        advisory.title)
        elif advisory.id in found:
            log.warning("%s: advisory %s listed again: the first one is kept", path, advisory.id)
        else:
            found[advisory.id] = advisory
    return list(found.values())


def _label(record: cr.UpdateRecord, number: int) -> str:
    try:
        return repr(record.id) if record.id else f"#{number}"
    except (cr.CreaterepoCError, ValueError):
        return f"#{number}"


def _advisory(record: cr.UpdateRecord) -> UpstreamAdvisory:
    packages = tuple(dict.fromkeys(
        f"{package.name}-{package.version}-{package.release}"
        for collection in record.collections for package in collection.packages
        if package.name and package.version and package.release))
    issued = record.issued_date  # raises on a date createrepo_c cannot parse
    return UpstreamAdvisory(
        id=(record.id or "").strip(), kind=record.type or "", severity=record.severity or "",
        title=record.title or "",
        issued=str(issued) if issued else "",
        references=tuple({"type": ref.type or "", "id": ref.id or "",
                          "href": ref.href or "", "title": ref.title or ""}
                         for ref in record.references),
        packages=packages,
    )


def _names(record: cr.UpdateRecord) -> set[str]:
    names = set()
    for collection in record.collections:
        for package in collection.packages:
            if package.name:
                names.add(package.name)
            if package.src:
                names.add(package.src.rsplit("-", 2)[0])
    return names


def advisories_for(advisories: Iterable[UpstreamAdvisory],
                   nvrs: set[str]) -> list[UpstreamAdvisory]:
    """The advisories that name any of these packages (name-version-release)."""
    return [advisory for advisory in advisories if nvrs & set(advisory.packages)]

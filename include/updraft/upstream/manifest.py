"""Manifest: what one sync of one upstream source found, downloaded and verified.

Written by the mirror step (one per source, in parallel) and read by the landing step,
which decides again against the tree as it is then. JSON, written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from updraft.engine.durable import temporary_for
from updraft.engine.evr import EVR
from updraft.upstream.errata import UpstreamAdvisory
from updraft.upstream.landing import Catalog, UpstreamFamily
from updraft.upstream.metadata import RemotePackage

NOT_VERIFIED = "not downloaded and verified in this source's last sync"


@dataclass(frozen=True)
class Rejection:
    """A package that failed its tests (seed 004 state `test failed`), or could not be
    fetched whole this run."""

    filename: str
    family: str
    label: str
    reason: str
    quarantined: str = ""  # where its bytes were put aside, if they arrived at all
    refused: bool = False  # its metadata was refused (a location leaving the mirror, ...)

    @property
    def test_failed(self) -> bool:
        """Its bytes arrived and failed a test, or its entry was refused (seed 004's
        `test failed`); a download cut short is no verdict on the package and is simply
        tried again next run."""
        return bool(self.quarantined) or self.refused

    def line(self) -> str:
        where = f" [quarantined: {self.quarantined}]" if self.quarantined else ""
        return f"{self.filename}: {self.reason}{where}"


@dataclass
class Manifest:
    release: str
    origin: str
    priority: int
    land_new: bool = True
    status: str = "mirroring"  # then synced, half-mirrored, unreachable or failed
    reason: str = ""
    revision: str = ""
    started: str = ""
    finished: str = ""
    dry_run: bool = False
    packages_listed: int = 0  # every package the source's primary files list
    carries: list[str] = field(default_factory=list)
    new_names: list[str] = field(default_factory=list)
    families: list[UpstreamFamily] = field(default_factory=list)
    verified: dict[str, str] = field(default_factory=dict)  # file name -> mirror path
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # the lines a landing would report
    advisories: list[UpstreamAdvisory] = field(default_factory=list)
    # Families we rebuild (updraft.build.requests): {name, label, srpm file name}.
    rebuilds: list[dict[str, str]] = field(default_factory=list)

    @property
    def synced(self) -> bool:
        return self.status == "synced"

    def catalog(self) -> Catalog:
        return Catalog(self.origin, self.priority, self.families, set(self.carries),
                       set(self.new_names), self.land_new)

    def blocked(self) -> dict[str, str]:
        """Why each candidate file without a verified mirror copy may not land."""
        reasons = {rejection.filename: rejection.reason for rejection in self.rejected}
        blocked = {}
        for family in self.families:
            for package in family.packages:
                path = self.verified.get(package.filename)
                if path is None or not os.path.exists(path):
                    blocked[package.filename] = reasons.get(package.filename, NOT_VERIFIED)
        return blocked

    def summary(self) -> dict[str, object]:
        """Small and JSON-able: an Airflow XCom, a CLI line."""
        return {
            "release": self.release, "source": self.origin, "status": self.status,
            "reason": self.reason, "revision": self.revision,
            "packages_listed": self.packages_listed,
            "candidates": [f"{f.name}-{f.label}" for f in self.families][:50],
            "verified": len(self.verified), "rejected": [r.line() for r in self.rejected][:50],
            "skipped": self.skipped[:50], "planned": self.planned[:100],
            "advisories": [a.id for a in self.advisories][:50],
        }

    # -- storage -------------------------------------------------------------------------

    def to_json(self) -> str:
        raw = asdict(self)
        raw["families"] = [_family_json(family) for family in self.families]
        raw["advisories"] = [advisory.to_json() for advisory in self.advisories]
        return json.dumps(raw, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["families"] = [_family(item) for item in raw["families"]]
        raw["rejected"] = [Rejection(**item) for item in raw["rejected"]]
        raw["advisories"] = [UpstreamAdvisory.from_json(item) for item in raw["advisories"]]
        raw.setdefault("rebuilds", [])
        return cls(**raw)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_for(path)
        temporary.write_text(self.to_json())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        try:
            return cls.from_json(path.read_text())
        except FileNotFoundError:
            return None


def _family_json(family: UpstreamFamily) -> dict[str, object]:
    return {"origin": family.origin, "name": family.name, "evr": asdict(family.evr),
            "label": family.label, "packages": [asdict(p) for p in family.packages]}


def _family(raw: dict) -> UpstreamFamily:
    return UpstreamFamily(raw["origin"], raw["name"], EVR(**raw["evr"]), raw["label"],
                          [RemotePackage(**package) for package in raw["packages"]])

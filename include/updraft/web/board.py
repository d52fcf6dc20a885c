"""The Release board, live: the last analysis (release_updates' or `updraft
releasability`'s) checked against the tree as it is now, so an update released since is
never offered again as "may be released"."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from updraft.release.findings import Analysis
from updraft.web.catalog import Shelf


@dataclass(frozen=True, slots=True)
class Offer:
    name: str
    released: str  # what the released repo holds now ("" for none)
    candidate: str
    releasable: str  # "" when nothing of it may be released
    verdict: str  # releasable, older, held, released
    reasons: tuple[str, ...]
    bugs: tuple[int, ...]
    security: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "released": self.released, "candidate": self.candidate,
                "releasable": self.releasable, "verdict": self.verdict,
                "reasons": list(self.reasons), "bugs": list(self.bugs),
                "security": self.security}


@dataclass(frozen=True)
class Board:
    analysis: Analysis  # its packages as the tree shows them now
    offers: tuple[Offer, ...]  # one per package, in the analysis' order

    def to_json(self) -> dict[str, Any]:
        """The page's JSON twin: the analysis' JSON, each package with its verdict, and
        the offers."""
        raw = self.analysis.to_json()
        for package, offer in zip(raw["packages"], self.offers, strict=True):
            package["verdict"] = offer.verdict
        raw["offers"] = [offer.to_json() for offer in self.offers]
        return raw


def live(analysis: Analysis, shelves: list[Shelf], released_repo: str) -> Board:
    """The analysis with each package checked against the tree: one whose releasable
    version the released repo already holds is shown as released."""
    now_released = {s.family: s for s in shelves
                    if s.release == analysis.release and s.repo == released_repo}
    packages, offers = [], []
    for package in analysis.packages:
        shelf = now_released.get(package.name)
        held = set(shelf.evrs) if shelf else set()  # the analysis labels versions by EVR
        reasons = tuple(blocker.reason for blocker in package.blocked_by)
        releasable = package.releasable or ""
        if shelf:
            package = replace(package, released=shelf.newest)
        if releasable and (releasable in held or package.candidate in held):
            verdict, reasons = "released", (f"{releasable} is in {released_repo} now",)
            package = replace(package, releasable=None)
            releasable = ""
        elif releasable:
            verdict = "releasable" if releasable == package.candidate else "older"
        else:
            verdict = "held"
        packages.append(package)
        offers.append(Offer(package.name, package.released or "", package.candidate,
                            releasable, verdict, reasons, package.bugs, package.security))
    return Board(replace(analysis, packages=packages), tuple(offers))

"""The Release board, live: the last analysis (release_updates' or `updraft
releasability`'s) checked against the tree as it is now, so an update released since is
never offered again as "may be released"."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

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


def live(analysis: dict[str, Any], shelves: list[Shelf], released_repo: str) -> dict[str, Any]:
    """The analysis (its JSON form) with each package checked against the tree: one whose
    releasable version the released repo already holds is shown as released."""
    now_released = {s.family: s for s in shelves
                    if s.release == analysis["release"] and s.repo == released_repo}
    fresh = copy.deepcopy(analysis)
    offers = []
    for package in fresh["packages"]:
        shelf = now_released.get(package["name"])
        held = set(shelf.evrs) if shelf else set()  # the analysis labels versions by EVR
        reasons = tuple(str(b.get("reason", b)) if isinstance(b, dict) else str(b)
                        for b in package.get("blocked_by", []))
        releasable = package.get("releasable") or ""
        if shelf:
            package["released"] = shelf.newest
        if releasable and (releasable in held or package["candidate"] in held):
            verdict, reasons = "released", (f"{releasable} is in {released_repo} now",)
            package["releasable"] = None
            releasable = ""
        elif releasable:
            verdict = "releasable" if releasable == package["candidate"] else "older"
        else:
            verdict = "held"
        package["verdict"] = verdict
        offers.append(Offer(package["name"], package.get("released") or "",
                            package["candidate"], releasable, verdict, reasons,
                            tuple(package.get("bugs", [])), bool(package.get("security"))))
    fresh["offers"] = [offer.to_json() for offer in offers]
    return fresh


def offers(board: dict[str, Any]) -> list[Offer]:
    return [Offer(o["name"], o["released"], o["candidate"], o["releasable"], o["verdict"],
                  tuple(o["reasons"]), tuple(o["bugs"]), o["security"])
            for o in board["offers"]]

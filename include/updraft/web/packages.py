"""The Packages page: every family per release × repo with its seed 004 state, newest
versions, security flag, bugs, advisories and age in its state; searched and paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from updraft.config.dist import DistConfig
from updraft.config.repos import PACKAGE_STATES
from updraft.web.catalog import Shelf
from updraft.web.facts import Facts, Notice
from updraft.web.links import family_url

MAX_PER_PAGE = 200
MAX_QUERY = 200  # characters of a search: a longer one is cut, never an error


@dataclass(frozen=True, slots=True)
class PackageRow:
    release: str
    repo: str
    family: str
    evr: str
    older: tuple[str, ...]
    state: str
    since: datetime
    recorded: bool  # the state comes from the ledger (else from the repo's enters_state)
    security: bool
    bugs: tuple[str, ...]
    advisories: tuple[str, ...]
    cves: tuple[str, ...]

    @property
    def nevr(self) -> str:
        return f"{self.family}-{self.evr}"

    def words(self) -> tuple[str, ...]:
        """What a search matches, lower-cased once."""
        return tuple(w.lower() for w in (self.family, self.nevr, *self.older, *self.bugs,
                                         *self.advisories, *self.cves))

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"release": self.release, "repo": self.repo, "family": self.family,
                "nevr": self.nevr, "evr": self.evr, "older": list(self.older),
                "state": self.state, "since": self.since.isoformat(),
                "age_seconds": int((now - self.since).total_seconds()),
                "state_recorded": self.recorded, "security": self.security,
                "bugs": list(self.bugs), "advisories": list(self.advisories),
                "cves": list(self.cves), "url": family_url(self.family)}


@dataclass(frozen=True, slots=True)
class Query:
    text: str = ""
    release: str = ""
    repo: str = ""
    state: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def of(cls, text: str = "", release: str = "", repo: str = "", state: str = "",
           page: int = 1, per_page: int = 50) -> Query:
        return cls(text.strip()[:MAX_QUERY], release[:64], repo[:64],
                   state if state in PACKAGE_STATES else "", max(1, page),
                   min(max(1, per_page), MAX_PER_PAGE))


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[PackageRow]
    total: int
    query: Query

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


def _notices(facts: Facts, shelf: Shelf) -> list[Notice]:
    return [n for evr in shelf.evrs
            for n in facts.notices.get((shelf.release, shelf.family, evr), [])]


def row(shelf: Shelf, facts: Facts, config: DistConfig) -> PackageRow:
    recorded = facts.states.get((shelf.release, shelf.family, shelf.newest, shelf.repo))
    if recorded:
        state, since = recorded
    else:  # placed before the ledger knew it (a seeding, a `cp`): the repo's own state
        repo = config.repos.get(shelf.repo)
        state, since = (repo.enters_state if repo else None) or "", shelf.arrived
    notices = _notices(facts, shelf)
    return PackageRow(
        shelf.release, shelf.repo, shelf.family, shelf.newest, shelf.evrs[1:], state, since,
        recorded is not None, any(n.kind == "security" for n in notices),
        tuple(dict.fromkeys(b for n in notices for b in n.bugs)),
        tuple(dict.fromkeys(n.id for n in notices)),
        tuple(dict.fromkeys(c for n in notices for c in n.cves)))


def rows(shelves: list[Shelf], facts: Facts, config: DistConfig) -> list[PackageRow]:
    return [row(shelf, facts, config) for shelf in shelves]


def _matches(item: PackageRow, query: Query, needle: str) -> bool:
    if query.release and item.release != query.release:
        return False
    if query.repo and item.repo != query.repo:
        return False
    if query.state and item.state != query.state:
        return False
    return not needle or any(needle in word for word in item.words())


def select(items: list[PackageRow], query: Query) -> Page:
    needle = query.text.lower()
    found = [item for item in items if _matches(item, query, needle)]
    start = (query.page - 1) * query.per_page
    return Page(found[start:start + query.per_page], len(found), query)

"""The pages' facade: one method per page, each returning the page's view (for the
HTML template) and its JSON twin, from the config, the tree and the ledger."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from updraft.config.repos import PACKAGE_STATES
from updraft.engine.layout import Layout
from updraft.ledger.store import Ledger
from updraft.release.findings import Analysis
from updraft.web import board as live_board
from updraft.web import catalog, facts, packages, repos, timeline, waiting


@dataclass
class View:
    context: dict[str, Any]  # for the template
    data: dict[str, Any]  # the JSON twin


class Site:
    def __init__(self, layout: Layout, ledger: Ledger) -> None:
        self.layout = layout
        self.config = layout.config
        self.ledger = ledger

    def packages(self, query: packages.Query, now: datetime | None = None) -> View:
        now = now or datetime.now(UTC)
        shelves = catalog.shelves(self.layout, [query.release] if query.release in
                                  self.config.releases else None)
        with self.ledger.transaction() as session:
            known = facts.read(session, query.release or None)
        page = packages.select(packages.rows(shelves, known, self.config), query)
        data = {"total": page.total, "page": query.page, "pages": page.pages,
                "per_page": query.per_page, "rows": [r.to_json(now) for r in page.rows]}
        context = {"page": page, "q": query, "releases": list(self.config.releases),
                   "repos": list(self.config.repos), "states": PACKAGE_STATES}
        return View(context, data)

    def family(self, name: str, now: datetime | None = None) -> View:
        shelves = [s for s in catalog.shelves(self.layout) if s.family == name]
        with self.ledger.transaction() as session:
            events = timeline.timeline(session, name)
        data = {"family": name,
                "where": [{"release": s.release, "repo": s.repo, "evrs": list(s.evrs)}
                          for s in shelves],
                "events": [e.to_json() for e in events]}
        return View({"shelves": shelves, "events": events}, data)

    def gates(self, now: datetime | None = None) -> View:
        now = now or datetime.now(UTC)
        approvers = {repo: tuple(getattr(self.config.roles, settings.approval))
                     for repo, settings in self.config.repos.items() if settings.approval}
        with self.ledger.transaction() as session:
            items = waiting.waiting(session, approvers)
        return View({"items": items}, {"waiting": [w.to_json(now) for w in items]})

    def repos(self, now: datetime | None = None) -> View:
        now = now or datetime.now(UTC)
        shelves = catalog.shelves(self.layout)
        dirs = [(release, repos.arch_dirs(self.layout, release))
                for release in self.config.releases]
        with self.ledger.transaction() as session:
            syncs = repos.syncs(session)
            checked = repos.mirror_states(session, [d for _, found in dirs for d in found])
        families = repos.families_per_repo(shelves)
        data = {"arch_dirs": [d.to_json(now) for _, found in dirs for d in found],
                "families": [{"release": r, "repo": p, "count": n}
                             for (r, p), n in families.items()],
                "upstream_syncs": [s.to_json() for s in syncs],
                "mirrors": list(self.config.release.mirrors),
                "mirror_checks": [m.to_json(now) for m in checked]}
        seen = {m.mirror for m in checked}
        context = {"releases": dirs, "families": families, "syncs": syncs,
                   "mirror_checks": checked,
                   "unchecked": [m for m in self.config.release.mirrors if m not in seen]}
        return View(context, data)

    def board(self, release: str) -> View:
        analysis = _analysis(self.layout.state_dir / "release", release)
        if analysis is None:
            return View({"board": None, "offers": []}, {})
        shelves = catalog.shelves(self.layout, [release])
        board = live_board.live(analysis, shelves, self.config.release.target)
        return View({"board": board.analysis, "offers": list(board.offers)}, board.to_json())

    def analysed(self) -> list[tuple[str, bool]]:
        directory = self.layout.state_dir / "release"
        return [(release, (directory / f"release-{release}.json").is_file())
                for release in self.config.releases]


def _analysis(directory: Path, release: str) -> Analysis | None:
    try:
        return Analysis.from_json(json.loads((directory / f"release-{release}.json")
                                             .read_text()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # none yet, or not an analysis: the board says there is none

"""Analysis: the Rnotes of seed 000, computed — what may be released, and why not.

Reads the tree (inventory), asks the tracker once per 500 bugs, decides releasability
(soft dependencies) with hard dependencies checked by libsolv, and returns one typed
account (updraft.release.findings.Analysis) that the text/HTML report, the Go/NoGo gate
and the release steps all read. Nothing here changes the tree or the tracker.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from updraft.engine.coupling import coupling_of
from updraft.engine.layout import Layout
from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate, VerifiedVersion
from updraft.release.changelog import Entry, RefParser
from updraft.release.closure import RequiresCheck
from updraft.release.findings import Analysis, ChangeWithoutBug, NewerInSmetest, TrackerState
from updraft.release.inventory import Inventory, take_inventory
from updraft.release.releasability import Blocker, Verdict, VersionLog, decide
from updraft.release.tracker import Bug, TrackerUnavailable

__all__ = ["Analysis", "Tracker", "analyse"]  # Analysis: the record, kept importable here

log = logging.getLogger(__name__)


class Tracker(Protocol):
    url: str
    requests: int

    def fetch(self, ids: Iterable[int]) -> dict[int, Bug]: ...


def _ask(tracker: Tracker, bugs: set[int]) -> tuple[dict[int, Bug], TrackerState]:
    before = tracker.requests
    try:
        found = tracker.fetch(bugs)
        error = None
    except TrackerUnavailable as exc:
        # Fail closed: with no statuses nothing is verified, so nothing is offered.
        log.error("%s", exc)
        found, error = {}, str(exc)
    return found, TrackerState(tracker.url, tracker.requests - before, error is None, error,
                               len(bugs))


def _requires_check(layout: Layout, inventory: Inventory) -> RequiresCheck:
    settings = layout.config.release
    repos = [settings.target, *settings.base, settings.candidates]
    dirs = {archdir: {repo: layout.repodata_dir(inventory.release, repo, archdir)
                      for repo in repos} for archdir in layout.archdirs(inventory.release)}
    return RequiresCheck(dirs, [settings.target, *settings.base], settings.candidates,
                         settings.ignore_requires)


def analyse(layout: Layout, release: str, tracker: Tracker) -> Analysis:
    config = layout.config
    release = config.check_release(release)
    clock = time.perf_counter()
    parser = RefParser(config.bugzilla.reference, config.bugzilla.label)
    inventory = take_inventory(layout, release, parser)
    timings = {"inventory": time.perf_counter() - clock}
    wanted = {bug for package in inventory.packages
              for version in (*package.candidates, *package.watched) for bug in version.bugs}
    clock = time.perf_counter()
    found, tracker_state = _ask(tracker, wanted)
    timings["tracker"] = time.perf_counter() - clock
    clock = time.perf_counter()
    check = _requires_check(layout, inventory)

    def requires(release_set: dict[str, VersionLog]) -> dict[str, list[str]]:
        return check({name: inventory.offered(name, v.label).binary_paths()
                      for name, v in release_set.items()})

    states = {bug: answer.status for bug, answer in found.items()}
    good = config.bugzilla.releasable_states()
    def partners(name: str) -> tuple[str, ...]:
        coupling = coupling_of(config, name)
        return coupling.partners if coupling else ()

    verdicts = decide(inventory.packages, states.get, good, requires, partners)
    timings["decide"] = time.perf_counter() - clock
    if not tracker_state.reachable:
        for verdict in verdicts:  # not even upstream packages: nobody could check
            verdict.releasable = None
    product = config.bugzilla.products.get(release)
    return Analysis(
        release=release, generated=datetime.now(UTC).isoformat(timespec="seconds"),
        tracker=tracker_state,
        packages=[_package(verdict, inventory, found, tracker_state, good)
                  for verdict in verdicts if verdict.candidate is not None],
        bugs=_bugs(inventory, found, product, wanted),
        missing_bugs=sorted(bug for bug, answer in found.items() if answer.missing),
        changes_without_bugs=_unreferenced(inventory),
        smetest_newer=[NewerInSmetest(h.family.name, h.label, h.repo, h.srpm)
                       for h in inventory.watched if h.family.name in inventory.released],
        unchecked=check.missing, timings=timings,
    )


def _verified(inventory: Inventory, name: str, versions: tuple[VersionLog, ...],
              found: dict[int, Bug], good: frozenset[str]) -> list[VerifiedVersion]:
    """The offered versions whose own bugs are all verified (seed 004's `tested`), with
    their files: what the ISO's preflight asks of smeupdates-testing."""
    rows = []
    for version in versions:
        if all(b in found and (found[b].status or "").upper() in good for b in version.bugs):
            held = inventory.offered(name, version.label)
            files = [held.srpm] if held.srpm else []
            rows.append(VerifiedVersion(version.label, version.repo, tuple(sorted(
                {os.path.basename(f) for f in [*files, *held.binary_paths()]}))))
    return rows


def _package(verdict: Verdict, inventory: Inventory, found: dict[int, Bug],
             tracker: TrackerState, good: frozenset[str]) -> ReleaseCandidate:
    candidate = verdict.candidate
    assert candidate is not None
    held = inventory.offered(verdict.name, candidate.label)
    base = inventory.released.get(verdict.name)
    blocked = list(verdict.blocked_by)
    if not tracker.reachable:
        blocked.insert(0, Blocker("tracker", f"the tracker could not be asked: "
                                             f"{tracker.error}"))
    releasable = verdict.releasable
    chosen = inventory.offered(verdict.name, releasable.label) if releasable else None
    return ReleaseCandidate(
        name=verdict.name,
        candidate=candidate.label,
        releasable=releasable.label if releasable else None,
        blocked_by=tuple(blocked),
        unknown_bugs=tuple(verdict.unknown_bugs if tracker.reachable else candidate.bugs),
        broken_requires=tuple(verdict.broken_requires),
        released=base.label if base else None,
        kind="sme" if any(v.bugs for v in (candidate, releasable) if v) else "upstream",
        security=any(found[b].security for b in candidate.bugs if b in found),
        bugs=candidate.bugs,
        changes=candidate.changes,
        release_changes=releasable.changes if releasable else (),
        srpm=held.srpm, rpms=tuple(held.binary_paths()),
        release_files=(tuple([*([chosen.srpm] if chosen.srpm else []), *chosen.binary_paths()])
                       if chosen else ()),
        verified_versions=(tuple(_verified(inventory, verdict.name, verdict.offered, found, good))
                           if tracker.reachable else ()),
    )


def _bugs(inventory: Inventory, found: dict[int, Bug], product: str | None,
          wanted: set[int]) -> dict[int, BugFacts]:
    users: dict[int, list[str]] = {}
    for package in inventory.packages:
        for version in (*package.candidates, *package.watched):
            for bug in version.bugs:
                users.setdefault(bug, []).append(f"{package.name}-{version.label}")
    bugs = {}
    for bug in sorted(wanted):
        answer = found.get(bug)
        packages = tuple(users.get(bug, []))
        bugs[bug] = BugFacts.unanswered(bug, packages) if answer is None else BugFacts(
            answer, packages, product_mismatch=bool(answer.known and product
                                                    and not answer.product_matches(product)))
    return bugs


def _unreferenced(inventory: Inventory) -> list[ChangeWithoutBug]:
    rows = []
    for package in inventory.packages:
        for version in (*package.candidates[:1], *package.watched[:1]):
            rows += [ChangeWithoutBug(package.name, version.label, version.repo,
                                      _entry_line(entry))
                     for entry in version.changes if not entry.bugs]
    return rows


def _entry_line(entry: Entry) -> str:
    return f"{entry.heading()} {entry.text.splitlines()[0] if entry.text else ''}".strip()

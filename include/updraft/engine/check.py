"""Check: the tree's health against the rules, read-only, like a filesystem check.

One full scan (headers from the header cache; its stat walk is the files' listing), what
each published arch dir's primary.xml lists (the listing kept at publishing while that
file's checksum is unchanged, else parsed), and the engine's own planner run without
writing anything: every action it would take is a problem ("not converged"), so check
and cycle can never disagree on what the rules are. A release still at the fingerprint
a cycle found consistent is not planned again unless --deep (which also compares every
file's sha256 with its repodata). The rules checked besides, each with its own words:
repodata lists exactly the files present; every family's binaries sit with the SRPM
they name; nothing in two tiers at once or beyond retention; no stray, misplaced,
unreadable or half-written file; no unfinished journal or unpublished repodata; the
ledger agrees with where every file it recorded is.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from updraft.engine.action import Touched
from updraft.engine.check_rules import family_problems, ledger_problems, signature_problems
from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.engine.journal import Journal
from updraft.engine.layout import SOURCE_DIR
from updraft.engine.listing import (
    LEFTOVERS,
    Listing,
    Listings,
    PrimaryEntry,
    from_scan,
    parse_primary,
    primary_of,
)
from updraft.engine.lock import tree_lock
from updraft.engine.package import sha256_of
from updraft.engine.tree import Tree


@dataclass(frozen=True)
class Problem:
    kind: str  # "repodata", "family", "tiers", "retention", "not converged", "stray", ...
    where: str  # the path (relative to the tree root) or arch dir label concerned
    text: str

    def line(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass
class Health:
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        return [problem.line() for problem in self.problems]

    def to_json(self) -> str:
        return json.dumps({"healthy": self.healthy, "files": self.files,
                           "problems": [asdict(problem) for problem in self.problems],
                           "timings": {k: round(v, 4) for k, v in self.timings.items()}})


class Checker:
    def __init__(self, engine: Engine, releases: Sequence[str] | None = None,
                 deep: bool = False) -> None:
        self.engine = engine
        self.layout = engine.layout
        self.releases = list(releases) if releases else list(engine.config.releases)
        # Also compare every file's checksum with primary.xml's, and plan a release even
        # when a cycle found it consistent at exactly these files.
        self.deep = deep
        self.health = Health()

    def add(self, kind: str, where: str, text: str) -> None:
        self.health.problems.append(Problem(kind, where, text))

    def _timed(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.health.timings[name] = self.health.timings.get(name, 0.0) + now - started
        return now

    def run(self) -> Health:
        clock = time.perf_counter()
        self._unfinished()
        clock = self._timed("journal", clock)
        listings = Listings(self.layout)
        # Its listings need no comparing: the check reads each primary.xml itself.
        planned = self.engine.pure_plan(self.releases, full=True, replan=self.deep,
                                        stale=False)
        clock = self._timed("scan and plan", clock)
        reported = self._repodata(listings, planned.tree)
        clock = self._timed("repodata", clock)
        self._files(planned.tree)
        for problem in family_problems(self.layout, planned.tree):
            self.add(*problem)
        clock = self._timed("families", clock)
        for problem in signature_problems(self.layout, planned.tree):
            self.add(*problem)
        clock = self._timed("signatures", clock)
        for problem in ledger_problems(self.layout, planned.tree):
            self.add(*problem)
        clock = self._timed("ledger", clock)
        for action in planned.plan.actions:
            self.add("not converged", action.src, action.detail())
        for target in planned.plan.touched:
            if target.label not in reported:
                self.add("not converged", target.label, f"repodata of {target.label} to rebuild")
        self.health.files = planned.tree.files_seen
        return self.health

    def _unfinished(self) -> None:
        for journal in Journal.pending(self.engine.journal_dir):
            self.add("journal", str(journal.path),
                     f"plan {journal.plan_id} ({journal.trigger}) was left unfinished by an "
                     "interrupted run; the next cycle finishes it")
        for target in self.engine.repodata.pending():
            if target.release in self.releases:
                self.add("repodata pending", target.label,
                         f"{target.label} changed since its repodata was published")

    def _repodata(self, listings: Listings, tree: Tree) -> set[str]:
        """Each published arch dir's primary.xml against its files; the labels reported."""
        reported: set[str] = set()
        for release in self.releases:
            published = listings.published(release)
            dirs = {(t.repo, t.archdir): self.layout.repodata_dir(release, t.repo, t.archdir)
                    for t in published}
            files = from_scan(tree.releases[release].found, dirs)  # stat'ed by the scan
            for target in published:
                repo_dir = dirs[(target.repo, target.archdir)]
                try:
                    listed, checksums = self._listed(listings, target, repo_dir)
                except (OSError, RuntimeError, ValueError) as exc:
                    self.add("repodata", target.label, f"{target.label}: unreadable ({exc})")
                    reported.add(target.label)
                    continue
                before = len(self.health.problems)
                self._compare(target.label, repo_dir, listed, files[repo_dir], checksums)
                if len(self.health.problems) > before:
                    reported.add(target.label)
            for repo, archdir in sorted(tree.releases[release].without_repodata):
                label = f"{release}/{repo}/{archdir}"
                if label not in {t.label for t in self.engine.repodata.pending()}:
                    self.add("repodata", label, f"{label} has no repodata yet (every repo "
                             "arch dir gets some, empty or not: the next cycle writes it)")
                    reported.add(label)
        return reported

    def _listed(self, listings: Listings, target: Touched,
                repo_dir: Path) -> tuple[Listing, dict[str, PrimaryEntry] | None]:
        """What the arch dir's primary.xml lists: the listing kept at publishing while
        the file is still the one it was read from (its checksum says so), else parsed
        (always with --deep, which compares checksums too)."""
        primary = primary_of(repo_dir)
        if primary is None:
            return {}, None
        recorded = None if self.deep else listings.recorded(target)
        if recorded is not None and recorded.primary == primary.checksum and primary.intact():
            return recorded.files, None
        entries = parse_primary(primary)
        return {href: (e.size, e.mtime) for href, e in entries.items()}, entries

    def _compare(self, label: str, repo_dir: Path, listed: Listing, files: Listing,
                 entries: dict[str, PrimaryEntry] | None) -> None:
        for href in sorted(files.keys() - listed.keys()):
            self.add("repodata", f"{label}/{href}", f"{label}: {href} is not listed")
        for href in sorted(listed.keys() - files.keys()):
            self.add("repodata", f"{label}/{href}", f"{label}: lists {href}, which is not there")
        for href in sorted(files.keys() & listed.keys()):
            if files[href] != listed[href]:
                (size, mtime), (was_size, was_mtime) = files[href], listed[href]
                self.add("repodata", f"{label}/{href}",
                         f"{label}: {href} is {size} bytes from {mtime}, listed as "
                         f"{was_size} bytes from {was_mtime}")
            elif self.deep and entries is not None:
                entry = entries[href]
                if entry.checksum_type == "sha256" and \
                        sha256_of(repo_dir / href) != entry.checksum:
                    self.add("repodata", f"{label}/{href}", f"{label}: {href} does not match "
                             "the checksum its repodata lists")

    def _files(self, tree: Tree) -> None:
        root = str(self.layout.root) + os.sep
        for release, release_tree in tree.releases.items():
            belongs = {arch: self.layout.archdirs_for(release, arch) for arch in
                       {f.facts.arch for f in release_tree.files}}
            belongs["src"] = [SOURCE_DIR]
            for bad in release_tree.bad:
                shown = str(bad.path).removeprefix(root)
                self.add("unreadable", shown, f"{shown}: {bad.reason}")
            for path in release_tree.arriving:
                shown = str(path).removeprefix(root)
                self.add("arriving", shown, f"{shown}: unreadable and still changing")
            for package in release_tree.files:
                shown = package.path.removeprefix(root)
                if package.archdir is None:
                    self.add("stray", shown, f"{shown}: outside {package.repo}'s layout")
                    continue
                facts = package.facts
                right = belongs[facts.arch]
                if package.archdir not in right or not package.path.endswith(
                        os.sep + facts.filename):
                    self.add("unplaced", shown, f"{shown}: {facts.nevra} belongs in "
                             f"{', '.join(right) or 'no arch dir'} as {facts.filename}")
        leftovers: list[str] = []
        for repo_dir in self._every_dir():
            _hidden(repo_dir, leftovers)
        for leftover in leftovers:
            shown = leftover.removeprefix(root)
            self.add("leftover", shown, f"{shown}: a temporary file of an interrupted run")

    def _every_dir(self) -> list[Path]:
        dirs: list[Path] = []
        for release in self.releases:
            for repo in self.engine.config.repos:
                dirs.append(self.layout.source_dir(release, repo))
                dirs += [self.layout.repodata_dir(release, repo, archdir)
                         for archdir in self.layout.archdirs(release)]
        return list(dict.fromkeys(dirs))


def _hidden(top: Path, leftovers: list[str]) -> None:
    """A writer's temporary files and dirs below top (names only: nothing is stat'ed)."""
    pending = [str(top)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.name.startswith("."):
                if any(mark in entry.name for mark in LEFTOVERS):
                    leftovers.append(entry.path)
            elif entry.name != "repodata" and not entry.name.endswith(".rpm") and \
                    entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)


def check(engine: Engine, releases: Sequence[str] | None = None, deep: bool = False,
          locked: bool = True) -> Health:
    """The tree's health; `locked` holds the tree lock so no writer is caught midway."""
    if not locked:
        return Checker(engine, releases, deep).run()
    with tree_lock(engine.layout.state_dir, engine.config.lock_timeout, "check"):
        return Checker(engine, releases, deep).run()


def check_command(engine: Engine, args: argparse.Namespace) -> int:
    """`updraft check`: one line per problem (or JSON); exit 0 healthy, 1 otherwise."""
    releases = [engine.config.check_release(r) for r in args.release or []] or None
    if args.repair:
        result, health = repair(engine, releases, args.deep)
        if not result.nothing_to_do and args.format == "text":
            print(result.report, end="")
    else:
        health = check(engine, releases, args.deep)
    if args.format == "json":
        print(health.to_json())
    else:
        for line in health.lines():
            print(line)
        if health.healthy:
            print(f"healthy: {health.files} package files checked")
    return 0 if health.healthy else 1


def repair(engine: Engine, releases: Sequence[str] | None = None,
           deep: bool = False) -> tuple[CycleResult, Health]:
    """Apply the engine's own plan (a whole cycle, nothing else), then check again."""
    result = engine.update_repos(releases)
    return result, check(engine, releases, deep)

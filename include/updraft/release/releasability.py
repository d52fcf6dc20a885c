"""Releasability: which version of each package may go to smeupdates (seed 000).

A version is releasable when every bug its changes name is verified (soft
dependencies, part one) AND every other package version that holds part of the fix
for one of those bugs is released with it (part two). Part two makes it a fixpoint
across packages: holding back one version can hold back the versions sharing a bug
with it, and those in turn others. Seed 000's example:

    e-smith-base 5.0.0-16 cannot be released (bug 6248 is RESOLVED, not VERIFIED);
    it may be possible to release e-smith-base 5.0.0-14;
    e-smith-pop3 2.0.0-2 cannot: e-smith-base 5.0.0-16 holds part of bug 6262;
    e-smith-apache 2.0.0-7 cannot: e-smith-pop3 2.0.0-1 holds part of bug 4633.

An unknown bug status (tracker down, access denied, unknown number) never counts as
verified: fail closed. Coupled packages (libtevent and samba, rebuilt against it) go
out all or none: a member whose newest version is not released holds the others back
whole. The computation is pure: statuses in, verdicts out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from updraft.release.changelog import Entry, new_entries


@dataclass(frozen=True)
class VersionLog:
    """One version of a package and its changes since the released one."""

    label: str  # "5.0.0-16.el6.sme"
    repo: str
    changes: tuple[Entry, ...]

    @property
    def bugs(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(bug for entry in self.changes for bug in entry.bugs))


@dataclass(frozen=True)
class PackageVersions:
    """A source package: the versions offered for release, newest first, and newer
    versions elsewhere (smetest) that hold changes not offered yet."""

    name: str
    base: str | None  # the released version (smeupdates/smeos), None when never released
    candidates: tuple[VersionLog, ...]
    watched: tuple[VersionLog, ...] = ()

    def top(self) -> VersionLog | None:
        """The newest version anywhere: its changes are all changes not yet released."""
        versions = [*self.watched[:1], *self.candidates[:1]]
        return versions[0] if versions else None


@dataclass(frozen=True)
class Blocker:
    kind: str  # "unverified", "unknown", "soft", "requires", "coupled"
    reason: str
    bug: int | None = None
    package: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, object]:
        found = {"kind": self.kind, "reason": self.reason, "bug": self.bug,
                 "package": self.package, "version": self.version}
        return {key: value for key, value in found.items() if value is not None}


@dataclass
class Verdict:
    name: str
    candidate: VersionLog | None
    releasable: VersionLog | None = None
    blocked_by: list[Blocker] = field(default_factory=list)
    unknown_bugs: list[int] = field(default_factory=list)
    broken_requires: list[str] = field(default_factory=list)
    offered: tuple[VersionLog, ...] = ()  # every version offered, newest first


# status lookup: bug -> its state ("VERIFIED", "RESOLVED", ...) or None when unknown
StatusOf = Callable[[int], str | None]


class _Fixpoint:
    def __init__(self, packages: Iterable[PackageVersions], status: StatusOf,
                 releasable_states: frozenset[str]) -> None:
        self.packages = {package.name: package for package in packages}
        self.status = status
        self.states = releasable_states
        self.banned: set[tuple[str, str]] = set()  # (name, label) held back by requires
        self.chosen: dict[str, int | None] = {}
        # (name, label) -> the unreleased changes that held that version back
        self.held: dict[tuple[str, str], list[tuple[int, str, Entry]]] = {}
        # name -> the coupled partners whose newest version is not released with it
        self.uncoupled: dict[str, list[str]] = {}

    def verified(self, bug: int) -> bool:
        state = self.status(bug)
        return state is not None and state.upper() in self.states

    def self_ok(self, name: str, index: int) -> bool:
        version = self.packages[name].candidates[index]
        return (name, version.label) not in self.banned and all(
            self.verified(bug) for bug in version.bugs)

    def first_ok(self, name: str, start: int) -> int | None:
        candidates = self.packages[name].candidates
        return next((i for i in range(start, len(candidates)) if self.self_ok(name, i)), None)

    def pending(self, name: str) -> list[Entry]:
        """Changes of `name` that stay unreleased with the current choice."""
        package = self.packages[name]
        top = package.top()
        if top is None:
            return []
        index = self.chosen.get(name)
        released = package.candidates[index].changes if index is not None else ()
        return new_entries(top.changes, released)

    def holders(self) -> dict[int, list[tuple[str, Entry]]]:
        """bug -> the unreleased changes naming it, by package."""
        found: dict[int, list[tuple[str, Entry]]] = {}
        for name in self.packages:
            for entry in self.pending(name):
                for bug in entry.bugs:
                    found.setdefault(bug, []).append((name, entry))
        return found

    def solve(self) -> None:
        self.chosen = {name: self.first_ok(name, 0) for name in self.packages}
        self.held = {}
        while True:
            # One sweep sees the holders as the previous sweep left them, so the order
            # of packages never changes the outcome (nor the reasons recorded).
            holders = self.holders()
            moved = False
            for name, index in self.chosen.items():
                if index is None:
                    continue
                version = self.packages[name].candidates[index]
                reasons = [(bug, holder, entry) for bug in version.bugs
                           for holder, entry in holders.get(bug, [])]
                if reasons:
                    self.held.setdefault((name, version.label), reasons)
                    self.chosen[name] = self.first_ok(name, index + 1)
                    moved = True
            if not moved:
                return


def decide(packages: Iterable[PackageVersions], status: StatusOf,
           releasable_states: frozenset[str],
           requires_check: Callable[[dict[str, VersionLog]], dict[str, list[str]]] | None = None,
           partners: Callable[[str], Sequence[str]] | None = None,
           ) -> list[Verdict]:
    """Every package's verdict: its newest candidate, the version that may be released
    (possibly older, or none), and why the newest may not.

    `requires_check` gets the release set (name -> version) and returns the broken
    requirements per name (hard dependencies); a version with any is held back and the
    soft-dependency fixpoint is computed again without it. `partners` names a package's
    coupled partners (either way round): a unit is released whole or not at all.
    """
    fixpoint = _Fixpoint(packages, status, releasable_states)
    broken: dict[str, list[str]] = {}
    coupled = _coupled(fixpoint, partners) if partners else {}
    if partners:
        _wait_for_rebuilds(fixpoint, partners)
    while True:
        fixpoint.solve()
        if _cut_units(fixpoint, coupled):
            continue
        if requires_check is None:
            break
        release_set = _release_set(fixpoint)
        found = {name: deps for name, deps in requires_check(release_set).items() if deps}
        if not found:
            break
        for name, deps in found.items():
            broken.setdefault(name, []).extend(d for d in deps if d not in broken.get(name, []))
            fixpoint.banned.add((name, release_set[name].label))
    return [_verdict(fixpoint, name, broken.get(name, [])) for name in sorted(fixpoint.packages)]


def _coupled(fixpoint: _Fixpoint, partners: Callable[[str], Sequence[str]]) -> dict[str, set[str]]:
    """name -> its partners among the packages with versions offered, both ways round."""
    offered = {name for name, package in fixpoint.packages.items() if package.candidates}
    coupled: dict[str, set[str]] = {}
    for name in sorted(offered):
        for partner in partners(name):
            if partner in offered and partner != name:
                coupled.setdefault(name, set()).add(partner)
                coupled.setdefault(partner, set()).add(name)
    return coupled


def _wait_for_rebuilds(fixpoint: _Fixpoint, partners: Callable[[str], Sequence[str]]) -> None:
    """Hold back, whole, every package whose partner (rebuilt against it, the config's
    way round) has a newer version not offered yet (its rebuild still in smetest): the
    partner that would go with it, or stay released, is not the one built against it.
    `_coupled` cannot see such a partner, having nothing offered or not its newest."""
    for name, package in fixpoint.packages.items():
        if not package.candidates:
            continue
        pending = sorted({partner for partner in partners(name) if partner != name
                          and partner in fixpoint.packages
                          and fixpoint.packages[partner].watched})
        if pending:
            fixpoint.uncoupled[name] = pending
            fixpoint.banned.update((name, version.label) for version in package.candidates)


def _cut_units(fixpoint: _Fixpoint, coupled: dict[str, set[str]]) -> bool:
    """Hold back, whole, every chosen package whose partner's newest version is not
    chosen; True when one was (the fixpoint is then solved again without it)."""
    cut = False
    for name, others in coupled.items():
        if fixpoint.chosen.get(name) is None:
            continue
        missing = sorted(other for other in others if fixpoint.chosen.get(other) != 0)
        if missing:
            fixpoint.uncoupled[name] = missing
            fixpoint.banned.update((name, version.label)
                                   for version in fixpoint.packages[name].candidates)
            cut = True
    return cut


def _release_set(fixpoint: _Fixpoint) -> dict[str, VersionLog]:
    return {name: fixpoint.packages[name].candidates[index]
            for name, index in fixpoint.chosen.items() if index is not None}


def _verdict(fixpoint: _Fixpoint, name: str, broken: list[str]) -> Verdict:
    package = fixpoint.packages[name]
    candidate = package.candidates[0] if package.candidates else None
    index = fixpoint.chosen.get(name)
    verdict = Verdict(name, candidate, package.candidates[index] if index is not None else None,
                      broken_requires=broken, offered=package.candidates)
    if candidate is None or index == 0:
        return verdict
    for bug in candidate.bugs:
        state = fixpoint.status(bug)
        if state is None:
            verdict.unknown_bugs.append(bug)
            verdict.blocked_by.append(Blocker("unknown", f"bug {bug}: status unknown", bug))
        elif not fixpoint.verified(bug):
            verdict.blocked_by.append(Blocker(
                "unverified", f"bug {bug} is {state}: a change has not been verified", bug))
    for bug, holder, entry in fixpoint.held.get((name, candidate.label), []):
        where = f"{holder} {entry.evr}" if entry.evr else holder
        verdict.blocked_by.append(Blocker(
            "soft", f"part of the fix for bug {bug} is in {where}, which is not being "
                    "released", bug, holder, entry.evr or None))
    for dep in broken:
        verdict.blocked_by.append(Blocker("requires", f"breaks or lacks: {dep}"))
    for partner in fixpoint.uncoupled.get(name, []):
        verdict.blocked_by.append(Blocker(
            "coupled", f"coupled with {partner}, whose newest version is not being "
                       "released: they go together or not at all", package=partner))
    return verdict


def statuses(found: Mapping[int, object]) -> StatusOf:
    """A StatusOf over tracker answers (objects with `.status`); unknown ids give None."""

    def status(bug: int) -> str | None:
        answer = found.get(bug)
        return getattr(answer, "status", None) if answer is not None else None

    return status

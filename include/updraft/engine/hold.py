"""Held arrivals: a repo with an `approval` role changes only through a recorded Go.

Seed 000's habit stays: a packager's `cp` into smeupdates asks for the move. But the
file is not published: the cycle moves it aside, journaled like every move, to
`<state>/held/<release>/<repo>/<archdir>/<file>` (createrepo_c never sees it; the
family is still below), or, when it was the only copy (a `mv`), back to the repo below
its family came from; it reports "held: clamav-0.97.6-1 waits for a Go from
release_managers" and records a pending request in the ledger. Only a family granted
by a recorded Go (the promote DAG's gate) or an emergency override may enter the repo,
by a promotion or by the engine's pull-up.

Which files a gated repo legitimately holds is the *admitted* list
(`<state>/gated.json`): every file a journaled plan placed there, each with the header
digest of the build it placed (other bytes under that name are held). The first time the
cycle sees a gated repo it admits what is there (trust on first use: the tree's owner
set it up); every later arrival is held.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from updraft.config.dist import DistConfig
from updraft.engine.action import PHASE_ARRIVE, Action, Plan, Touched
from updraft.engine.evr import DistTag
from updraft.engine.family import Family, FamilyKey, family_key
from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import PackageFile, header_digest
from updraft.engine.tree import ReleaseTree
from updraft.private import open_private, private_dir

if TYPE_CHECKING:  # the ledger (SQLAlchemy) loads only when a cycle records
    from updraft.ledger.gates import GateRecords

Grant = tuple[str, str, FamilyKey]  # release, repo, family


def family_label(key: FamilyKey) -> str:
    """`clamav-0.97.6-1`: how a request names a family (dist tag stripped)."""
    return f"{key.name}-{key.version}-{key.release}"


@dataclass(frozen=True)
class GateView:
    """What the planner needs to know of the gates of one release."""

    gated: frozenset[str] = frozenset()
    granted: frozenset[tuple[str, FamilyKey]] = frozenset()  # (repo, family)

    def allows(self, repo: str, key: FamilyKey) -> bool:
        return repo not in self.gated or (repo, key) in self.granted


def gated_repos(config: DistConfig) -> dict[str, str]:
    """Repo -> the role that must approve every change of it."""
    return {name: repo.approval for name, repo in config.repos.items() if repo.approval}


@dataclass
class Admitted:
    """Tree-relative paths each gated repo legitimately holds, each bound to the header
    digest of the build a journaled plan (or the first sight) put there: other bytes
    under an admitted name (a file rewritten in place, another build renamed onto it)
    are an arrival like any other."""

    path: Path
    root: Path
    paths: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, layout: Layout, releases: Iterable[str], save: bool = True,
             scanned: Callable[[str], str | None] | None = None) -> Admitted:
        """`scanned`: the header digest the scan just verified of a file (by absolute
        path), which a first sight then need not read again (a first cycle's gated
        repo holds 4,000 files)."""
        path = layout.state_dir / "gated.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raw = {}
        admitted = cls(path, layout.root, {
            release: {repo: _bound(files) for repo, files in repos.items()}
            for release, repos in raw.items()})
        first_sight = admitted._bind_unknown()  # a list saved before digests were kept
        for release in releases:  # first sight of a gated repo: what is there is admitted
            for repo in gated_repos(layout.config):
                if repo not in admitted.paths.get(release, {}):
                    root = str(layout.root) + os.sep
                    admitted.paths.setdefault(release, {})[repo] = {
                        relative: (scanned and scanned(root + relative)
                                   or header_digest(layout.root / relative))
                        for relative in _on_disk(layout, release, repo)}
                    first_sight = True
        if first_sight and save:  # at once: a later `cp` must not be taken for part of it
            admitted.save()
        return admitted

    def _bind_unknown(self) -> bool:
        unknown = [(files, relative) for repos in self.paths.values()
                   for files in repos.values() for relative, digest in files.items()
                   if not digest]
        for files, relative in unknown:
            files[relative] = header_digest(self.root / relative)
        return bool(unknown)

    def admits(self, release: str, package: PackageFile, relative: str) -> bool:
        recorded = self.paths.get(release, {}).get(package.repo, {}).get(relative)
        return recorded is not None and recorded == package.facts.digest

    def follow(self, actions: Iterable[Action]) -> None:
        """What an applied plan put into, or took out of, a gated repo: a file put there
        is bound to the build it holds right after the plan placed it."""
        for action in actions:
            repos = self.paths.get(action.release, {})
            # A held name stays bound to its admitted build: only that may come back.
            if action.remove_src and action.from_repo in repos and action.verb != "hold":
                repos[action.from_repo].pop(action.src, None)
            if action.dst and action.to_repo in repos:
                repos[action.to_repo][action.dst] = header_digest(self.root / action.dst)

    def save(self) -> None:
        private_dir(self.path.parent)
        temporary = self.path.with_suffix(".tmp")
        with open_private(temporary, "w") as stream:
            stream.write(json.dumps({release: {repo: dict(sorted(files.items()))
                                               for repo, files in repos.items()}
                                     for release, repos in self.paths.items()}))
        os.replace(temporary, self.path)


def _bound(files: list[str] | dict[str, str]) -> dict[str, str]:
    """Relative path -> header digest ("" when unknown: a list saved by an older updraft)."""
    if isinstance(files, dict):
        return {str(relative): str(digest) for relative, digest in files.items()}
    return {str(relative): "" for relative in files}


def _on_disk(layout: Layout, release: str, repo: str) -> set[str]:
    found: set[str] = set()
    top = layout.repo_dir(release, repo)
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d != "repodata"]
        for name in files:
            if name.endswith(".rpm"):
                found.add(layout.relative(Path(directory) / name))
    return found


def bar_entries(plan: Plan, tree: ReleaseTree, layout: Layout, admitted: Admitted,
                view: GateView) -> Plan:
    """The engine's own moves into a gated repo without a Go (a pull-up completing an
    admitted family) may carry only builds admitted there (a noarch copy, a held name
    restored) and the family's SRPM: a binary grafted onto the family below, or the
    other bytes of a rewritten hard link, stay where they are, reported."""
    dist = DistTag(layout.config.dist_tag_pattern)
    by_path = {package.path: package for package in tree.files}
    builds = {repo: set(files.values()) for repo, files in admitted.paths.get(
        tree.release, {}).items()}
    kept: list[Action] = []
    barred: list[Action] = []
    for action in plan.actions:
        package = by_path.get(str(layout.root / action.src))
        if (action.verb in ("move", "copy") and action.dst and action.to_repo in view.gated
                and action.from_repo != action.to_repo and not (
                    package is not None and (
                        view.allows(action.to_repo, family_key(package.facts, dist))
                        or package.facts.is_source
                        or package.facts.digest in builds.get(action.to_repo, ())))):
            barred.append(action)
        else:
            kept.append(action)
    if not barred:
        return plan
    changed = {(a.from_repo, a.archdir) for a in kept if a.remove_src} | {
        (a.to_repo, a.archdir) for a in kept if a.dst}
    only_barred = ({(a.to_repo, a.archdir) for a in barred} | {
        (a.from_repo, a.archdir) for a in barred if a.remove_src}) - changed - tree.without_repodata
    lines = [f"{action.family}-{action.family_evr}: {action.filename} not taken into "
             f"{action.to_repo}: no Go, and not a build admitted there (left in "
             f"{action.from_repo})" for action in barred]
    return Plan(kept, [t for t in plan.touched if (t.repo, t.archdir) not in only_barred],
                plan.warnings + lines)


def bind_builds(plan: Plan, tree: ReleaseTree, layout: Layout) -> Plan:
    """Every action names the build it moves (its header digest), so a Go's digest covers
    the bytes shown: another build put under a planned name since changes the plan."""
    by_path = {package.path: package.facts.digest for package in tree.files}
    root = str(layout.root) + os.sep
    plan.actions = [replace(action, build=by_path.get(root + action.src, ""))
                    for action in plan.actions]
    return plan


def held_dir(layout: Layout, release: str, repo: str) -> Path:
    return layout.state_dir / "held" / release / repo


def hold_arrivals(tree: ReleaseTree, layout: Layout, families: dict[FamilyKey, Family],
                  admitted: Admitted, view: GateView) -> list[Action]:
    """Hold every file of a gated repo that no journaled plan placed there and whose
    family has no Go; the tree then plans as if they had never arrived."""
    roles = gated_repos(layout.config)
    below = {repo: {Path(p.path).name for p in tree.files
                    if p.repo in layout.config.repos[repo].pulls_from} for repo in roles}
    actions: list[Action] = []
    held: set[str] = set()
    for key, family in families.items():
        for member in family.members.values():
            for package in member.files:
                if package.repo not in roles or view.allows(package.repo, key):
                    continue
                relative = layout.relative(Path(package.path))
                if admitted.admits(tree.release, package, relative):
                    continue
                held.add(package.path)
                archdir = package.archdir or ""
                target, back_to = _hold_target(layout, tree.release, package, family,
                                               below[package.repo])
                actions.append(Action(
                    verb="hold", release=tree.release, family=family.name,
                    family_evr=family.label, package=member.facts.name,
                    filename=member.facts.filename, archdir=archdir, src=relative,
                    dst=layout.relative(target), from_repo=package.repo, to_repo=back_to,
                    phase=PHASE_ARRIVE, remove_src=True,
                    reason=f"{family_label(key)} waits for a Go from {roles[package.repo]}"))
    tree.files = [package for package in tree.files if package.path not in held]
    return actions


def _hold_target(layout: Layout, release: str, package: PackageFile, family: Family,
                 below: set[str]) -> tuple[Path, str | None]:
    """A `cp` (the file is still in a repo below): this copy is kept aside in the state
    dir. A `mv` (the only copy): it goes back where the family came from (the repo below
    holding its other members, else the first the gated repo pulls from), so a Go can
    promote it and a NoGo leaves it there."""
    name = Path(package.path).name
    sources = layout.config.repos[package.repo].pulls_from
    if name in below or not sources:
        aside = held_dir(layout, release, package.repo) / (package.archdir or "stray")
        return _free(aside / name), None
    holding = {f.repo for member in family.members.values() for f in member.files}
    repo = next((source for source in sources if source in holding), sources[0])
    facts = package.facts
    archdirs = ([package.archdir] if package.archdir else [SOURCE_DIR] if facts.is_source
                else layout.archdirs_for(release, facts.arch))
    # A noarch stray (every arch dir) stays stray there: the cycle lays it out.
    directory = (layout.package_dir(release, repo, archdirs[0]) if len(archdirs) == 1
                 else layout.repo_dir(release, repo))
    return _free(directory / name), repo


def _free(target: Path) -> Path:
    """A held file never replaces an earlier one (the same name cp-ed again, other bytes):
    the next free `name.N`."""
    number, free = 1, target
    while free.exists():
        number += 1
        free = target.with_name(f"{target.name}.{number}")
    return free


def touched_by(layout: Layout, actions: Iterable[Action]) -> list[Touched]:
    """The arch dirs a hold concerns (a stray file: those it would have gone to), so the
    cycle rebuilds them and its Repository Update mail reports the hold."""
    touched: list[Touched] = []
    for action in actions:
        if action.archdir:
            archdirs = [action.archdir]
        else:
            arch = action.filename.rsplit(".", 2)[-2]
            archdirs = [SOURCE_DIR] if arch == "src" else layout.archdirs_for(action.release,
                                                                               arch)
        touched += [Touched(action.release, repo, a) for a in archdirs
                    for repo in (action.from_repo, action.to_repo) if repo]
    return list(dict.fromkeys(touched))


def record_requests(records: GateRecords, config: DistConfig, applied: Iterable[Action],
                    by: str, at: datetime) -> None:
    """Held arrivals become pending requests; a family that entered a gated repo (after
    its Go or an override) has its request marked published."""
    roles = gated_repos(config)
    held: dict[tuple[str, str, str, str], list[str]] = {}
    published: set[tuple[str, str, str, str]] = set()
    for action in applied:
        if action.verb == "hold" and action.from_repo and action.dst:
            held.setdefault((action.release, action.from_repo, action.family,
                             action.family_evr), []).append(action.dst)
        elif action.verb in ("move", "copy") and action.to_repo in roles:
            published.add((action.release, action.to_repo, action.family, action.family_evr))
    for (release, repo, family, evr), files in held.items():
        records.request(release, repo, family, evr, sorted(files), at)
    for release, repo, family, evr in published:
        records.decide(release, repo, family, evr, "published", by, by, at)


def scope_plan(plan: Plan, names: set[str]) -> Plan:
    """A Go covers exactly the plan it showed: only these families' actions (their moves,
    the retention of older versions of the same name, their stage refresh) and the arch
    dirs those change; other pending work is left to the cycle."""
    actions = [action for action in plan.actions if action.family in names]
    changed = {(a.from_repo, a.archdir) for a in actions if a.remove_src} | {
        (a.to_repo, a.archdir) for a in actions if a.dst}
    touched = [t for t in plan.touched if (t.repo, t.archdir) in changed]
    warnings = [line for line in plan.warnings if any(line.startswith(n) for n in names)]
    return Plan(actions, touched, warnings)

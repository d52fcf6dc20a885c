"""Placement: from what each repo should hold to file actions (where every file goes).

Wanted holdings become wanted file locations (one per arch dir a package belongs in);
the difference with the files on disk becomes move / copy / place / delete actions,
each new location filled from the best existing file of the same package.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from updraft.engine.action import (
    PHASE_ARRIVE,
    PHASE_LEAVE,
    PHASE_RETIRE,
    PHASE_STAGE,
    Action,
    Plan,
    Touched,
    Verb,
)
from updraft.engine.evr import evr_key
from updraft.engine.family import Family, FamilyKey, Member, Slot
from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import PackageFile
from updraft.engine.tree import ReleaseTree

Holdings = dict[str, dict[FamilyKey, set[Slot]]]


@dataclass(frozen=True, slots=True)
class Want:
    repo: str
    archdir: str
    member: Member
    family: Family


class _Differ:
    def __init__(self, tree: ReleaseTree, layout: Layout, families: dict[FamilyKey, Family],
                 stage_home: dict[FamilyKey, str]) -> None:
        self.tree = tree
        self.layout = layout
        self.config = layout.config
        self.families = families
        self.stage_home = stage_home
        self.release = tree.release
        self.root = str(layout.root) + os.sep
        self.dirs: dict[tuple[str, str], str] = {}
        self.insides: dict[tuple[str, str], str] = {}  # repodata dir + separator
        self.plan = Plan()
        self.sortable: list[tuple[tuple, Action]] = []
        self.archdir_rank = layout.archdir_rank(tree.release)

    def package_dir(self, repo: str, archdir: str) -> str:
        found = self.dirs.get((repo, archdir))
        if found is None:
            found = self.dirs[(repo, archdir)] = str(
                self.layout.package_dir(self.release, repo, archdir))
        return found

    def wanted_locations(self, wanted: Holdings) -> dict[str, Want]:
        locations: dict[str, Want] = {}
        for repo, held in wanted.items():
            if self.config.repos[repo].frozen:
                continue
            for key, slots in held.items():
                family = self.families[key]
                for slot in slots:
                    for member in family.members_in(slot):
                        self._locate(repo, member, family, locations)
        return locations

    def _locate(self, repo: str, member: Member, family: Family, out: dict[str, Want]) -> None:
        facts = member.facts
        archdirs = [SOURCE_DIR] if facts.is_source else self.layout.archdirs_for(
            self.release, facts.arch)
        if not archdirs:
            # No arch dir takes this arch: leave its files where they are, and say so.
            for package in member.files:
                if package.repo == repo:
                    out[package.path] = Want(repo, "", member, family)
            self.plan.warnings.append(
                f"{facts.filename}: no arch directory of release {self.release} takes "
                f"arch {facts.arch}; left in place")
            return
        for archdir in archdirs:
            path = f"{self.package_dir(repo, archdir)}{os.sep}{facts.filename}"
            out[path] = Want(repo, archdir, member, family)

    def rel(self, path: str) -> str:
        return path[len(self.root):] if path.startswith(self.root) else path

    def add(self, family: Family, action: Action, src_archdir: str | None) -> None:
        rank = self.archdir_rank.get(action.archdir, 99)
        key = (family.name, action.package, evr_key(family.evr), rank, action.phase,
               action.verb, action.filename, action.src)
        self.sortable.append((key, action))
        self.touch(action.to_repo, action.dst, action.archdir)
        if action.remove_src and src_archdir:
            self.touch(action.from_repo, action.src, src_archdir)

    def touch(self, repo: str | None, path: str | None, archdir: str) -> None:
        if repo is None or path is None or archdir in ("", SOURCE_DIR):
            return
        settings = self.config.repos[repo]
        if settings.stage or not settings.repodata:
            return
        inside = self.insides.get((repo, archdir))
        if inside is None:  # a Path made once per arch dir, not once per action
            inside = self.insides[(repo, archdir)] = str(
                self.layout.repodata_dir(self.release, repo, archdir)) + os.sep
        if (self.root + path).startswith(inside):
            self.plan.touched.append(Touched(self.release, repo, archdir))


def diff_placements(tree: ReleaseTree, layout: Layout, families: dict[FamilyKey, Family],
                    wanted: Holdings, stage_home: dict[FamilyKey, str]) -> Plan:
    differ = _Differ(tree, layout, families, stage_home)
    wanted_at = differ.wanted_locations(wanted)
    frozen = {name for name, repo in layout.config.repos.items() if repo.frozen}
    present: dict[str, PackageFile] = {
        package.path: package for package in tree.files if package.repo not in frozen}
    leaving = {path for path in present if path not in wanted_at}
    consumed: set[str] = set()
    stage = layout.config.stage_repo
    arrivals = sorted((path for path in wanted_at if path not in present),
                      key=lambda path: (wanted_at[path].repo == stage, path))
    for path in arrivals:
        _arrive(differ, path, wanted_at[path], leaving, consumed)
    departing = sorted(leaving - consumed)
    if departing:  # none in a first cycle: 37,000 owners are not worth making then
        survivors = {id(want.member) for want in wanted_at.values() if want.repo != stage}
        survivors |= {id(m) for f in families.values() for m in f.members.values()
                      if any(p.repo in frozen for p in m.files)}
        owners = {id(p): (f, m) for f in families.values() for m in f.members.values()
                  for p in m.files}
        for path in departing:
            _leave(differ, present[path], owners, survivors)
    _quarantine(differ, frozen)
    differ.sortable.sort(key=lambda pair: pair[0])
    plan = differ.plan
    plan.actions = [action for _, action in differ.sortable]
    plan.touched = sorted(set(plan.touched), key=lambda t: (t.release, t.repo, t.archdir))
    return plan


def _pick_source(want: Want, path: str, leaving: set[str], consumed: set[str],
                 is_stage: bool) -> tuple[PackageFile, bool]:
    """The file to fill a new location from, and whether that file goes away."""
    files = want.member.files
    if not is_stage:
        for same_repo, must_leave in ((True, True), (True, False), (False, True)):
            for package in sorted(files, key=lambda p: p.archdir != want.archdir):
                source = package.path
                if (package.repo == want.repo) != same_repo:
                    continue
                if must_leave and (source not in leaving or source in consumed):
                    continue
                if not must_leave and source in leaving:
                    continue
                if must_leave:
                    consumed.add(source)
                return package, must_leave
    same_dir = [p for p in files if p.archdir == want.archdir]
    return (same_dir or files)[0], False


def _arrive(differ: _Differ, path: str, want: Want, leaving: set[str], consumed: set[str]) -> None:
    is_stage = want.repo == differ.config.stage_repo
    source, removes = _pick_source(want, path, leaving, consumed, is_stage)
    verb: Verb
    if is_stage:
        verb, from_repo, phase = "copy", differ.stage_home.get(want.family.key), PHASE_STAGE
    elif source.repo == want.repo:
        verb, from_repo, phase = "place", source.repo, PHASE_ARRIVE
    else:
        verb, from_repo, phase = ("move" if removes else "copy"), source.repo, PHASE_ARRIVE
    facts = want.member.facts
    action = Action(
        verb=verb, release=differ.release, family=want.family.name,
        family_evr=want.family.label, package=facts.name, filename=facts.filename,
        archdir=want.archdir, src=differ.rel(source.path), dst=differ.rel(path),
        from_repo=from_repo, to_repo=want.repo, phase=phase, remove_src=removes,
    )
    differ.add(want.family, action, source.archdir)


def _leave(differ: _Differ, package: PackageFile, owners: dict[int, tuple[Family, Member]],
           survivors: set[int]) -> None:
    family, member = owners[id(package)]
    facts = package.facts
    archdir = package.archdir or (SOURCE_DIR if facts.is_source else next(
        iter(differ.layout.archdirs_for(differ.release, facts.arch)), ""))
    if package.repo == differ.config.stage_repo:
        phase = PHASE_STAGE
    else:
        phase = PHASE_LEAVE if id(member) in survivors else PHASE_RETIRE
    action = Action(
        verb="delete", release=differ.release, family=family.name, family_evr=family.label,
        package=facts.name, filename=facts.filename, archdir=archdir,
        src=differ.rel(package.path), dst=None, from_repo=package.repo, to_repo=None,
        phase=phase, remove_src=True,
    )
    differ.add(family, action, package.archdir)


def _quarantine(differ: _Differ, frozen: set[str]) -> None:
    places = {str(differ.layout.package_dir(differ.release, repo, a)): a
              for repo in differ.config.repos
              for a in [*differ.layout.archdirs(differ.release), SOURCE_DIR]}
    taken: set[str] = set()
    for bad in differ.tree.bad:
        # A frozen repo keeps even its bad packages; a link or FIFO is no package, and
        # createrepo_c would follow a link: that goes aside even from smeos.
        if bad.repo in frozen and os.path.isfile(bad.path) and not os.path.islink(bad.path):
            differ.plan.warnings.append(f"{bad.path}: {bad.reason} (left in frozen {bad.repo})")
            continue
        archdir = places.get(str(bad.path.parent), "")
        target = _quarantine_target(differ, bad.repo, archdir or "stray", bad.path.name, taken)
        action = Action(
            verb="quarantine", release=differ.release, family="", family_evr="",
            package="", filename=target.name, archdir=archdir,
            src=differ.rel(str(bad.path)), dst=differ.rel(str(target)), from_repo=bad.repo,
            to_repo=None, phase=PHASE_RETIRE, remove_src=True, reason=bad.reason,
        )
        differ.sortable.append((("", "", None, 0, 0, "quarantine", target.name, ""), action))
        differ.touch(bad.repo, action.src, archdir)


def _quarantine_target(differ: _Differ, repo: str, where: str, name: str,
                       taken: set[str]) -> Path:
    """quarantine/<release>/<repo>/<arch dir>/<name>, never an existing one: two bad
    files of one name (two arch dirs, or this week's and last week's) are both kept."""
    # The name is outside data: only plain characters reach the quarantine's paths.
    shown = re.sub(r"[^A-Za-z0-9._+~-]", "_", name) or "unnamed"
    directory = differ.layout.quarantine_dir(differ.release) / repo / where
    target = directory / shown
    number = 1
    while str(target) in taken or os.path.lexists(target):
        number += 1
        target = directory / f"{shown}.{number}"
    taken.add(str(target))
    return target

"""Closure: hard dependencies of a release, checked with libsolv.

Seed 000: "Hard dependencies ... specified in the spec file, eg: requires: e-smith-lib
>= 2.0.0-2." The release set, landed beside the target repos (smeupdates, smeos and
any configured base), must satisfy every Requires of what it brings, and must not
take away what a package already there requires (a newer version replaces the older
one for yum). Requirements broken before the release are not the release's doing and
are not reported.

Each arch dir is its own libsolv pool, loaded from the repos' primary metadata (what
yum itself reads); the arch dir's policy decides which arches count (i386 holds i686).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import solv

from updraft import depsolve

log = logging.getLogger(__name__)


@dataclass
class _ArchPool:
    pool: solv.Pool
    universe: set[int] = field(default_factory=set)  # solvable ids of target/base repos
    by_path: dict[str, solv.XSolvable] = field(default_factory=dict)  # candidates
    # solvable id -> the requirements that count (read once: each check reuses them)
    requires: dict[int, list[solv.Dep]] = field(default_factory=dict)


class RequiresCheck:
    """Answers, for a release set, which requirements it would break (per package)."""

    def __init__(self, repo_dirs: Mapping[str, Mapping[str, Path]], universe: Sequence[str],
                 candidates: str, ignore: Iterable[str] = ()) -> None:
        """`repo_dirs`: arch dir -> repo -> the directory createrepo_c ran on."""
        self.ignore = [re.compile(pattern) for pattern in ignore]
        self.missing: list[str] = []  # repos without repodata (not checked)
        self.pools: dict[str, _ArchPool] = {}
        for archdir, dirs in repo_dirs.items():
            self.pools[archdir] = self._pool(archdir, dirs, universe, candidates)

    def _pool(self, archdir: str, dirs: Mapping[str, Path], universe: Sequence[str],
              candidates: str) -> _ArchPool:
        pool = depsolve.new_pool(archdir)
        found = _ArchPool(pool)
        for repo_name in [*universe, candidates]:
            repo = depsolve.load_repo(pool, repo_name, dirs[repo_name])
            if repo is None:
                self.missing.append(f"{repo_name}/{archdir}")
                continue
            for solvable in repo.solvables:
                if repo_name == candidates:
                    href = solvable.lookup_location()[0]
                    # normpath, not resolve(): the tree's paths come from one root
                    # string, and a syscall per package cost most of the check.
                    found.by_path[os.path.normpath(os.path.join(dirs[repo_name], href))] = (
                        solvable)
                else:
                    found.universe.add(solvable.id)
        depsolve.index(pool)
        for repo in pool.repos:
            for solvable in repo.solvables:
                deps = [dep for dep in solvable.lookup_deparray(solv.SOLVABLE_REQUIRES)
                        if not self._skip(dep)]
                if deps:
                    found.requires[solvable.id] = deps
        return found

    def __call__(self, release_set: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """`release_set`: source name -> the binary files it releases; returns the broken
        requirements per source name (names with none are left out)."""
        broken: dict[str, list[str]] = {}
        for archdir, arch_pool in self.pools.items():
            for name, problems in self._check(arch_pool, release_set).items():
                for problem in problems:
                    line = f"{problem} [{archdir}]"
                    if line not in broken.setdefault(name, []):
                        broken[name].append(line)
        return broken

    def _skip(self, dep: solv.Dep) -> bool:
        text = str(dep)
        return not text or any(pattern.search(text) for pattern in self.ignore)

    def _check(self, found: _ArchPool, release_set: Mapping[str, Sequence[str]]
               ) -> dict[str, list[str]]:
        pool = found.pool
        owner: dict[int, str] = {}  # released solvable id -> its source name
        for name, paths in release_set.items():
            for path in paths:
                solvable = found.by_path.get(os.path.normpath(path))
                if solvable is not None and pool.isknownarch(solvable.archid):
                    owner[solvable.id] = name
        replaced: dict[int, int] = {}  # universe solvable id -> the released one
        released = [pool.solvables[i] for i in owner]
        for new in released:
            for old in pool.whatprovides(pool.str2id(new.name)):
                if old.id in found.universe and old.name == new.name and \
                        old.evrcmp(new) < 0:
                    replaced[old.id] = new.id

        def visible(solvable: solv.XSolvable) -> bool:
            return solvable.id in owner or (solvable.id in found.universe
                                            and solvable.id not in replaced)

        broken: dict[str, list[str]] = {}

        def report(name: str, problem: str) -> None:
            if problem not in broken.setdefault(name, []):
                broken[name].append(problem)

        for new in released:
            for dep in found.requires.get(new.id, ()):
                if not any(map(visible, pool.whatprovides(dep))):
                    report(owner[new.id], f"{new} requires {dep}, which nothing provides")
        if not replaced:
            return broken
        # What stays must not lose a provider: one pass over the universe's requirements
        # (whatprovides is an index lookup; a reverse search per provide scans the pool).
        for user_id in found.universe - replaced.keys():
            for dep in found.requires.get(user_id, ()):
                providers = pool.whatprovides(dep)
                if any(map(visible, providers)):
                    continue
                gone = next((p for p in providers if p.id in replaced), None)
                if gone is not None:  # else it was broken before the release
                    new = pool.solvables[replaced[gone.id]]
                    report(owner[new.id], f"{pool.solvables[user_id]} requires {dep}, which "
                                          f"{gone} provides and {new} replaces")
        return broken

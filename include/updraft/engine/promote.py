"""Promotion: seed 000's `cp test/clamav-0.97.6-1.el4.rf.i386.rpm updates-testing/`, done
properly. A file or name-version-release becomes an Intent; the planner then moves the
whole family exactly as the update cycle would after the `cp`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from updraft.engine.evr import DistTag
from updraft.engine.family import Family, FamilyKey, Slot, group_families
from updraft.engine.header_cache import NAME, SOURCE
from updraft.engine.layout import Layout
from updraft.engine.plan import Intent, current_holdings
from updraft.engine.tree import Tree
from updraft.errors import ConfigError, PackageNotFound


class Promotion:
    """Resolves `what` (a file in the tree, or N-V-R) to an Intent for `target`.

    A family already in the target is no error: a retried promotion (Airflow's, or a
    person's after a kill) finds its work done. It resolves to no intent and `already`
    says so; the cycle it runs in still finishes any journal and publishes any repodata
    left pending.
    """

    def __init__(self, layout: Layout, what: str, target: str, release: str | None) -> None:
        config = layout.config
        config.check_repo(target)
        settings = config.repos[target]
        if settings.stage or settings.frozen:
            kind = "the stage" if settings.stage else "frozen"
            raise ConfigError(f"{target} is {kind}: the update cycle never promotes into it")
        self.layout = layout
        self.what = what
        self.target = target
        self.release = config.check_release(release) if release else None
        self.already: str | None = None  # set when the family is found in the target

    def __call__(self, tree: Tree) -> dict[str, list[Intent]]:
        dist = DistTag(self.layout.config.dist_tag_pattern)
        matches: list[tuple[str, Intent | None]] = []
        for release, release_tree in tree.releases.items():
            if self.release and release != self.release:
                continue
            families = group_families(release_tree.files, dist)
            found, intent = self._resolve(families, release)
            if found:
                matches.append((release, intent))
        if not matches:
            raise PackageNotFound(f"{self.what}: no such package file or name-version-release "
                                  "in the tree (see `updraft status`)")
        if len(matches) > 1:
            releases = ", ".join(release for release, _ in matches)
            raise PackageNotFound(f"{self.what} is in releases {releases}: choose with --release")
        release, intent = matches[0]
        if intent is None:
            self.already = f"{self.what} is already in {self.target}: nothing to promote"
            return {release: []}
        self.already = None
        return {release: [intent]}

    def source_names(self, rows: Mapping[str, tuple]) -> set[str] | None:
        """The source names `what` can resolve to (a superset; see NamedIntents): a
        file's cached row names its source; an N-V-R or file name starts with its
        package's or its family's name and a dash. None when the file has no row."""
        path = self._as_path()
        if path is not None:
            row = rows.get(str(path))
            return None if row is None else {row[SOURCE]}
        return {row[SOURCE] for row in rows.values()
                if self.what.startswith((f"{row[SOURCE]}-", f"{row[NAME]}-"))}

    def _resolve(self, families: dict[FamilyKey, Family],
                 release: str) -> tuple[bool, Intent | None]:
        """(found, the intent): found without an intent is a promotion already done."""
        path = self._as_path()
        holdings = current_holdings(families)
        for key, family in families.items():
            for member in family.members.values():
                for package in member.files:
                    if path is not None and package.path == str(path):
                        return True, self._intent(key, frozenset({member.slot}), package.repo)
            if self.what in _family_names(family):
                return True, self._family_intent(key, family, holdings)
            for member in family.members.values():
                facts = member.facts
                if self.what in (f"{facts.name}-{facts.version}-{facts.release}", facts.filename):
                    return True, self._family_intent(key, family, holdings, {member.slot})
        return False, None

    def _as_path(self) -> Path | None:
        for candidate in (Path(self.what), self.layout.root / self.what):
            if candidate.is_file():
                return candidate.resolve()
        return None

    def _family_intent(self, key: FamilyKey, family: Family,
                       holdings: dict[str, dict[FamilyKey, set[Slot]]],
                       only: set[Slot] | None = None) -> Intent | None:
        config = self.layout.config
        held_in = [repo for repo in config.repo_order() if key in holdings.get(repo, {})]
        if self.target in held_in and (only is None or only <= holdings[self.target][key]):
            return None  # done (a rest still below is pulled up by the plan itself)
        sources = [repo for repo in held_in if repo in config.repos[self.target].pulls_from]
        if not sources:
            allowed = ", ".join(config.repos[self.target].pulls_from) or "no repo"
            raise PackageNotFound(
                f"{self.what} is in {', '.join(held_in)}; {self.target} takes families "
                f"from {allowed} only")
        slots = only or holdings[sources[0]][key]
        return Intent(self.target, key, frozenset(slots))

    def _intent(self, key: FamilyKey, slots: frozenset[Slot], repo: str) -> Intent | None:
        pulls_from = self.layout.config.repos[self.target].pulls_from
        if repo == self.target:
            return None
        if repo not in pulls_from:
            allowed = ", ".join(pulls_from) or "no repo"
            raise PackageNotFound(
                f"{self.what} is in {repo}; {self.target} takes families from {allowed} only")
        return Intent(self.target, key, slots)


def _family_names(family: Family) -> set[str]:
    key = family.key
    return {
        f"{key.name}-{key.version}-{key.release}",
        f"{key.name}-{key.version}-{family.display_release}",
    }

"""Gating: the gates one plan is made under, and the arrivals they hold.

A plan is made with gated repos shut, open to the families a recorded Go granted, or
open to all (an emergency override); `Gates` says which, `Gates.view` makes it the
planner's `GateView` of a release, and `arrivals_held` is what that view holds back
(the rules themselves: updraft.engine.hold).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.engine.action import Action
from updraft.engine.evr import DistTag
from updraft.engine.family import group_families
from updraft.engine.hold import Admitted, GateView, gated_repos, hold_arrivals
from updraft.engine.layout import Layout
from updraft.engine.plan import Intent
from updraft.engine.tree import ReleaseTree


@dataclass(frozen=True)
class Gates:
    """How a plan treats gated repos (see Engine.plan)."""

    grant: bool = False
    scoped: bool = False
    override: bool = False

    def view(self, config: DistConfig, intents: Sequence[Intent]) -> GateView:
        """One release's gates for this plan: none under an override; otherwise the
        gated repos, open to the intents' families only when they are granted."""
        if self.override:
            return GateView()
        granted = intents if self.grant else []
        gated = frozenset(gated_repos(config))
        return GateView(gated, frozenset((i.repo, i.family) for i in granted
                                         if i.repo in gated))


def arrivals_held(config: DistConfig, layout: Layout, release_tree: ReleaseTree,
                  view: GateView, remember: bool = True
                  ) -> tuple[list[Action], Admitted | None]:
    """Arrivals in gated repos without a Go are held (updraft.engine.hold)."""
    if not view.gated:
        return [], None
    # Loaded even for an unchanged release: a gated repo is admitted at first sight
    # (remembered by writers only: a preview or `updraft check` writes nothing).
    digests: dict[str, tuple[str, tuple[int, int, int]]] = {}

    def scanned(path: str) -> str | None:
        """The digest the scan verified, while the file is still as the walk saw it."""
        if not digests:  # made on a first sight only
            walked = _stats(release_tree)
            digests.update((p.path, (p.facts.digest, walked[p.path]))
                           for p in release_tree.files if p.path in walked)
        digest, seen = digests.get(path, ("", (-1, 0, 0)))
        try:
            status = os.lstat(path)
        except OSError:
            return None
        return digest if (status.st_size, status.st_mtime_ns, status.st_ctime_ns) == seen else None

    admitted = Admitted.load(layout, [release_tree.release], save=remember, scanned=scanned)
    if release_tree.unchanged:
        return [], admitted
    arrivals = [p for p in release_tree.files if p.repo in view.gated and not
                admitted.admits(release_tree.release, p, layout.relative(Path(p.path)))]
    if not arrivals:
        return [], admitted
    families = group_families(release_tree.files, DistTag(config.dist_tag_pattern))
    return hold_arrivals(release_tree, layout, families, admitted, view), admitted


def _stats(release_tree: ReleaseTree) -> dict[str, tuple[int, int, int]]:
    """Each walked file's (size, mtime, ctime) as the scan saw it."""
    walk = release_tree.walk
    stats = zip(walk.sizes, walk.mtimes, walk.ctimes, strict=True)
    return dict(zip(walk.kept_paths(), stats, strict=False))  # refused entries come last

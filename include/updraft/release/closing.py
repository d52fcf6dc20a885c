"""Closing: seed 000's "Closing all bugs associated with released packages".

Every bug named by a released change is closed with the configured status and
resolution and a comment naming what released it. The choice guaranteed the whole fix
went out together, so no bug is closed on a partial fix. Closing twice is a no-op.
"""

from __future__ import annotations

from typing import Protocol

from updraft.config.dist import DistConfig
from updraft.release.updates import Update


class Closer(Protocol):
    def close(self, ids: list[int], resolution: str, comment: str,
              status: str = "RESOLVED") -> list[int]: ...


def comments(config: DistConfig, release: str, updates: list[Update]) -> dict[int, str]:
    """bug -> the comment closing it (one bug may be fixed by several updates)."""
    by_bug: dict[int, list[Update]] = {}
    for update in updates:
        for bug in update.bugs:
            by_bug.setdefault(bug.id, []).append(update)
    settings = config.bugzilla.close
    return {bug: settings.comment.format(
        nvr=", ".join(u.nvr for u in found), repo=config.release.target,
        release_name=config.name, release=release,
        advisory=", ".join(u.advisory for u in found if u.advisory))
        for bug, found in sorted(by_bug.items())}


def close_bugs(tracker: Closer, config: DistConfig, release: str,
               updates: list[Update]) -> list[int]:
    settings = config.bugzilla.close
    closed = []
    for bug, comment in comments(config, release, updates).items():
        closed += tracker.close([bug], settings.resolution, comment, status=settings.status)
    return closed

"""Watch: notice a packager's `cp` into the tree within seconds, by a stat walk alone.

A release needs a cycle when its files differ from those the engine last found
consistent (the settled fingerprints). A change is announced once it has held still for
one poll, so a copy under way is not announced half-written, and each state of the tree
is announced only once: a file that stays unreadable does not wake the cycle again and
again (the scheduled cycle quarantines it when its arrival grace is over).
"""

from __future__ import annotations

from collections.abc import Callable

from updraft.engine.layout import Layout
from updraft.engine.walk import fingerprints


class TreeWatch:
    def __init__(self, layout: Layout, settled: Callable[[], dict[str, str]]) -> None:
        self.layout = layout
        self.settled = settled
        self._previous: dict[str, str] = {}
        self._announced: dict[str, str] = {}

    def poll(self) -> list[str]:
        """The releases whose unsettled change has held still since the last poll."""
        now = fingerprints(self.layout)
        settled = self.settled()
        ready = [
            release for release, fingerprint in now.items()
            if fingerprint != settled.get(release)
            and fingerprint == self._previous.get(release)
            and fingerprint != self._announced.get(release)
        ]
        self._previous = now
        self._announced.update({release: now[release] for release in ready})
        return ready

"""Watch: notice a packager's `cp` into the tree within seconds, by a stat walk alone.

A release needs a cycle when its files differ from those the engine last found
consistent (the settled fingerprints). A change is announced once it has held still for
one poll, so a copy under way is not announced half-written, and each state of the tree
is announced only once: a file that stays unreadable does not wake the cycle again and
again (the scheduled cycle quarantines it when its arrival grace is over).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from updraft.engine.layout import Layout
from updraft.engine.lock import tree_locked
from updraft.engine.tree import fingerprints


class TreeWatch:
    def __init__(self, layout: Layout, settled: Callable[[], dict[str, str]]) -> None:
        self.layout = layout
        self.settled = settled
        self._previous: dict[str, str] = {}
        self._announced: dict[str, str] = {}
        # The last poll saw a change it could not announce yet (it must hold still for
        # one more poll): a watcher woken by the file system polls again soon.
        self.changing = False

    def dirs(self) -> list[Path]:
        """The repo dirs a change can land in (what a file-system watch may listen to;
        the state dir, written by every cycle, is not among them)."""
        return [path for release in self.layout.config.releases
                for repo in self.layout.config.repos
                if (path := self.layout.repo_dir(release, repo)).is_dir()]

    def poll(self) -> list[str]:
        """The releases whose unsettled change has held still since the last poll.

        Nothing while a writer holds the tree lock: what moves then is the engine's own
        work (it records the tree settled before it lets go), not a packager's drop."""
        if tree_locked(self.layout.state_dir):
            self.changing = True
            self._previous = {}
            return []
        now = fingerprints(self.layout)
        settled = self.settled()
        ready = [
            release for release, fingerprint in now.items()
            if fingerprint != settled.get(release)
            and fingerprint == self._previous.get(release)
            and fingerprint != self._announced.get(release)
        ]
        self.changing = any(
            fingerprint != settled.get(release) and fingerprint != self._announced.get(release)
            and release not in ready for release, fingerprint in now.items())
        self._previous = now
        self._announced.update({release: now[release] for release in ready})
        return ready

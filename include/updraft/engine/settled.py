"""Settled marks: the releases a scan last found consistent, and at which fingerprint.

`<state_dir>/settled.json` maps each such release to the fingerprint of its files then.
A plan skips a release still at its mark (nothing changed since it was consistent) and
the watcher announces only a release that moved off its mark. The marks speak of the
header cache's view of the tree, so the two files are written together, in the one
order `SettledMarks.settle` keeps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from updraft.engine.cycle import Planned
from updraft.engine.durable import write_atomically
from updraft.engine.faults import checkpoint
from updraft.engine.header_cache import HeaderCache
from updraft.engine.layout import Layout

# The engine's logger, as before these marks left engine.py: a filter or a grep on
# updraft.engine.engine still sees the warning.
log = logging.getLogger("updraft.engine.engine")


class SettledMarks:
    """The settled marks of one tree (the Engine's `settled()` and `settled_file`)."""

    def __init__(self, layout: Layout) -> None:
        # The layout, not its state dir: the state dir follows the layout's config.
        self.layout = layout

    @property
    def file(self) -> Path:
        return self.layout.state_dir / "settled.json"

    def read(self) -> dict[str, str]:
        """Release -> fingerprint of its files when a scan last found it consistent."""
        try:
            return dict(json.loads(self.file.read_text()))
        except (OSError, ValueError):
            return {}

    def settle(self, settled: dict[str, str], planned: Planned, cache: HeaderCache,
               write: bool = True) -> None:
        """Write the header cache and the settled marks, crash-safely in this order:
        1. drop the marks of releases whose cached rows are about to change,
        2. write the cache, 3. mark the releases this scan found consistent.
        A kill between any two steps leaves marks only on views the cache holds.
        Both are only optimisations: a full or read-only disk still plans."""
        tree = planned.tree
        if cache.dirty:
            kept = {release: mark for release, mark in settled.items()
                    if release not in tree.releases or tree.releases[release].unchanged}
            if kept != settled:
                if not self._write(kept):
                    return  # the old marks must not meet a new cache
                checkpoint()
                settled = kept
            # Not written (`write`): the file keeps rows of the old view only, which the
            # marks kept describe; marking what this scan found consistent stays safe.
            if write and not cache.flush():
                return  # the marks kept still describe the cache as it is
        now = {release: mark for release, mark in settled.items()
               if release not in tree.releases or tree.releases[release].unchanged}
        now.update(planned.consistent)
        if now != settled:
            self._write(now)

    def _write(self, marks: dict[str, str]) -> bool:
        try:
            write_atomically(self.file, json.dumps(marks))
        except OSError as exc:
            log.warning("cannot record the settled releases: %s", exc)
            return False
        return True

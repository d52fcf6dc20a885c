"""Records: a build's package states in the ledger, as seed 004 draws them.

waiting (input verified) -> being built -> build failed | unsigned (built, a signature
asked for) -> signed/untested (landed in smetest: the engine records that one, as it
does for every arrival, from the repo's `enters_state`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from updraft.build.source import SourcePackage
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.ledger.store import StateChange


class BuildStates:
    def __init__(self, layout: Layout, release: str, source: SourcePackage) -> None:
        self.layout = layout
        self.release = release
        self.source = source

    def waiting(self, note: str = "") -> None:
        self._set([self.source.filename], "waiting", note or "input verified, build asked for")

    def being_built(self, archdir: str) -> None:
        self._set([self.source.filename], "being built", f"building for {archdir}")

    def build_failed(self, archdir: str, reason: str) -> None:
        self._set([self.source.filename], "build failed", f"{archdir}: {reason}")

    def unsigned(self, rpms: Iterable[Path]) -> None:
        names = [self.source.filename, *(path.name for path in rpms)]
        self._set(names, "unsigned", "built, waiting for a signature")

    def _set(self, packages: list[str], state: str, note: str) -> None:
        now = datetime.now(UTC)
        label = f"{self.source.version}-{self.source.release}"
        changes = [StateChange(release=self.release, family=self.source.name,
                               family_evr=label, package=package, repo=None, state=state,
                               at=now, note=note)
                   for package in dict.fromkeys(packages)]
        with Ledger.open(self.layout.ledger_url) as ledger:
            ledger.set_states(changes)

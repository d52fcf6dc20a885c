"""Publisher: createrepo_c on arch dirs, one per core, started as they become known.

`Engine.update_repos` starts publishing the dirs an apply marked as soon as its journal
is finished, and settles the tree (a re-scan, the header cache) under the tree lock
meanwhile: the two are independent, so the settling no longer waits in front of the
repodata. Each dir is published once per cycle; its pending mark is cleared only by its
own publish, so a run that dies leaves the marks of what it did not finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from updraft.engine.action import Touched


class Publisher:
    """Leaving the block waits for every dir started (on an error too: a createrepo_c is
    never left running behind the cycle)."""

    def __init__(self, publish_one: Callable[[Touched], Touched]) -> None:
        self._publish_one = publish_one
        self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
        self._started: dict[Touched, Future[Touched]] = {}

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True)

    def start(self, targets: Sequence[Touched]) -> None:
        for target in targets:
            if target not in self._started:
                self._started[target] = self._pool.submit(self._publish_one, target)

    def finish(self, targets: Sequence[Touched]) -> list[Touched]:
        """Publish these too (if not started yet); every dir published, in the order
        started. The first failure is raised, once every dir is done."""
        self.start(targets)
        return [future.result() for future in self._started.values()]

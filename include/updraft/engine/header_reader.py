"""Header reader: the facts of many RPM files, read and verified on every core.

A first scan reads every header and sha256s every payload (tens of thousands of files):
CPU work in rpm's C code and hashlib that one process does on one core. Above a
threshold the files are split over a bounded process pool (one worker per core); below
it, and wherever a pool cannot start, they are read here, in order. Each outcome is the
file's facts or the BadPackage that says why not, in the order of the paths given.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from updraft.engine.package import BadPackage, PackageFacts, read_facts

log = logging.getLogger(__name__)

# Fewer files than this are read in-process: a pool's start-up (~0.1 s) would cost more.
POOL_THRESHOLD = 2000
_CHUNK = 256

Outcome = PackageFacts | BadPackage


def _one(path: str | Path) -> Outcome:
    try:
        return read_facts(path)
    except BadPackage as exc:
        return exc


def _many(paths: Sequence[str | Path]) -> list[Outcome]:
    return [_one(path) for path in paths]


def read_all(paths: Sequence[str | Path], workers: int | None = None) -> list[Outcome]:
    """Facts or BadPackage per path (str: no Path made and pickled per file), in order."""
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(paths) < POOL_THRESHOLD:
        return _many(paths)
    chunks = [paths[start : start + _CHUNK] for start in range(0, len(paths), _CHUNK)]
    try:
        # A single-threaded caller (the CLI) forks: no start-up, no re-import of its main
        # module. One holding threads (an Airflow task) must not fork them (a lock held
        # by another thread stays held in the child): its workers come from a forkserver.
        # The workers only read: nothing they do needs undoing.
        method = "fork" if threading.active_count() == 1 else "forkserver"
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return [outcome for part in pool.map(_many, chunks) for outcome in part]
    except (OSError, RuntimeError) as exc:  # no /dev/shm, a sandbox without fork, ...
        log.warning("reading %d headers in one process (no process pool: %s)", len(paths), exc)
        return _many(paths)

"""Fault injection for the crash-safety tests: SIGKILL ourselves at the Nth checkpoint.

`UPDRAFT_CRASH_AT=N` makes the Nth checkpoint of this process kill it without any
cleanup, exactly like a power cut or an OOM kill (`UPDRAFT_CRASH_WHERE=TEXT`: the first
checkpoint whose step starts with TEXT). Unset (always, in production) a checkpoint is
one integer comparison.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

_CRASH_AT = int(os.environ.get("UPDRAFT_CRASH_AT", "0") or 0)
_CRASH_WHERE = os.environ.get("UPDRAFT_CRASH_WHERE", "")  # or at the first step named so
_passed = 0


def checkpoint(where: str = "") -> None:
    """`where` names the step for the crash tests' figures (e.g. "repodata: swap")."""
    global _passed
    if not _CRASH_AT and not _CRASH_WHERE:
        return
    _passed += 1
    if (_CRASH_AT and _passed >= _CRASH_AT) or (_CRASH_WHERE and where.startswith(_CRASH_WHERE)):
        os.write(2, f"\nCRASH at checkpoint {_passed} {where}\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)


def armed() -> bool:
    """Whether a crash is injected (for a checkpoint that needs work done first)."""
    return bool(_CRASH_AT or _CRASH_WHERE)


def running(process: subprocess.Popen[bytes] | subprocess.Popen[str], marker: Path,
            where: str) -> None:
    """A checkpoint while a child (createrepo_c) runs: under crash injection, first wait
    until it has begun writing (`marker` exists) or ended, so that a kill here lands
    mid-run. Unset, one comparison, like every checkpoint."""
    if not armed():
        return
    deadline = time.monotonic() + 10
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    checkpoint(where)


def checkpoints_passed() -> int:
    return _passed

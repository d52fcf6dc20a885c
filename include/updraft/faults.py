"""Fault injection for the crash-safety tests: SIGKILL ourselves at the Nth checkpoint.

`UPDRAFT_CRASH_AT=N` makes the Nth checkpoint of this process kill it without any
cleanup, exactly like a power cut or an OOM kill. Unset (always, in production) a
checkpoint is one integer comparison.
"""

from __future__ import annotations

import os
import signal

_CRASH_AT = int(os.environ.get("UPDRAFT_CRASH_AT", "0") or 0)
_passed = 0


def checkpoint() -> None:
    global _passed
    if not _CRASH_AT:
        return
    _passed += 1
    if _passed >= _CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def checkpoints_passed() -> int:
    return _passed

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


def checkpoint(where: str = "") -> None:
    """`where` names the step for the crash tests' figures (e.g. "repodata: swap")."""
    global _passed
    if not _CRASH_AT:
        return
    _passed += 1
    if _passed >= _CRASH_AT:
        os.write(2, f"\nCRASH at checkpoint {_passed} {where}\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)


def armed() -> bool:
    """Whether a crash is injected (for a checkpoint that needs work done first)."""
    return bool(_CRASH_AT)


def checkpoints_passed() -> int:
    return _passed

"""Locks: one writer at a time on a tree, CLI and Airflow alike; one createrepo_c per
arch dir.

An flock on a file in the state dir; the holder writes who it is into the file so a
waiting writer can say who holds it. The kernel drops the lock when the holder dies, so
a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from updraft.errors import LockTimeout
from updraft.private import private_dir


def _holder_text(handle: int) -> str:
    os.lseek(handle, 0, os.SEEK_SET)
    raw = os.read(handle, 4096).decode(errors="replace")
    try:
        holder = json.loads(raw)
    except ValueError:
        return "an unknown process"
    return (f"pid {holder.get('pid')} on {holder.get('host')} "
            f"({holder.get('command')}, since {holder.get('since')})")


# A reader's look (tree_locked) holds the tree's lock shared for an instant: a writer
# waits at least this long, so one that tries at that instant (even with lock_timeout 0,
# "do not wait for another writer") is never turned away by the watcher.
LOOK_GRACE = 0.2


def tree_lock(state_dir: Path, timeout: float, command: str = "") -> AbstractContextManager[None]:
    """Hold the tree's write lock; wait up to `timeout` seconds for another holder."""
    return hold(state_dir / "lock", f"tree {state_dir.parent}", max(timeout, LOOK_GRACE),
                command)


def tree_locked(state_dir: Path) -> bool:
    """A writer holds the tree's lock now (a reader's look: it never waits, never creates
    the lock file, and holds a shared lock for an instant at most)."""
    try:
        # O_NONBLOCK: a FIFO put there must not hang the look (opening one for reading
        # waits for a writer); on a regular file it changes nothing, flock included.
        handle = os.open(state_dir / "lock", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)  # closing drops the shared lock, if it was taken
    return False


def repodata_lock(state_dir: Path, label: str, timeout: float,
                  command: str = "") -> AbstractContextManager[None]:
    """Hold the lock of one arch dir's repodata (label `9/smetest/i386`)."""
    path = state_dir / "locks" / "repodata" / f"{label.replace('/', '__')}.lock"
    return hold(path, f"repodata of {label}", timeout, command)


@contextmanager
def hold(path: Path, what: str, timeout: float, command: str = "") -> Iterator[None]:
    """flock `path`; wait up to `timeout` seconds, then name the holder of `what`."""
    private_dir(path.parent)  # under the state dir: 0700 like it
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"{what} is locked by {_holder_text(handle)}; "
                        f"gave up after {timeout:g} s (retry later or raise lock_timeout)"
                    ) from None
                # flock cannot wait with a timeout; poll with a gentle backoff.
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.01)))
                delay = min(delay * 2, 1.0)
        holder = {
            "pid": os.getpid(), "host": socket.gethostname(),
            "command": command or " ".join(sys.argv[:3]),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(handle, 0)
            os.pwrite(handle, json.dumps(holder).encode(), 0)
        except OSError as exc:  # a full disk: name the file (an fd error names none)
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        try:
            yield
        finally:
            os.ftruncate(handle, 0)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)

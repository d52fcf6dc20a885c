"""Durable: what makes a rename survive a crash (the journal's and the downloads'), and
the plain write-aside-and-rename of files that need no fsync."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries, so a file renamed into it stays renamed."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


TEMPORARY = ".updraft-tmp"


def temporary_for(path: Path) -> Path:
    """A writer's own temporary name for `path` (written, then renamed over it).

    A writer killed between the two leaves its temporary behind, and the next writer
    removes it: every dead writer's `.<name>.<pid>.updraft-tmp` next to `path` goes
    (a live one's, a concurrent writer's, stays)."""
    prefix = f".{path.name}."
    for stale in path.parent.glob(f"{prefix}*{TEMPORARY}"):
        pid = stale.name[len(prefix):-len(TEMPORARY)]
        if pid.isdigit() and not alive(int(pid)):
            stale.unlink(missing_ok=True)
    return path.with_name(f"{prefix}{os.getpid()}{TEMPORARY}")


def alive(pid: int) -> bool:
    """Whether a process of this id runs (a writer that left a temporary died if not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's text whole (written aside, renamed over it): a reader, or a run
    after a kill, finds the old text or the new, never a part.

    Not fsynced: for files a run can do without (the settled marks, a report's copy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

"""updraft's own state is nobody else's business: directories 0700, files 0600.

The state dir holds the ledger (who approved what), journals, the header cache, locks
and quarantined packages; it usually sits inside a tree that mirrors and web servers
read. These helpers create it and its files privately, whatever the umask, without
touching the modes of the tree itself (packages and repodata stay world-readable).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """mkdir -p where every directory created is 0700 (existing ones are left alone)."""
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        directory.chmod(DIR_MODE)  # mkdir's mode is masked by the umask; be exact
    return path


def tighten(path: Path) -> None:
    """An existing state dir/file of ours that others can read: make it ours only."""
    try:
        info = path.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
    except OSError:  # gone, or not ours to change: the writer reports real trouble
        pass


def create_private(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists (for a file another library will
    fill, e.g. a SQLite database, which would otherwise follow the umask)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def open_private(path: Path, mode: str = "w") -> IO[Any]:
    """open(path, mode) for writing, creating the file 0600 (truncating unless "a");
    text or binary as `mode` says."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, FILE_MODE), mode)

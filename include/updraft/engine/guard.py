"""Guards of the engine's own writes: its state dir and repodata dirs are never reached
through a link, and a full, read-only or forbidden disk is one line naming the path
(the CLI and Airflow tasks alike), never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from updraft.engine.action import Touched
from updraft.engine.destination import no_link_below
from updraft.engine.layout import Layout
from updraft.errors import StorageError, StorageFull, storage_error
from updraft.safepath import UnsafePath, contained

_STATE_ENTRIES = ("lock", "locks", "journal", "quarantine", "reports", "headers", "headers.marshal",
                  "settled.json", "createrepo-cache", "ledger.sqlite", "iso")

P = ParamSpec("P")
R = TypeVar("R")


def storage_errors(method: Callable[P, R]) -> Callable[P, R]:
    """A full, read-only or forbidden disk becomes one line naming the path (CLI and
    Airflow alike); a journaled plan stays pending and the next run finishes it."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            mapped = storage_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        except Exception as exc:
            # SQLite says it in words: the ledger's disk is full or read-only.
            text = _ledger_storage_text(exc)
            if text is None:
                raise
            kind = StorageFull if "disk is full" in text else StorageError
            raise kind(f"cannot write the ledger: {text} (the plan's journal stays "
                       "pending: the next run records it)") from exc

    return wrapper


def _ledger_storage_text(exc: Exception) -> str | None:
    """SQLite's words when `exc` is the ledger's full or read-only disk, else None.
    SQLAlchemy is looked up, not imported: a command that never opened the ledger
    cannot have raised its error, and the CLI starts without loading it."""
    errors = sys.modules.get("sqlalchemy.exc")
    if errors is None or not isinstance(exc, errors.OperationalError):
        return None
    text = str(exc.orig)
    return text if "disk is full" in text or "readonly" in text else None


def check_state_dir(state_dir: Path) -> None:
    """What the engine writes in its state dir is never a link (a journal or quarantine
    written through one would land wherever it points)."""
    for name in _STATE_ENTRIES:
        path = state_dir / name
        if path.is_symlink():
            raise UnsafePath("state entry", str(path), "is a symbolic link: remove it (the "
                             "engine makes its own state files)")


def check_publish_dir(layout: Layout, target: Touched) -> None:
    """createrepo_c follows links: never run it on a dir reached through one (but the
    release dir's `10 -> 10.0`)."""
    repo_dir = layout.repodata_dir(target.release, target.repo, target.archdir)
    relative = repo_dir.relative_to(layout.root)
    contained(layout.root, str(relative), "repodata directory")
    no_link_below(layout.root, relative, first_may_link=True)

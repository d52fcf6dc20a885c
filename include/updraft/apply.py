"""Apply: carry out a journaled plan, idempotently, losing nothing.

Actions are applied per unit (one family of one release, or one bad file): first every
copy of the unit (hardlink on one filesystem, else copy + fsync + rename), each
verified by size and sha256 against the journal; only when all of them are in place
are the unit's sources deleted. A failing unit leaves its files untouched and the
other units go on. Re-running a journal after a crash finishes it.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from updraft.action import Action
from updraft.faults import checkpoint
from updraft.journal import Journal
from updraft.package import sha256_of

log = logging.getLogger(__name__)


class VerifyError(OSError):
    """A copy whose size or sha256 differs from its source's."""


@dataclass
class ApplyResult:
    applied: list[Action] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def source_digests(root: Path, actions: list[Action]) -> dict[str, tuple[int, str] | None]:
    """Size and sha256 of every file the plan copies, taken before anything changes."""
    digests: dict[str, tuple[int, str] | None] = {}
    for action in actions:
        if action.dst is None or action.src in digests:
            continue
        path = root / action.src
        try:
            digests[action.src] = (path.stat().st_size, sha256_of(path))
        except OSError:
            digests[action.src] = None  # vanished since the scan: its unit will fail
    return digests


def _units(actions: list[Action]) -> Iterator[list[Action]]:
    groups: dict[tuple[str, str], list[Action]] = {}
    for action in actions:
        unit = (action.release, action.family or f"bad:{action.src}")
        groups.setdefault(unit, []).append(action)
    yield from groups.values()


def apply_journal(journal: Journal, root: Path) -> ApplyResult:
    result = ApplyResult()
    index = {id(action): number for number, action in enumerate(journal.plan.actions)}
    for unit in _units(journal.plan.actions):
        failure = _apply_unit(journal, root, unit, index)
        if failure:
            result.failures.append(failure)
            log.warning("not applied: %s", failure)
        else:
            result.applied += unit
            for action in unit:
                if action.reported:
                    log.info("%s", action.describe())
    return result


def _apply_unit(journal: Journal, root: Path, unit: list[Action], index: dict[int, int]) -> str:
    for action in unit:
        step = f"link:{index[id(action)]}"
        if action.dst is None or step in journal.done:
            continue
        try:
            _place(root / action.src, root / action.dst, journal.digests.get(action.src))
            if action.verb == "quarantine":
                _write_reason(root / action.dst, action)
        except OSError as exc:
            where = Path(exc.filename2 or exc.filename or action.dst)
            shown = where.parent if where.name.endswith(".updraft-tmp") else where
            return (f"{action.describe()}: {exc.strerror or exc} ({shown}); family left as "
                    "it was, fix and re-run")
        journal.mark(step)
    for source in dict.fromkeys(a.src for a in unit if a.remove_src):
        step = f"unlink:{source}"
        if step in journal.done:
            continue
        try:
            os.unlink(root / source)
        except FileNotFoundError:
            pass
        except OSError as exc:
            return f"delete {source}: {exc.strerror}; its copies are in place, re-run to finish"
        checkpoint()
        journal.mark(step)
    return ""


def _place(source: Path, target: Path, expected: tuple[int, str] | None) -> None:
    """Make `target` a verified copy of `source` (idempotent)."""
    if expected is None:
        raise FileNotFoundError(errno.ENOENT, "source vanished before the plan", str(source))
    size, digest = expected
    if target.exists() and _already_there(source, target, size, digest):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.updraft-tmp")
    if temporary.exists():
        temporary.unlink()
    try:
        os.link(source, temporary)
        checkpoint()
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_durably(source, temporary)
    _verify(temporary, size, digest)
    os.replace(temporary, target)
    checkpoint()


def _already_there(source: Path, target: Path, size: int, digest: str) -> bool:
    if source.exists() and os.path.samefile(source, target):
        return True
    return target.stat().st_size == size and sha256_of(target) == digest


def _copy_durably(source: Path, temporary: Path) -> None:
    with open(source, "rb") as reader, open(temporary, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, temporary)
    checkpoint()


def _verify(copy: Path, size: int, digest: str) -> None:
    if copy.stat().st_size != size:
        raise VerifyError(errno.EIO, "copy has the wrong size", str(copy))
    if sha256_of(copy) != digest:
        raise VerifyError(errno.EIO, "copy does not match the source's sha256", str(copy))


def _write_reason(target: Path, action: Action) -> None:
    reason = target.with_name(target.name + ".reason")
    reason.write_text(f"{action.src}: {action.reason}\n")

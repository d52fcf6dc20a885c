"""Apply: carry out a journaled plan, idempotently, losing nothing.

Actions are applied per unit (one family of one release, or one bad file): first every
copy of the unit (hardlink on one filesystem, else copy + fsync + rename), each
verified against the journal: a hard link to a package journaled by inode by being that
very inode, unchanged (size, mtime); placed otherwise, by reading and verifying as the
build the plan saw; any other file by size and sha256. Only when all of them are in
place are the unit's sources deleted. A failing unit leaves its files untouched and the
other units go on. Re-running a journal after a crash finishes it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from updraft.engine.action import Action
from updraft.engine.destination import check_paths
from updraft.engine.faults import checkpoint
from updraft.engine.journal import Journal
from updraft.engine.package import BadPackage, read_facts, sha256_of
from updraft.engine.placed import Placed, Stamp
from updraft.safepath import UnsafePath

log = logging.getLogger(__name__)


class VerifyError(OSError):
    """A copy whose size or sha256 differs from its source's."""


class ContentConflict(OSError):
    """The destination already holds a different file of the same name: both are kept."""


# Size of a journaled source that is no regular file (a link, FIFO or directory the scan
# refused): it is never opened, only renamed aside whole.
NOT_A_FILE = -1
# The journaled digest of a file the engine owns, at the very stat the scan read and
# verified it at: not hashed up front (a hard link to that very inode, unchanged since,
# is those bytes). Placed otherwise (a copy, or by a resumed run, which has no stamps),
# the bytes placed must read and verify as the build the plan saw.
BY_INODE = "=inode"


@dataclass
class ApplyResult:
    applied: list[Action] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    placed: Placed = field(default_factory=Placed)


# The (size, mtime_ns, ctime_ns) the scan read and verified a file at, by its path
# relative to the tree root; None for a file it did not read.
Scanned = Callable[[str], tuple[int, int, int] | None]


def source_digests(root: Path, actions: list[Action], stamps: dict[str, Stamp] | None = None,
                   scanned: Scanned | None = None) -> dict[str, tuple[int, str] | None]:
    """Size and sha256 of every file the plan copies, taken before anything changes
    (each source once, however many copies it fills); `stamps` gets each one's stat.
    A file of ours still at the very stat the scan verified it at gets BY_INODE."""
    digests: dict[str, tuple[int, str] | None] = {}
    # By inode only where every placement of it names its build (what a copy or a
    # resumed run checks it against): a hold, added to a plan unbound, is hashed.
    unbound = {action.src for action in actions if action.dst is not None and not action.build}
    for action in actions:
        if action.dst is None or action.src in digests:
            continue
        path = root / action.src
        try:
            digests[action.src] = _identity(path, stamps, action.src,
                                            None if action.src in unbound else scanned)
        except OSError:
            digests[action.src] = None  # vanished since the scan: its unit will fail
    return digests


def _identity(path: Path, stamps: dict[str, Stamp] | None = None,
              key: str = "", scanned: Scanned | None = None) -> tuple[int, str]:
    """(size, sha256) of a regular file, or (size, BY_INODE) of one of ours the scan
    verified as it is now; of anything else, what it is (never opened: a FIFO would
    block the reader, a link would be followed)."""
    status = os.lstat(path)
    if stat.S_ISREG(status.st_mode):
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
        if (stamps is not None and scanned is not None and status.st_uid == os.geteuid()
                and scanned(key) == stamp[1:]):
            stamps[key] = stamp
            return status.st_size, BY_INODE
        digest = sha256_of(path)
        if stamps is not None:
            after = os.lstat(path)  # unchanged while it was read, or no stamp at all
            if (after.st_ino, after.st_size, after.st_mtime_ns, after.st_ctime_ns) == stamp:
                stamps[key] = stamp
        return status.st_size, digest
    if stat.S_ISLNK(status.st_mode):
        return NOT_A_FILE, f"link:{os.readlink(path)}"
    return NOT_A_FILE, stat.filemode(status.st_mode)


def _units(actions: list[Action]) -> Iterator[list[Action]]:
    groups: dict[tuple[str, str], list[Action]] = {}
    for action in actions:
        unit = (action.release, action.family or f"bad:{action.src}")
        groups.setdefault(unit, []).append(action)
    yield from groups.values()


def apply_journal(journal: Journal, root: Path, state_dir: Path | None = None) -> ApplyResult:
    """Apply every unit; a destination must stay inside the root (or the state dir,
    where the quarantine lives) with no link on the way."""
    try:
        return _apply_units(journal, root, state_dir)
    except BaseException:
        journal.close()  # finish() closes it on the way that succeeds
        raise


def _apply_units(journal: Journal, root: Path, state_dir: Path | None) -> ApplyResult:
    result = ApplyResult()
    index = {id(action): number for number, action in enumerate(journal.plan.actions)}
    areas = (root, state_dir or root / ".updraft")
    for unit in _units(journal.plan.actions):
        try:
            failure = check_paths(root, areas, unit) or _apply_unit(journal, root, unit, index)
        except UnsafePath as exc:
            failure = f"{exc}; family left as it was"
        if failure:
            result.failures.append(failure)
            log.warning("not applied: %s", failure)
        else:
            result.applied += unit
            for action in unit:  # the one listing of what was done, with why
                if action.reported:
                    log.info("%s", action.explained())
    result.placed = journal.placed
    return result


def _apply_unit(journal: Journal, root: Path, unit: list[Action], index: dict[int, int]) -> str:
    # A hold clears its path first: the same plan may complete the family at the very
    # name it held (other bytes were put under an admitted name of a gated repo).
    holds = [action for action in unit if action.verb == "hold"]
    return (_apply_steps(journal, root, holds, index)
            or _apply_steps(journal, root, [a for a in unit if a.verb != "hold"], index))


def _apply_steps(journal: Journal, root: Path, unit: list[Action], index: dict[int, int]) -> str:
    # Paths as str (17,000 links in a first cycle: Path objects were a third of the
    # apply); an absolute source is a file brought in from outside (an upstream mirror).
    top = str(root) + os.sep
    made: set[str] = set()  # dirs known to be there
    for action in unit:
        step = f"link:{index[id(action)]}"
        if action.dst is None or step in journal.done:
            continue
        stamp = journal.stamps.get(action.src)
        # The stamp as the source should be now: only this apply's links moved its ctime.
        expected = stamp and (*stamp[:3], journal.ctimes.get(action.src, stamp[3]))
        try:
            placed = _place(_under(top, action.src), _under(top, action.dst),
                            journal.digests.get(action.src), expected, action.build, made)
            if placed is not None and stamp is not None and placed.st_ino == stamp[0]:
                journal.ctimes[action.src] = placed.st_ctime_ns
            if placed is not None and stamp is not None and action.verb != "quarantine":
                journal.placed.note(action.src, action.dst, stamp, placed)
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
        journal.placed.unlinked(source, root)
        checkpoint()
        journal.mark(step)
    return ""


def _under(top: str, path: str) -> str:
    """`Path(top) / path` of a plan's path, as a str."""
    return path if path.startswith(os.sep) else top + path


def _place(source: str, target: str, expected: tuple[int, str] | None,
           stamp: Stamp | None = None, build: str = "",
           made: set[str] | None = None) -> os.stat_result | None:
    """Make `target` a verified copy of `source` (idempotent); never replace a different
    file that is already there. `stamp`: the source's (inode, size, mtime_ns) when its
    digest was taken, in this run; a hard link to that very inode, unchanged since, is
    not checked again (a copy always is). `build`: the header digest the plan saw, what
    a BY_INODE source placed otherwise is checked against. `made`: dirs known to be
    there already (not stat'ed again). Returns the placed file's stat, taken before it
    was verified (None when nothing was placed)."""
    if expected is None:
        raise FileNotFoundError(errno.ENOENT, "source vanished before the plan", source)
    size, digest = expected
    if size == NOT_A_FILE:
        _move_aside(Path(source), Path(target), digest)
        return None
    if os.path.lexists(target):
        if _already_there(Path(source), Path(target), size, digest, build):
            return None
        raise ContentConflict(
            errno.EEXIST, f"a different file of this name is already there (sha256 "
            f"{_digest_or_kind(Path(target))[:16]}, this one "
            f"{_shown(Path(source), digest)[:16]}): both kept; remove the wrong one", target)
    parent, name = os.path.split(target)
    if made is None or parent not in made:
        if not os.path.isdir(parent):  # one stat; mkdir would fail on most files
            os.makedirs(parent, exist_ok=True)
        if made is not None:
            made.add(parent)
    temporary = os.path.join(parent, f".{name}.updraft-tmp")
    # Whatever holds the temporary name (a dead run's link to a published inode, or a
    # link someone made there) goes first: a copy never writes through it.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    try:
        status = os.lstat(source)
        if stamp is not None and stamp != (status.st_ino, status.st_size,
                                           status.st_mtime_ns, status.st_ctime_ns):
            # Changed since its stamp (its ctime tells, even with the mtime put back):
            # what is placed is checked by its bytes, not by being that inode.
            stamp = None
        if status.st_uid != os.geteuid():
            # Another user's file (a packager's `cp`): a hard link would leave them the
            # owner of what is published, free to rewrite it in place in every repo
            # and the stage at once. The engine places its own copy.
            raise OSError(errno.EXDEV, "not ours to link", source)
        os.link(source, temporary)
        checkpoint()
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        try:
            _copy_durably(Path(source), Path(temporary))
        except OSError:
            Path(temporary).unlink(missing_ok=True)  # a full disk keeps no half copy
            raise
    placed = os.lstat(temporary)  # before the check: a later change moves its ctime
    try:
        _verify(temporary, size, digest, stamp, placed, build)
    except VerifyError:
        Path(temporary).unlink(missing_ok=True)  # never left beside the packages
        raise
    os.replace(temporary, target)
    checkpoint("apply: file placed")
    # The rename moved the ctime too: the stat after it, if nothing else changed.
    after = os.lstat(target)
    same = (after.st_ino, after.st_size, after.st_mtime_ns) == (
        placed.st_ino, placed.st_size, placed.st_mtime_ns)
    return after if same else None


def _already_there(source: Path, target: Path, size: int, digest: str, build: str) -> bool:
    """The same inode, or the same bytes (a copy finished before a crash)."""
    there = os.lstat(target)
    if not stat.S_ISREG(there.st_mode):
        return False
    if source.exists() and os.path.samefile(source, target):
        return True
    if there.st_size != size:
        return False
    return _is_build(target, build) if digest == BY_INODE else sha256_of(target) == digest


def _is_build(path: Path, build: str) -> bool:
    """Whether the package at `path` reads and verifies (header digests, payload digest)
    as the very build the plan saw: what a BY_INODE source's bytes are checked against
    once they are not that inode (a copy, or a run resumed without this run's stamps)."""
    if not build:
        return False
    try:
        return read_facts(path).digest == build
    except BadPackage:
        return False


def _digest_or_kind(target: Path) -> str:
    return _identity(target)[1]


def _shown(source: Path, digest: str) -> str:
    """The source's digest for a message: journaled, or read now (BY_INODE)."""
    if digest != BY_INODE:
        return digest
    try:
        return _identity(source)[1]
    except OSError:
        return "?"


def _move_aside(source: Path, target: Path, kind: str) -> None:
    """Quarantine a link, FIFO or directory by renaming it (the link itself, never its
    target); never over anything. Idempotent: gone from source and at target is done."""
    if os.path.lexists(target):
        if not os.path.lexists(source):
            return
        raise ContentConflict(errno.EEXIST, "quarantine target exists: both kept", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV or not kind.startswith("link:"):
            raise
        os.symlink(kind.removeprefix("link:"), target)  # the unlink step removes the source
    checkpoint()


def _copy_durably(source: Path, temporary: Path) -> None:
    # A new file, never through a name made since the caller removed it (a link out of
    # the tree, another inode of it): its mode and times are set through the descriptor.
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with open(source, "rb") as reader, os.fdopen(handle, "wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        status = os.fstat(reader.fileno())
        # Nobody but the engine rewrites what it placed (the source may be group-writable).
        os.fchmod(writer.fileno(), stat.S_IMODE(status.st_mode) & ~0o022)
        os.utime(writer.fileno(), ns=(status.st_atime_ns, status.st_mtime_ns))
        os.fsync(writer.fileno())
    checkpoint()


def _verify(copy: str | Path, size: int, digest: str, stamp: Stamp | None = None,
            status: os.stat_result | None = None, build: str = "") -> None:
    """`status`: the copy's lstat just taken (a link or copy we made: a regular file)."""
    status = status or os.lstat(copy)
    if not stat.S_ISREG(status.st_mode):  # swapped for a link meanwhile: never placed
        raise VerifyError(errno.EIO, "copy is not a regular file", str(copy))
    if status.st_size != size:
        raise VerifyError(errno.EIO, "copy has the wrong size", str(copy))
    if stamp is not None and (status.st_ino, status.st_size, status.st_mtime_ns) == stamp[:3]:
        return  # the digested inode itself, its mtime untouched since: the same bytes
    if digest == BY_INODE:
        if not _is_build(Path(copy), build):
            raise VerifyError(errno.EIO, "not the build the plan verified (its header or "
                              "payload changed since)", str(copy))
        return
    if sha256_of(Path(copy)) != digest:
        raise VerifyError(errno.EIO, "copy does not match the source's sha256", str(copy))


def _write_reason(target: Path, action: Action) -> None:
    reason = target.with_name(target.name + ".reason")
    shown = "".join(c if c.isprintable() else "?" for c in action.src)
    reason.write_text(f"{shown}: {action.reason}\n")

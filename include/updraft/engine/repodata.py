"""Repodata: createrepo_c on a repo arch dir, written aside and swapped in atomically.

createrepo_c runs with --update (reuses the old metadata of unchanged packages), a
checksum cache and --keep-all-metadata (an existing updateinfo survives), writing into
a hidden directory next to the live one. The new repodata/ then replaces the old in
one renameat2(RENAME_EXCHANGE): a mirror or yum client reading the repo sees either
the old metadata or the new, never a mix and never none.

Applying a plan and publishing its repodata are separate steps (in Airflow, separate
tasks): apply marks each arch dir it changed as pending, and whoever rebuilds one clears
its mark. A run that dies in between leaves the mark, and the next run publishes it.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import shutil
import subprocess
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

from updraft.engine import faults
from updraft.engine.action import Touched
from updraft.engine.faults import checkpoint
from updraft.engine.layout import Layout
from updraft.engine.listing import Listings
from updraft.engine.lock import repodata_lock
from updraft.engine.walk import scanned_files
from updraft.errors import UpdraftError

log = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(None, use_errno=True)
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []


class RepodataError(UpdraftError):
    """createrepo_c failed; the live repodata is untouched."""


def exchange(left: Path, right: Path) -> None:
    """Atomically swap two paths (Linux renameat2); falls back to two renames."""
    result = _libc.renameat2(_AT_FDCWD, os.fsencode(left), _AT_FDCWD, os.fsencode(right),
                             _RENAME_EXCHANGE)
    if result == 0:
        return
    code = ctypes.get_errno()
    if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        raise OSError(code, os.strerror(code), str(left))
    aside = right.with_name(right.name + ".old")
    os.rename(right, aside)
    os.rename(left, right)
    os.rename(aside, left)


def rebuild(repo_dir: Path, cache_dir: Path, createrepo: str = "createrepo_c",
            only: list[str] | None = None) -> None:
    """Rebuild repo_dir/repodata for the packages under repo_dir (`only`: just these,
    relative to repo_dir; createrepo_c indexes nothing else it finds)."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Callers hold this arch dir's repodata lock, so any other workspace was left by a
    # dead run.
    for stale in repo_dir.glob(".repodata.updraft*"):
        shutil.rmtree(stale, ignore_errors=True)
    workspace = repo_dir / f".repodata.updraft-{os.getpid()}"
    workspace.mkdir()
    live = repo_dir / "repodata"
    if live.is_dir():
        # createrepo_c --update and --keep-all-metadata read the old metadata from the
        # output dir: give it hardlinks of the live files.
        shutil.copytree(live, workspace / "repodata", copy_function=os.link)
    # createrepo_c dies with us: an orphan must not keep writing after a crash.
    command = [
        *DIE_WITH_PARENT, createrepo, "--quiet", "--update", "--keep-all-metadata",
        "--skip-symlinks", "--outputdir", str(workspace),
    ]
    if live.is_dir():
        # The checksum cache spares re-hashing a package that moved in from another dir;
        # a dir's first publish (a first cycle: every package of the tree) would only
        # fill it, one file per package, at twice createrepo_c's own cost.
        command[-2:-2] = ["--cachedir", str(cache_dir)]
    listed: Path | None = None
    try:
        if only is not None:  # one file per rebuild: a process publishes several at once
            handle, name = tempfile.mkstemp(prefix="pkglist-", dir=cache_dir)
            listed = Path(name)
            with os.fdopen(handle, "w") as stream:
                stream.write("".join(f"{entry}\n" for entry in sorted(only)))
            command += ["--pkglist", str(listed)]
        process = subprocess.Popen([*command, str(repo_dir)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        faults.running(process, workspace / ".repodata", "repodata: createrepo_c running")
        _, stderr = process.communicate()
    finally:
        if listed is not None:  # also on a full disk: no list is left behind
            listed.unlink(missing_ok=True)
    if process.returncode != 0:
        shutil.rmtree(workspace, ignore_errors=True)
        tail = (stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RepodataError(f"createrepo_c failed on {repo_dir}: {tail} (the live repodata is "
                            "untouched; the next run retries)")
    checkpoint("repodata: before the swap")
    if live.is_dir():
        exchange(workspace / "repodata", live)
    else:
        os.rename(workspace / "repodata", live)
    checkpoint("repodata: after the swap")
    shutil.rmtree(workspace)
    log.info("rebuilt %s", live)


class PendingRepodata:
    """The arch dirs of a tree whose packages changed since their repodata was written.

    A mark is an empty file <state_dir>/repodata-pending/<release>/<repo>/<archdir>.
    Marking and publishing both hold the arch dir's repodata lock, so a mark made while
    createrepo_c runs waits for it and survives it: the change it stands for may have
    come after createrepo_c listed the directory.
    """

    def __init__(self, layout: Layout, lock_timeout: float | None = None,
                 command: str = "") -> None:
        self.layout = layout
        self.directory = layout.state_dir / "repodata-pending"
        self.lock_timeout = layout.config.lock_timeout if lock_timeout is None else lock_timeout
        self.command = command

    def _marker(self, target: Touched) -> Path:
        return self.directory / target.release / target.repo / target.archdir

    def _lock(self, target: Touched) -> AbstractContextManager[None]:
        return repodata_lock(self.layout.state_dir, target.label, self.lock_timeout,
                             self.command)

    def mark(self, touched: list[Touched]) -> None:
        for target in touched:
            marker = self._marker(target)
            with self._lock(target):
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()

    def pending(self) -> list[Touched]:
        if not self.directory.is_dir():
            return []
        found = [Touched(*marker.relative_to(self.directory).parts)
                 for marker in self.directory.glob("*/*/*") if marker.is_file()]
        config = self.layout.config
        # Marks of a repo or release since removed from the config are left alone.
        return sorted(
            (t for t in found if t.release in config.releases and t.repo in config.repos),
            key=lambda t: (t.release, t.repo, t.archdir),
        )

    def _admitted(self, target: Touched, repo_dir: Path) -> list[str] | None:
        """A gated repo's repodata lists its admitted files only: a `cp` that arrived
        after the apply that marked this dir (Airflow publishes in a later task) waits
        for the next cycle's hold instead of being published by createrepo_c."""
        if not self.layout.config.repos[target.repo].approval:
            return None
        from updraft.engine.hold import Admitted  # the gates' record (the tree scan comes with it)

        admitted = Admitted.load(self.layout, [target.release], save=False)
        prefix = self.layout.relative(repo_dir) + "/"
        return [relative[len(prefix):] for relative in admitted.paths.get(
                    target.release, {}).get(target.repo, {}) if relative.startswith(prefix)]

    def publish(self, target: Touched) -> Path:
        """Rebuild one arch dir's repodata from what is on disk now; clear its mark."""
        repo_dir = self.layout.repodata_dir(target.release, target.repo, target.archdir)
        with self._lock(target):
            handed = scanned_files(self.layout, repo_dir)  # what the tree scan reads
            admitted = self._admitted(target, repo_dir)
            if admitted is not None:
                handed = {path: handed[path] for path in set(handed) & set(admitted)}
            rebuild(repo_dir, self.layout.state_dir / "createrepo-cache", only=list(handed))
            try:
                Listings(self.layout).record(target, repo_dir, handed)
            except (OSError, RuntimeError, ValueError) as exc:
                # The repodata is published; without a listing the next cycle reads the
                # primary.xml again (and republishes if it cannot).
                Listings(self.layout).forget(target)
                log.warning("listing of %s not kept: %s", target.label, exc)
            self._marker(target).unlink(missing_ok=True)
        return repo_dir / "repodata"

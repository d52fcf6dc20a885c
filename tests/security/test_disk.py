"""A full disk and a read-only tree: one line naming the path, no traceback, nothing lost,
and the next run finishes the work. Real tmpfs and read-only bind mounts (as root, file
modes do not stop a write)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.tree_hostile import snapshot
from updraft.engine.engine import Engine
from updraft.engine.journal import Journal

pytestmark = pytest.mark.timeout(120)

NEW_I386 = "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm"


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted in this sandbox: {done.stderr.strip()}")


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def _fill(directory: Path) -> Path:
    """Write a filler file until the file system is full."""
    filler = directory / "filler"
    with open(filler, "wb") as stream:
        try:
            while True:
                stream.write(b"\0" * 65536)
                stream.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.fixture
def tmpfs_tree(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/tree on an 8 MB tmpfs (the `engine` fixture then lays its tree there)."""
    tree = tmp_path / "tree"
    tree.mkdir()
    _mount("-t", "tmpfs", "-o", "size=8M", "tmpfs", str(tree))
    yield tree
    _umount(tree)


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _packages(top: Path) -> dict[str, str]:
    return {path: digest for path, digest in snapshot(top).items() if path.endswith(".rpm")}


def _promote_by_cp(root: Path) -> None:
    shutil.copy(root / NEW_I386, root / "9/smeupdates-testing/")


def test_a_full_disk_is_one_line_and_the_next_run_finishes(
        tmpfs_tree: Path, engine: Engine) -> None:
    root = engine.layout.root
    _promote_by_cp(root)
    before = snapshot(root / "9")
    filler = _fill(root)

    full = treekit.run_cli("--root", str(root), "update-repos")

    assert full.returncode == 2
    line = _one_line(full.stderr)
    assert line.startswith("updraft: cannot write ") and "no space left" in line
    assert str(engine.layout.state_dir) in line  # the path that could not be written
    assert snapshot(root / "9") == before  # nothing moved, nothing lost

    filler.unlink()
    again = treekit.run_cli("--root", str(root), "update-repos")
    assert again.returncode == 0, again.stderr
    assert (root / "9/smeupdates-testing/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm").exists()
    assert not (root / NEW_I386).exists()


def test_a_full_disk_under_one_repo_fails_that_family_only_and_keeps_every_file(
        engine: Engine, tmp_path: Path) -> None:
    root = engine.layout.root
    stage, old = root / "stage", root / "stage.before"
    stage.rename(old)
    stage.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1M", "tmpfs", str(stage))
    try:
        subprocess.run(["cp", "-a", f"{old}/.", str(stage)], check=True)
        filler = _fill(stage)
        _promote_by_cp(root)
        smetest = _packages(root / "9/smetest")
        staged = snapshot(stage)

        result = engine.update_repos()  # the stage copy crosses file systems: a real copy

        assert len(result.failures) == 1
        assert "No space left on device" in result.failures[0]
        assert "stage/9/" in result.failures[0]
        assert _packages(root / "9/smetest") == smetest  # no source deleted
        assert snapshot(stage) == staged  # no half copy left behind
        assert not Journal.pending(engine.journal_dir)

        filler.unlink()
        done = engine.update_repos()
        assert done.ok
        assert not list((root / "9/smetest").rglob("*.rpm"))
        assert sorted(p.name for p in (stage / "9/i386/Packages").iterdir()) == [
            f"{n}-0.97.6-1.el4.rf.i386.rpm" for n in ("clamav", "clamav-db", "clamd")]
    finally:
        _umount(stage)


def test_disk_full_while_journaling_is_one_error_and_the_journal_resumes(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from updraft.errors import StorageError

    root = engine.layout.root
    _promote_by_cp(root)
    smetest = snapshot(root / "9/smetest")
    marked = []
    real_mark = Journal.mark

    def mark(self: Journal, step: str) -> None:
        if marked:  # the second step's line finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        marked.append(step)
        real_mark(self, step)

    monkeypatch.setattr(Journal, "mark", mark)
    with pytest.raises(StorageError, match="no space left") as raised:
        engine.update_repos()
    assert str(engine.journal_dir) in str(raised.value)
    assert snapshot(root / "9/smetest") == smetest  # copies first, deletes only after
    assert len(Journal.pending(engine.journal_dir)) == 1

    monkeypatch.setattr(Journal, "mark", real_mark)
    finished = engine.update_repos()
    assert finished.ok and finished.resumed
    assert not list((root / "9/smetest").rglob("*.rpm"))
    assert len(list((root / "9/smeupdates-testing").rglob("*0.97.6*.rpm"))) == 7


@pytest.fixture
def read_only_tree(engine: Engine) -> Iterator[Path]:
    """The engine's tree with a `cp` waiting, then bind-mounted read-only over itself."""
    root = engine.layout.root
    _promote_by_cp(root)
    _mount("--bind", str(root), str(root))
    try:
        _mount("-o", "remount,ro,bind", str(root))
        yield root
    finally:
        _umount(root)


def test_a_read_only_tree_is_one_line_naming_the_path(read_only_tree: Path) -> None:
    root = read_only_tree
    before = snapshot(root)

    refused = treekit.run_cli("--root", str(root), "update-repos")

    assert refused.returncode == 2
    line = _one_line(refused.stderr)
    assert "read-only" in line and str(root / ".updraft") in line
    assert snapshot(root) == before


def test_a_dry_run_still_works_on_a_read_only_tree(read_only_tree: Path) -> None:
    root = read_only_tree
    before = snapshot(root)

    preview = treekit.run_cli("--root", str(root), "update-repos", "--dry-run")

    assert preview.returncode == 0, preview.stderr
    assert "Traceback" not in preview.stderr
    assert "move from smetest to smeupdates-testing (clamd-0.97.6-1.el4.rf.i386.rpm)" in (
        preview.stdout)
    assert snapshot(root) == before

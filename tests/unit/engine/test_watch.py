"""What the tree watcher listens to: the repo dirs and the real directories just below
them, never through a packager's symlink, never repodata, never more than its cap."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.engine import watch
from updraft.engine.layout import Layout
from updraft.engine.watch import TreeWatch


def _watch(root: Path) -> TreeWatch:
    layout = Layout(treekit.sme_config(), root)
    layout.create_dirs(["9"])
    return TreeWatch(layout, dict)


def test_the_watch_listens_to_repo_dirs_and_their_arch_dirs(tmp_path: Path) -> None:
    tree = _watch(tmp_path)
    for passing in ("repodata", ".repodata.updraft-1414", ".repodata", ".olddata"):
        (tmp_path / "9/smetest/x86_64" / passing).mkdir(parents=True, exist_ok=True)
    dirs = {str(path.relative_to(tmp_path)) for path in tree.dirs()}
    assert {"9/smetest", "9/smetest/x86_64", "9/smeupdates"} <= dirs
    # A publish's workspaces come and go: a watch on one died with it and took the
    # listener down with it (make run's triggerer: "no file-system events").
    assert not any("repodata" in path or "olddata" in path for path in dirs)


def test_a_symlink_to_the_root_is_never_walked_nor_watched(tmp_path: Path) -> None:
    tree = _watch(tmp_path)
    os.symlink("/", tmp_path / "9/smetest/evil")
    os.symlink("/", tmp_path / "9/smetest/x86_64/evil")
    dirs = tree.dirs()
    assert all(tmp_path in path.parents or path == tmp_path for path in dirs)
    assert not any("evil" in path.parts for path in dirs)


def test_a_flood_of_directories_is_capped(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _watch(tmp_path)
    for number in range(50):
        (tmp_path / f"9/smetest/d{number}").mkdir()
    monkeypatch.setattr(watch, "DIRS_WATCHED", 20)
    assert len(tree.dirs()) == 20


def test_a_watchers_look_never_makes_a_writer_give_up(tmp_path: Path) -> None:
    """The watcher's look (tree_locked) takes the lock shared for an instant: a writer
    that tries at that instant, even one told not to wait (lock_timeout 0), still gets
    the tree. Here the look is held open a little, as an instant on a loaded machine."""
    import fcntl
    import threading

    from updraft.engine.lock import tree_lock

    with tree_lock(tmp_path, 0):  # the lock file exists, as after any writer
        pass
    look = os.open(tmp_path / "lock", os.O_RDONLY)
    fcntl.flock(look, fcntl.LOCK_SH | fcntl.LOCK_NB)
    released = threading.Timer(0.03, os.close, (look,))
    released.start()
    try:
        with tree_lock(tmp_path, 0, "an impatient writer"):
            pass
    finally:
        released.join()


def test_a_fifo_for_the_lock_file_never_hangs_the_watchers_look(tmp_path: Path) -> None:
    """Opening a FIFO for reading waits for a writer: the look must not (the watcher's
    thread would hang, and with it every drop's announcement)."""
    import threading

    from updraft.engine.lock import tree_locked

    os.mkfifo(tmp_path / "lock")
    answers: list[bool] = []
    look = threading.Thread(target=lambda: answers.append(tree_locked(tmp_path)),
                            daemon=True)
    look.start()
    look.join(5)
    if look.is_alive():  # let it go: open the FIFO's other end
        os.close(os.open(tmp_path / "lock", os.O_WRONLY | os.O_NONBLOCK))
    assert answers == [False]

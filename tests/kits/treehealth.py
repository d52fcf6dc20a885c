"""`updraft check` after every test that writes a tree (the autouse fixture in
tests/conftest.py): every Layout made while a test runs records its root; at teardown
each root a cycle wrote (some release has repodata) is checked, only for the releases
a cycle wrote, and the test fails with the check's lines.

What is checked is the tree the engine left: when the test itself changed the tree after
the engine's last write in this process (a `cp` it then previews, a file it corrupts to
see the next cycle refuse it), the check would only find the test's own change. A test
that leaves the engine's tree unfinished on purpose (an apply without its publish, a
family failed by an unwritable dir) says why with @pytest.mark.unhealthy_tree("why")."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from updraft.config.dist import DistConfig
from updraft.engine.check import check
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout

Files = frozenset[tuple[str, int, int]]


@dataclass
class Trees:
    configs: dict[Path, DistConfig] = field(default_factory=dict)
    left: dict[Path, Files] = field(default_factory=dict)  # after the engine's last write


def files_of(root: Path) -> Files:
    """(path, size, mtime) of every file below root but the state dir's."""
    found = set()
    for top, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".updraft"]
        for name in names:
            with suppress(OSError):
                stat = os.lstat(os.path.join(top, name))
                found.add((os.path.join(top, name), stat.st_size, stat.st_mtime_ns))
    return frozenset(found)


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[Trees]:
    trees = Trees()
    original = Layout.__init__

    def init(self: Layout, config: DistConfig, root: Path) -> None:
        original(self, config, root)
        trees.configs.setdefault(Path(root), config)

    def after(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Engine, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            finally:
                trees.left[Path(self.layout.root)] = files_of(self.layout.root)
        return wrapper

    def after_cycle(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Engine, releases: Any = None, dry_run: bool = False,
                    *args: Any, **kwargs: Any) -> Any:
            if dry_run:  # writes nothing
                return method(self, releases, dry_run, *args, **kwargs)
            return after(method)(self, releases, dry_run, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(Layout, "__init__", init)
    # The ends of every engine write: apply and land (both report), publish, and a
    # whole cycle (its createrepo_c runs may end after its apply reported).
    monkeypatch.setattr(Engine, "_report", after(Engine._report))
    monkeypatch.setattr(Engine, "publish", after(Engine.publish))
    monkeypatch.setattr(Engine, "update_repos", after_cycle(Engine.update_repos))
    yield trees


def cycled(config: DistConfig, root: Path) -> list[str]:
    """The releases some cycle published repodata for (a release never cycled would
    report "has no repodata yet")."""
    layout = Layout(config, root)
    return [release for release in config.releases
            if any(layout.repodata_dir(release, repo, archdir).joinpath(
                       "repodata", "repomd.xml").is_file()
                   for repo, settings in config.repos.items()
                   if not settings.stage and settings.repodata
                   for archdir in layout.archdirs(release))]


def problems(trees: Trees) -> list[str]:
    found = []
    for root, config in list(trees.configs.items()):
        if not root.is_dir() or root.is_symlink():
            continue
        if root in trees.left and files_of(root) != trees.left[root]:
            continue  # the test changed the tree after the engine's last write
        releases = cycled(config, root)
        if not releases:
            continue
        try:
            health = check(Engine(config, root), releases, locked=False)
        except Exception as exc:  # reported as the test's failure
            found.append(f"{root}: updraft check failed: {exc!r}")
            continue
        found += [f"{root}: {line}" for line in health.lines()]
    return found

"""`updraft check` after every test that writes a tree (the autouse fixture in
tests/conftest.py): every Layout made while a test runs records its root; at teardown
each root a cycle wrote (some release has repodata) is checked, only for the releases
a cycle wrote, and the test fails with the check's lines. A test that leaves its tree
broken on purpose says why with @pytest.mark.unhealthy_tree("why")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from updraft.check import check
from updraft.config import DistConfig
from updraft.cycle import Engine
from updraft.layout import Layout


@contextmanager
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[Path, DistConfig]]:
    roots: dict[Path, DistConfig] = {}
    original = Layout.__init__

    def init(self: Layout, config: DistConfig, root: Path) -> None:
        original(self, config, root)
        roots.setdefault(Path(root), config)

    monkeypatch.setattr(Layout, "__init__", init)
    yield roots


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


def problems(roots: dict[Path, DistConfig]) -> list[str]:
    found = []
    for root, config in list(roots.items()):
        if not root.is_dir() or root.is_symlink():
            continue
        releases = cycled(config, root)
        if not releases:
            continue
        try:
            health = check(Engine(config, root), releases, locked=False)
        except Exception as exc:  # noqa: BLE001 - reported as the test's failure
            found.append(f"{root}: updraft check failed: {exc!r}")
            continue
        found += [f"{root}: {line}" for line in health.lines()]
    return found

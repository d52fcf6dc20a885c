"""The ISO freeze: while an ISO builds, nothing moves into smeupdates-testing."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.kits import isokit, treekit
from tests.kits.signing import SigningKey
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion
from updraft.iso import freeze

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def engine(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey) -> Engine:
    return isokit.tree(tmp_path, iso_files, iso_key)


@pytest.fixture(scope="module")
def clamav10(tmp_path_factory: pytest.TempPathFactory) -> BuiltFamily:
    # The SRPM carries the binaries' dist tag: the ones they name (clamav's seed-000
    # SRPM, named .rf beside .el7 binaries, would be a family of its own).
    spec = dataclasses.replace(treekit.clamav("0.97.7", "1", ".el7"), source_dist=".el7")
    return treekit.build(spec, tmp_path_factory.mktemp("clamav10"), ("x86_64",))


def _testing(engine: Engine) -> set[str]:
    layout = engine.layout
    return {p.name for p in layout.repo_dir("10", "smeupdates-testing").rglob("clamav*.rpm")}


def test_a_promotion_waits_for_the_iso_and_moves_after(engine: Engine,
                                                       clamav10: BuiltFamily) -> None:
    layout = engine.layout
    treekit.place(layout, "10", "smetest", clamav10)
    assert engine.update_repos(["10"]).ok
    freeze.freeze(layout, "10", "10.1", "test")
    promotion = Promotion(layout, "clamav-0.97.7-1.el7", "smeupdates-testing", "10")
    held = engine.update_repos(["10"], intents=promotion)
    assert held.ok and not held.applied
    assert _testing(engine) == set()
    assert "clamav-0.97.7-1.el7 held: ISO 10.1 is being built (test" in held.report
    assert freeze.thaw(layout, "10") is not None
    moved = engine.update_repos(["10"], intents=promotion)
    assert moved.applied and "clamav-0.97.7-1.el7.x86_64.rpm" in _testing(engine)


def test_a_packagers_cp_is_held_too_and_the_release_is_not_settled(
        engine: Engine, clamav10: BuiltFamily) -> None:
    layout = engine.layout
    treekit.place(layout, "10", "smetest", clamav10)
    assert engine.update_repos(["10"]).ok
    freeze.freeze(layout, "10", "10.1", "test")
    target = layout.binary_dir("10", "smeupdates-testing", "x86_64")
    for path in clamav10.files():
        if path.name.endswith(".x86_64.rpm"):
            shutil.copy(path, target)
    first = engine.update_repos(["10"])
    assert not [a for a in first.applied if a.family == "clamav"]
    stage = layout.binary_dir("10", "stage", "x86_64")
    assert not list(stage.glob("clamav*"))
    assert "10" not in engine.settled()  # planned again on the next cycle
    freeze.thaw(layout, "10")
    after = engine.update_repos(["10"])
    assert [a for a in after.applied if a.family == "clamav"]
    assert list(stage.glob("clamav*"))


def test_other_releases_are_not_frozen(engine: Engine) -> None:
    freeze.freeze(engine.layout, "10", "10.1", "test")
    assert freeze.frozen(engine.layout, "9") is None
    assert freeze.frozen(engine.layout, "10").repos == ("smeupdates-testing",)

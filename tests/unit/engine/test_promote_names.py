"""A promotion on a settled tree plans only the names it can concern (issue 20): the
same plan as planning the whole release, and the releases it leaves alone keep their
settled marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.family import source_name
from updraft.engine.promote import Promotion


@pytest.fixture
def settled(engine: Engine, rpm_store: Path) -> Engine:
    lib = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), rpm_store, ("x86_64",))
    treekit.place(engine.layout, "9", "smetest", lib)
    assert engine.update_repos().ok
    assert engine.update_repos().nothing_to_do
    assert {"9", "10"} <= engine.settled().keys()
    return engine


@pytest.mark.parametrize("what", [
    "clamav-0.97.6-1.el4.rf",  # the family's N-V-R
    "clamd-0.97.6-1.el4.rf",  # a member's
    "9/smetest/i386/RPMS/clamav-db-0.97.6-1.el4.rf.i386.rpm",  # a file
])
def test_a_promotion_plans_its_names_only_and_gives_the_full_plan(settled: Engine,
                                                                  what: str) -> None:
    promotion = Promotion(settled.layout, str(settled.layout.root / what)
                          if what.startswith("9/") else what, "smeupdates-testing", "9")
    narrow = settled.pure_plan(intents=promotion)
    full = settled.pure_plan(intents=promotion, full=True)
    assert narrow.plan.actions and narrow.plan.to_json() == full.plan.to_json()
    planned = {source_name(p.facts) for p in narrow.tree.releases["9"].files}
    assert planned == {"clamav"}
    assert {source_name(p.facts) for p in full.tree.releases["9"].files} > planned


def test_a_promotion_keeps_the_marks_of_what_it_did_not_touch(settled: Engine) -> None:
    marks = settled.settled()
    promotion = Promotion(settled.layout, "clamav-0.97.6-1.el4.rf", "smeupdates-testing", "9")
    result = settled.update_repos(intents=promotion)
    assert result.ok and result.applied
    after = settled.settled()
    assert after["10"] == marks["10"] and after["9"] != marks["9"]
    assert settled.update_repos().nothing_to_do
    root = settled.layout.root
    assert (root / "9/smeupdates-testing/SRPMS/clamav-0.97.6-1.rf.src.rpm").exists()


def test_a_file_without_a_cached_row_plans_the_release_in_full(settled: Engine,
                                                                tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.rpm"
    outside.write_bytes(b"not in the tree")
    promotion = Promotion(settled.layout, str(outside), "smeupdates-testing", "9")
    assert promotion.source_names({}) is None


def test_a_promotion_in_one_release_leaves_a_settled_one_unread(
    settled: Engine, clamav_new: BuiltFamily
) -> None:
    """The same name in another release is not planned there: the promotion names
    release 9, and release 10, still at its mark, is not even looked up."""
    treekit.place(settled.layout, "10", "smetest", clamav_new)
    assert settled.update_repos().ok and settled.update_repos().nothing_to_do
    promotion = Promotion(settled.layout, "clamav-0.97.6-1.el4.rf", "smeupdates-testing", "9")

    narrow = settled.pure_plan(intents=promotion)

    full = settled.pure_plan(intents=promotion, full=True)
    assert narrow.plan.actions and narrow.plan.to_json() == full.plan.to_json()
    assert narrow.tree.releases["10"].unchanged and not narrow.tree.releases["10"].files
    assert any(source_name(p.facts) == "clamav" for p in full.tree.releases["10"].files)

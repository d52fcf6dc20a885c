"""The planner is pure: these trees are made of header facts only, no disk involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.plankit import family, put
from updraft.engine.layout import Layout
from updraft.engine.plan import plan_release
from updraft.engine.tree import ReleaseTree

ROOT = Path("/srv/tree")


@pytest.fixture
def layout() -> Layout:
    return Layout(treekit.sme_config(), ROOT)


def lines(layout: Layout, tree: ReleaseTree) -> list[str]:
    return [a.describe() for a in plan_release(tree, layout).actions if a.reported]


def test_noarch_lives_in_every_arch_dir_and_moves_once_per_line(layout: Layout) -> None:
    tree = ReleaseTree("9")
    base = family("e-smith-base", "5.0.0", "16.el6.sme", {"e-smith-base": "noarch"})
    put(layout, tree, "smetest", base)
    put(layout, tree, "smeupdates-testing", base[:1], stray=True)

    plan = plan_release(tree, layout)

    dsts = sorted(a.dst for a in plan.actions if a.dst and a.to_repo == "smeupdates-testing")
    assert dsts == [
        "9/smeupdates-testing/SRPMS/e-smith-base-5.0.0-16.el6.sme.src.rpm",
        "9/smeupdates-testing/i386/RPMS/e-smith-base-5.0.0-16.el6.sme.noarch.rpm",
        "9/smeupdates-testing/x86_64/RPMS/e-smith-base-5.0.0-16.el6.sme.noarch.rpm",
    ]
    assert lines(layout, tree).count(
        "delete from smetest (i386, e-smith-base-5.0.0-16.el6.sme.noarch.rpm)") == 1


def test_plan_is_deterministic(layout: Layout) -> None:
    tree = ReleaseTree("9")
    put(layout, tree, "smetest", family("a", "1", "1", {"a": "i386", "a-libs": "x86_64"}))
    put(layout, tree, "smeupdates-testing", family("a", "1", "1", {"a": "i386"})[:1], stray=True)
    first = plan_release(tree, layout).to_json()
    tree.files.reverse()
    assert plan_release(tree, layout).to_json() == first


def test_smedev_keeps_unshipped_subpackages_of_a_known_srpm(layout: Layout) -> None:
    """Seed 000's php: the subpackages we do not use stay in smedev."""
    tree = ReleaseTree("10")
    php = family("php", "5.4.16", "48.el7", {"php": "x86_64", "php-cli": "x86_64",
                                             "php-dba": "x86_64"})
    put(layout, tree, "smetest", [f for f in php if f.name != "php-dba" or f.is_source])
    put(layout, tree, "smedev", [f for f in php if f.name == "php-dba"])

    assert lines(layout, tree) == ["copy from smetest to smedev (php-5.4.16-48.el7.src.rpm)"]

    # Wanted after all: a `cp` into smetest pulls it (and only it) out of smedev.
    put(layout, tree, "smetest", [f for f in php if f.name == "php-dba"], stray=True)
    plan = plan_release(tree, layout)
    assert "delete from smedev (x86_64, php-dba-5.4.16-48.el7.x86_64.rpm)" in [
        a.describe() for a in plan.actions]


def test_frozen_smeos_is_never_touched_and_the_stage_keeps_the_newest(layout: Layout) -> None:
    tree = ReleaseTree("10")
    old = family("e-smith-base", "5.6.0", "1.el7.sme", {"e-smith-base": "noarch"})
    new = family("e-smith-base", "5.6.0", "3.el7.sme", {"e-smith-base": "noarch"})
    put(layout, tree, "smeos", old)
    put(layout, tree, "smeos", old[:1], stray=True)  # even a stray stays put in smeos
    put(layout, tree, "smeupdates", new)

    plan = plan_release(tree, layout)

    assert all(a.from_repo != "smeos" or a.verb == "copy" for a in plan.actions)
    assert all(a.to_repo != "smeos" for a in plan.actions)
    staged = sorted(a.filename for a in plan.actions if a.to_repo == "stage")
    assert staged == ["e-smith-base-5.6.0-3.el7.sme.noarch.rpm",
                      "e-smith-base-5.6.0-3.el7.sme.src.rpm"]


def test_a_cp_of_an_older_version_is_not_promoted_over_a_newer(layout: Layout) -> None:
    tree = ReleaseTree("10")
    old = family("pv", "1.3.1", "1.el7", {"pv": "x86_64"})
    put(layout, tree, "smeupdates", family("pv", "1.3.4", "1.el7", {"pv": "x86_64"}))
    put(layout, tree, "smeupdates-testing", old)
    put(layout, tree, "smeupdates", old[:1], stray=True)

    plan = plan_release(tree, layout)

    assert [a.describe() for a in plan.actions if a.family == "pv" and a.verb != "copy"] == [
        "delete from smeupdates (x86_64, pv-1.3.1-1.el7.x86_64.rpm)"]
    assert any("not promoted to smeupdates" in w for w in plan.warnings)


def test_contribs_go_from_smetest_straight_to_smecontribs(layout: Layout) -> None:
    tree = ReleaseTree("10")
    unrar = family("unrar", "5.0", "1.el7", {"unrar": "x86_64"})
    put(layout, tree, "smetest", unrar)
    put(layout, tree, "smecontribs", unrar[:1], stray=True)

    assert lines(layout, tree) == [
        "delete from smetest (x86_64, unrar-5.0-1.el7.x86_64.rpm)",
        "move from smetest to smecontribs (unrar-5.0-1.el7.src.rpm)",
    ]


def test_a_family_never_loses_its_srpm(layout: Layout) -> None:
    tree = ReleaseTree("10")
    tools = family("tools", "2", "1.el7", {"tools": "x86_64", "tools-extra": "x86_64"})
    put(layout, tree, "smetest", tools)
    put(layout, tree, "smeextras", [tools[0]])

    plan = plan_release(tree, layout)
    moved = {a.filename for a in plan.actions if a.to_repo == "smeextras"}
    assert "tools-2-1.el7.src.rpm" in moved and "tools-extra-2-1.el7.x86_64.rpm" in moved
    assert not [a for a in plan.actions if a.verb == "delete" and a.filename.endswith("src.rpm")
                and a.from_repo == "smeextras"]


def test_an_arch_no_release_takes_is_left_in_place_with_a_warning(layout: Layout) -> None:
    tree = ReleaseTree("10")
    put(layout, tree, "smetest", family("x", "1", "1", {"x": "i686"}, source=False),
        stray=True)
    plan = plan_release(tree, layout)
    assert plan.actions == [] and "takes arch i686" in plan.warnings[0]

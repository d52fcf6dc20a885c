"""Seed 000's clamav example, end to end on release 9: the two Repository Update mails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.checkkit import assert_healthy
from tests.kits.seed_mails import FIRST_MAIL, SECOND_MAIL
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout

NEW = [f"{name}-0.97.6-1.el4.rf" for name in ("clamav", "clamav-db", "clamd")]


@pytest.fixture
def engine(tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily) -> Engine:
    config = treekit.sme_config()
    root = tmp_path / "tree"
    layout = Layout(config, root)
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    engine = Engine(config, root)
    settled = engine.update_repos()  # the stage now holds the 0.97.5-2 family, as in the seed
    assert settled.ok and len(list((root / "stage" / "9").rglob("*.rpm"))) == 7
    return engine


def _hrefs(root: Path, repo: str, arch: str) -> list[str]:
    return treekit.repo_hrefs(root / "9" / repo / arch)


def test_cp_into_updates_testing_moves_the_family_and_mails_seed_000(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")

    result = engine.update_repos()

    assert result.ok
    assert result.report == FIRST_MAIL
    assert not list((root / "9" / "smetest").rglob("*.rpm"))
    for arch in ("i386", "x86_64"):
        expected = [f"RPMS/{nvr}.{arch}.rpm" for nvr in NEW]
        assert _hrefs(root, "smeupdates-testing", arch) == expected
        assert _hrefs(root, "smetest", arch) == []
        staged = sorted(p.name for p in (root / "stage/9" / arch / "Packages").iterdir())
        assert staged == [f"{nvr}.{arch}.rpm" for nvr in NEW]
    assert [p.name for p in (root / "9/smeupdates-testing/SRPMS").iterdir()] == [
        "clamav-0.97.6-1.rf.src.rpm"]
    assert not (root / "9/smeupdates-testing/clamav-0.97.6-1.el4.rf.i386.rpm").exists()

    again = engine.update_repos()
    assert again.nothing_to_do and again.report == "nothing to do\n"
    assert_healthy(engine)


def test_cp_into_updates_gives_the_second_mail(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    engine.update_repos()
    for nvr in NEW:
        shutil.copy(root / f"9/smeupdates-testing/i386/RPMS/{nvr}.i386.rpm", root / "9/smeupdates/")

    # smeupdates is gated (issue 15): a `cp` alone is held; the seed's second mail comes
    # from the cycle run under a (recorded, mailed) override: `update-repos --override-gate`.
    result = engine.update_repos(override=True)

    assert result.report == SECOND_MAIL
    for arch in ("i386", "x86_64"):
        assert _hrefs(root, "smeupdates", arch) == [f"RPMS/{nvr}.{arch}.rpm" for nvr in NEW]
        assert _hrefs(root, "smeupdates-testing", arch) == []
    # The stage already held these files: a family moving between two feeding repos
    # changes nothing there.
    assert len(list((root / "stage/9").rglob("*.rpm"))) == 7
    assert engine.update_repos().nothing_to_do
    assert_healthy(engine)


def test_dry_run_prints_the_plan_and_changes_nothing(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    before = treekit.rpm_files(root)

    result = engine.update_repos(dry_run=True)

    assert result.dry_run and len(result.plan.actions) == 29  # 28 reported + 1 stray placed
    assert result.report == FIRST_MAIL
    assert treekit.rpm_files(root) == before


def test_promote_by_name_is_the_cp_done_properly(engine: Engine) -> None:
    from updraft.engine.promote import Promotion

    promotion = Promotion(engine.layout, "clamav-0.97.6-1.rf", "smeupdates-testing", "9")
    result = engine.update_repos(["9"], intents=promotion)

    lines = result.report.splitlines()
    assert "move from smetest to smeupdates-testing (clamav-0.97.6-1.el4.rf.i386.rpm)" in lines
    assert "delete from smeupdates-testing (i386, clamav-0.97.5-2.el4.rf.i386.rpm)" in lines
    assert _hrefs(engine.layout.root, "smeupdates-testing", "i386") == [
        f"RPMS/{nvr}.i386.rpm" for nvr in NEW]
    assert_healthy(engine)


def test_planning_only_changed_names_gives_the_full_plan(engine: Engine) -> None:
    """After a consistent scan only the changed source names are planned; the plan must
    be the one a full scan gives."""
    root = engine.layout.root
    assert engine.update_repos().nothing_to_do  # settles: the next scan is incremental
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    incremental = engine.plan()
    engine.settled_file.unlink()
    assert engine.plan().to_json() == incremental.to_json()
    assert incremental.actions


def test_incremental_plan_with_other_families_in_the_tree(engine: Engine, rpm_store: Path) -> None:
    lib = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), rpm_store, ("x86_64",))
    treekit.place(engine.layout, "9", "smetest", lib)
    assert engine.update_repos().ok
    assert engine.update_repos().nothing_to_do
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    result = engine.update_repos()
    assert result.report == FIRST_MAIL
    assert (root / "9/smetest/i386/RPMS/e-smith-lib-2.0.0-3.el6.sme.noarch.rpm").exists()
    assert_healthy(engine)

"""Retention (seed 000): smetest keeps 2 versions x 3 releases, smeupdates-testing 1 x 3,
every other repo 1 x 1; versions compare with rpm.labelCompare, never as strings."""

from __future__ import annotations

from pathlib import Path

from tests.kits import treekit
from tests.kits.plankit import family, put
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.plan import plan_release
from updraft.engine.tree import ReleaseTree

ROOT = Path("/srv/tree")


def _deleted(tree: ReleaseTree, repo: str) -> list[str]:
    plan = plan_release(tree, Layout(treekit.sme_config(), ROOT))
    return sorted(a.filename for a in plan.actions
                  if a.verb == "delete" and a.from_repo == repo and a.archdir != "SRPMS")


def test_smetest_keeps_two_versions_of_three_releases_each() -> None:
    tree = ReleaseTree("10")
    layout = Layout(treekit.sme_config(), ROOT)
    for version, release in [("1.9", "1"), ("1.9", "2"), ("1.10", "1"), ("1.10", "2"),
                             ("1.10", "3"), ("1.10", "4"), ("1.11", "1")]:
        put(layout, tree, "smetest", family("pv", version, f"{release}.el7", {"pv": "x86_64"}))
    assert _deleted(tree, "smetest") == [  # 1.9 is the third version; 1.10-1 the 4th release
        "pv-1.10-1.el7.x86_64.rpm", "pv-1.9-1.el7.x86_64.rpm", "pv-1.9-2.el7.x86_64.rpm"]


def test_smeupdates_testing_keeps_one_version_of_three_releases() -> None:
    tree = ReleaseTree("10")
    layout = Layout(treekit.sme_config(), ROOT)
    for version, release in [("1.2", "9"), ("2.0", "1"), ("2.0", "2"), ("2.0", "10"),
                             ("2.0", "11")]:
        put(layout, tree, "smeupdates-testing",
            family("pv", version, f"{release}.el7", {"pv": "x86_64"}))
    assert _deleted(tree, "smeupdates-testing") == [
        "pv-1.2-9.el7.x86_64.rpm", "pv-2.0-1.el7.x86_64.rpm"]


def test_epoch_beats_version_and_other_repos_keep_one() -> None:
    tree = ReleaseTree("10")
    layout = Layout(treekit.sme_config(), ROOT)
    newer_by_epoch = family("pv", "0.9", "1.el7", {"pv": "x86_64"})
    newer_by_epoch = [f.__class__(f.name, 1, f.version, f.release, f.arch, f.sourcerpm)
                      for f in newer_by_epoch]
    put(layout, tree, "smeupdates", newer_by_epoch)
    put(layout, tree, "smeupdates", family("pv", "3.0", "1.el7", {"pv": "x86_64"}))
    assert _deleted(tree, "smeupdates") == ["pv-3.0-1.el7.x86_64.rpm"]


def test_retention_on_a_real_tree(tmp_path: Path, rpm_store: Path) -> None:
    config = treekit.sme_config()
    layout = Layout(config, tmp_path / "tree")
    for version, release, repo in [("1.9", "1", "smetest"), ("1.10", "1", "smetest"),
                                   ("1.10", "2", "smetest"), ("1.11", "1", "smetest"),
                                   ("2.0", "1", "smeupdates-testing"),
                                   ("2.0", "2", "smeupdates-testing"),
                                   ("2.0", "3", "smeupdates-testing"),
                                   ("2.0", "4", "smeupdates-testing")]:
        built = treekit.build(treekit.noarch("e-smith-test", version, release), rpm_store,
                              ("x86_64",))
        treekit.place(layout, "10", repo, built)

    result = Engine(config, layout.root).update_repos(["10"])

    assert result.ok
    left = sorted(p.name for p in (layout.root / "10/smetest/x86_64/RPMS").iterdir())
    assert left == ["e-smith-test-1.10-1.el6.sme.noarch.rpm",
                    "e-smith-test-1.10-2.el6.sme.noarch.rpm",
                    "e-smith-test-1.11-1.el6.sme.noarch.rpm"]
    assert treekit.repo_hrefs(layout.root / "10/smeupdates-testing/x86_64") == [
        f"RPMS/e-smith-test-2.0-{r}.el6.sme.noarch.rpm" for r in (2, 3, 4)]
    assert sorted(p.name for p in (layout.root / "10/smeupdates-testing/SRPMS").iterdir()) == [
        f"e-smith-test-2.0-{r}.el6.sme.src.rpm" for r in (2, 3, 4)]

"""The analysis on a real tree: rpmbuild packages, createrepo_c repodata, libsolv, and the
Bugzilla REST stand-in through python-bugzilla."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import releasekit
from tests.kits.bugzilla_server import BugzillaServer
from updraft.devkit import rpmfactory
from updraft.release.analysis import analyse
from updraft.release.rnotes import render
from updraft.release.tracker import BugTracker


@pytest.fixture(scope="module")
def seed_built(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    return releasekit.build_seed(tmp_path_factory.mktemp("seed-rpms"))


def by_name(analysis) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """The packages as the board's JSON shows them (the typed model's boundary)."""
    return {package.name: package.to_json() for package in analysis.packages}


def test_the_seed_tree_gives_the_seed_verdicts(tmp_path: Path, seed_built: list) -> None:  # type: ignore[type-arg]
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    with BugzillaServer(releasekit.seed_bugs()) as server:
        tracker = BugTracker(server.url, api_key=server.api_key)
        analysis = analyse(engine.layout, "9", tracker)
    found = by_name(analysis)
    assert {name: (p["candidate"], p["releasable"]) for name, p in found.items()} == {
        "clamav": ("0.97.5-2.rf", "0.97.5-2.rf"),
        "e-smith-apache": ("2.0.0-7.el6.sme", None),
        "e-smith-base": ("5.0.0-16.el6.sme", "5.0.0-14.el6.sme"),
        "e-smith-pop3": ("2.0.0-2.el6.sme", None),
    }
    assert [b["bug"] for b in found["e-smith-base"]["blocked_by"]] == [6248]
    assert [(b["bug"], b["package"], b["version"]) for b in found["e-smith-pop3"]["blocked_by"]
            ] == [(6262, "e-smith-base", "5.0.0-16")]
    assert [(b["bug"], b["package"], b["version"]) for b in
            found["e-smith-apache"]["blocked_by"]] == [(4633, "e-smith-pop3", "2.0.0-1")]
    assert found["clamav"]["kind"] == "upstream"
    assert analysis.tracker.requests == 1 and analysis.tracker.reachable
    assert analysis.bugs[6248].status == "RESOLVED"
    assert list(analysis.bugs[6262].packages) == ["e-smith-base-5.0.0-16.el6.sme",
                                                  "e-smith-pop3-2.0.0-2.el6.sme"]
    assert analysis.missing_bugs == [] and analysis.changes_without_bugs[0].package == "clamav"
    assert not analysis.unchecked


def test_tracker_down_offers_nothing(tmp_path: Path, seed_built: list) -> None:  # type: ignore[type-arg]
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    with BugzillaServer(releasekit.seed_bugs()) as server:
        server.down = True
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    assert not analysis.tracker.reachable
    assert all(package.releasable is None for package in analysis.packages)
    assert all(package.blocked_by[0].kind == "tracker" for package in analysis.packages)


def test_a_broken_requirement_is_found_by_libsolv(tmp_path: Path, seed_built: list,
                                                   tmp_path_factory: pytest.TempPathFactory
                                                   ) -> None:  # type: ignore[type-arg]
    needy = rpmfactory.FamilySpec(name="smeserver-needy", version="1.0", release="2",
                                  main_arch="noarch", requires=("e-smith-lib >= 2.0.0-2",),
                                  binary_dist=".el6.sme")
    built = rpmfactory.build_family(needy, tmp_path_factory.mktemp("needy"), ("x86_64",))
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built,
                                  [("smeupdates-testing", built)])
    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    needy_verdict = by_name(analysis)["smeserver-needy"]
    assert needy_verdict["releasable"] is None
    assert needy_verdict["broken_requires"] == [
        "smeserver-needy-1.0-2.el6.sme.noarch requires e-smith-lib >= 2.0.0-2, which nothing "
        "provides [i386]",
        "smeserver-needy-1.0-2.el6.sme.noarch requires e-smith-lib >= 2.0.0-2, which nothing "
        "provides [x86_64]"]
    assert by_name(analysis)["e-smith-base"]["releasable"] == "5.0.0-14.el6.sme"


def test_the_cli_prints_text_json_and_html(tmp_path: Path, seed_built: list) -> None:  # type: ignore[type-arg]
    import json

    from tests.kits import treekit

    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    with BugzillaServer(releasekit.seed_bugs()) as server:
        env = {"UPDRAFT_BUGZILLA_URL": server.url, "UPDRAFT_BUGZILLA_API_KEY": server.api_key}
        root = str(engine.layout.root)
        text = treekit.run_cli("--root", root, "releasability", "--release", "9", env=env)
        raw = treekit.run_cli("--root", root, "releasability", "--release", "9",
                              "--format", "json", env=env)
        html = treekit.run_cli("--root", root, "releasability", "--release", "9",
                               "--format", "html", env=env)
        server.down = True
        down = treekit.run_cli("--root", root, "releasability", "--release", "9", env=env)
    assert text.returncode == 0, text.stderr
    assert "e-smith-base                 5.0.0-16.el6.sme       not releasable; " \
           "5.0.0-14.el6.sme may be released" in text.stdout
    assert "part of the fix for bug 6262 is in e-smith-base 5.0.0-16" in text.stdout
    packages = {p["name"]: p for p in json.loads(raw.stdout)["packages"]}
    assert {k: packages["e-smith-pop3"][k] for k in
            ("name", "candidate", "releasable", "unknown_bugs", "broken_requires")} == {
        "name": "e-smith-pop3", "candidate": "2.0.0-2.el6.sme", "releasable": None,
        "unknown_bugs": [], "broken_requires": []}
    assert packages["e-smith-pop3"]["blocked_by"][0]["bug"] == 6262
    for tab in ("Bug summary", "Release notes overview", "SRPMs and RPMs", "Bug report",
                "Bug status", "Missing bugs", "Changes without bug numbers",
                "Verified package versions", "smetest newer than smeos"):
        assert tab in html.stdout
    assert down.returncode == 1 and "TRACKER UNREACHABLE" in down.stdout
    assert server.api_key not in down.stdout + down.stderr


def test_a_bug_of_another_product_is_flagged_and_a_denied_one_is_unknown(
        tmp_path: Path, seed_built: list) -> None:  # type: ignore[type-arg]
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    bugs = releasekit.seed_bugs({**releasekit.SEED_STATES, 6248: "VERIFIED"})
    bugs[6104]["product"] = "SME Server 8.X"
    with BugzillaServer(bugs, denied={6769}) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    assert analysis.bugs[6104].product_mismatch is True
    assert analysis.bugs[6262].product_mismatch is False
    assert analysis.bugs[6769].access_denied is True
    apache = by_name(analysis)["e-smith-apache"]
    assert apache["releasable"] is None and apache["unknown_bugs"] == [6769]
    assert "NA – Access Denied" in render(analysis, "html")


def test_zstd_repodata_is_read_for_the_hard_dependencies(tmp_path: Path,
                                                        seed_built: list) -> None:  # type: ignore[type-arg]
    """createrepo_c 1.x (the wheel's CLI, first on PATH under `make run`) writes zstd,
    which the solv wheel cannot open itself."""
    import subprocess
    import sys

    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    createrepo = Path(sys.executable).parent / "createrepo_c"
    for repo in ("smeos", "smeupdates-testing"):
        for arch in ("i386", "x86_64"):
            subprocess.run([str(createrepo), "--quiet", "--general-compress-type", "zstd",
                            str(engine.layout.repodata_dir("9", repo, arch))], check=True)
    assert list((engine.layout.repodata_dir("9", "smeos", "i386") / "repodata").glob(
        "*primary.xml.zst"))
    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    assert not analysis.unchecked
    assert by_name(analysis)["e-smith-base"]["releasable"] == "5.0.0-14.el6.sme"


def test_a_release_that_takes_away_what_a_released_package_requires_is_held(
        tmp_path: Path, seed_built: list, tmp_path_factory: pytest.TempPathFactory
        ) -> None:  # type: ignore[type-arg]
    def noarch(name: str, version: str, requires: tuple[str, ...] = ()) -> rpmfactory.FamilySpec:
        return rpmfactory.FamilySpec(name=name, version=version, release="1",
                                     main_arch="noarch", requires=requires,
                                     binary_dist=".el6.sme")
    store = tmp_path_factory.mktemp("lib")
    lib_old, user, lib_new = rpmfactory.build_families(
        [noarch("tool-lib", "1.0"), noarch("tool-user", "1.0", ("tool-lib < 2",)),
         noarch("tool-lib", "2.0")], store, ("x86_64",))
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built, [
        ("smeos", lib_old), ("smeos", user), ("smeupdates-testing", lib_new)])
    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    lib = by_name(analysis)["tool-lib"]
    assert lib["releasable"] is None
    assert lib["broken_requires"][0] == (
        "tool-user-1.0-1.el6.sme.noarch requires tool-lib < 2, which "
        "tool-lib-1.0-1.el6.sme.noarch provides and tool-lib-2.0-1.el6.sme.noarch replaces "
        "[i386]")

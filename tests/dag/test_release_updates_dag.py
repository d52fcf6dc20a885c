"""dag.test() of release_updates on seed 000's soft-dependency tree: the Bugzilla REST
stand-in behind the updraft_bugzilla connection, a real SMTP server, two mirrors over
HTTP (one lagging, then catching up), the Go/NoGo answered from a responder thread."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.kits import releasekit, treekit
from tests.kits.bugzilla_server import BugzillaServer
from tests.kits.gatekit import Responder, clear_questions
from tests.kits.httprepo import RepoServer
from updraft.devkit import demo_upstream, rpmfactory
from updraft.devkit.mailsink import MailSink
from updraft.ledger import Ledger
from updraft.ledger.mirrors import MirrorRecords
from updraft.ledger.release import ReleaseRecords
from updraft.release.advisory import read_back

pytestmark = pytest.mark.timeout(300)
OFFERED = ["clamav-0.97.5-2.rf", "e-smith-base-5.0.0-14.el6.sme"]


@pytest.fixture(scope="module")
def seed_built(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    return releasekit.build_seed(tmp_path_factory.mktemp("seed-rpms"))


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


@pytest.fixture
def extra(request: pytest.FixtureRequest) -> list:  # type: ignore[type-arg]
    """More families for the tree (indirect parametrisation), none by default."""
    return request.getfixturevalue(request.param) if hasattr(request, "param") else []


@pytest.fixture
def seed(request: pytest.FixtureRequest, seed_built: list) -> list:  # type: ignore[type-arg]
    """The seed's families in the tree; "without_clamav" (indirect parametrisation) leaves
    out the upstream clamav, which names no bug and so is releasable whatever the tracker
    says of the others."""
    if getattr(request, "param", None) == "without_clamav":
        return [(repo, family) for repo, family in seed_built
                if not family.srpm.name.startswith("clamav-")]
    return seed_built


@pytest.fixture
def world(tmp_path: Path, seed: list, extra: list,  # type: ignore[type-arg]
          monkeypatch: pytest.MonkeyPatch, mailbox: MailSink) -> Iterator[dict]:  # type: ignore[type-arg]
    engine = releasekit.seed_tree(tmp_path / "tree", seed, extra)
    lagging_root = tmp_path / "lagging"
    shutil.copytree(engine.layout.root / "9", lagging_root / "9")  # the mirror before
    with BugzillaServer(releasekit.seed_bugs()) as bugzilla, \
            RepoServer(engine.layout.root) as synced, RepoServer(lagging_root) as lagging:
        raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
        raw["release"]["mirrors"] = [f"{synced.url}/{{release}}/{{repo}}/{{arch}}",
                                     f"{lagging.url}/{{release}}/{{repo}}/{{arch}}"]
        raw["release"]["mirror_poll"] = 0.2
        config_file = tmp_path / "sme.yaml"
        config_file.write_text(yaml.safe_dump(raw))
        monkeypatch.setenv("UPDRAFT_CONFIG", str(config_file))
        monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
        monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_BUGZILLA", json.dumps(
            {"conn_type": "bugzilla", "host": bugzilla.url, "password": bugzilla.api_key}))
        yield {"engine": engine, "bugzilla": bugzilla, "lagging": lagging, "synced": synced,
               "lagging_root": lagging_root, "mail": mailbox}


def _run(dagbag, responder: Responder | None):
    dag = dagbag.get_dag("release_updates")
    if responder is not None:
        responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9"})
    if responder is not None:
        responder.join(timeout=30)
        assert responder.error is None, responder.error
    return run, {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}


REPOMD = "/9/smeupdates/x86_64/repodata/repomd.xml"


def _lagging_mirror_catches_up(world: dict) -> None:
    root = world["engine"].layout.root

    def catch_up() -> None:  # the lagging mirror's rsync finally runs
        for archdir in ("i386", "x86_64"):
            shutil.copytree(root / f"9/smeupdates/{archdir}",
                            world["lagging_root"] / f"9/smeupdates/{archdir}",
                            dirs_exist_ok=True)
    world["lagging"].on_request(REPOMD, lambda: None)  # first poll: still the old metadata
    world["lagging"].on_request(REPOMD, catch_up)


def test_go_releases_advises_waits_for_mirrors_mails_and_closes(dagbag, world: dict) -> None:
    engine, bugzilla = world["engine"], world["bugzilla"]
    root, layout = engine.layout.root, engine.layout
    repomd = REPOMD
    _lagging_mirror_catches_up(world)

    responder = Responder([("go_nogo", "Approve", {"families": OFFERED, "comment": None})])
    run, states = _run(dagbag, responder)

    assert run.state == "success", states
    question = responder.question
    # Go or NoGo; the families are the form's multiple choice, all proposed (issue 17)
    assert question["options"] == ["Approve", "Reject"] and question["defaults"] == ["Reject"]
    families = question["params"]["families"]
    assert families["value"] == OFFERED and families["schema"]["items"]["enum"] == OFFERED
    assert question["assignees"] == [{"id": "releng", "name": "releng"}]
    assert "e-smith-pop3-2.0.0-2.el6.sme" in question["body"]
    assert "part of the fix for bug 6262 is in e-smith-base 5.0.0-16" in question["body"]
    assert "[release board](/updraft/release/9)" in question["body"]

    assert (root / "9/smeupdates/x86_64/RPMS/e-smith-base-5.0.0-14.el6.sme.noarch.rpm").exists()
    assert (root / "9/smeupdates/i386/RPMS/clamd-0.97.5-2.el4.rf.i386.rpm").exists()
    assert (root / "9/smeupdates-testing/x86_64/RPMS/e-smith-base-5.0.0-16.el6.sme.noarch.rpm"
            ).exists()
    assert "RPMS/e-smith-base-5.0.0-14.el6.sme.noarch.rpm" in treekit.repo_hrefs(
        root / "9/smeupdates/x86_64")
    ids = sorted(record.id for record in read_back(root / "9/smeupdates/x86_64"))
    assert len(ids) == 2 and all(i.startswith("SME-") for i in ids)
    assert world["lagging"].served.count(repomd) >= 2  # waited for the lagging mirror

    subjects = sorted(m["Subject"].strip() for m in world["mail"].wait_for(4, timeout=10))
    assert "[updatesannounce] SME Server 9 Update: e-smith-base-5.0.0-14" in subjects
    assert any(s.startswith("[updatesannounce] SME Server 9 Update: Upstream packages")
               for s in subjects)
    assert "[updraft] Go/NoGo: release updates of 9" in subjects
    assert "[updatesteam] Repository Update" in subjects

    assert bugzilla.bugs[6104]["status"] == "CLOSED"
    assert bugzilla.bugs[6248]["status"] == "RESOLVED"  # nothing of it was released
    assert bugzilla.bugs[6262]["status"] == "VERIFIED"

    ledger = Ledger.open(layout.ledger_url)
    try:
        records = ReleaseRecords(ledger)
        issued = records.advisories("9")
        decisions = records.decisions()
        checked = MirrorRecords(ledger).latest()
    finally:
        ledger.close()
    # wait_mirrors kept every mirror's last check, the lagging one's included (issue 18)
    assert sorted((c.mirror.split("/")[2], c.repo, c.archdir, c.synced) for c in checked) == [
        (host, "smeupdates", archdir, True) for host in sorted(
            (world["lagging"].url.split("/")[2], world["synced"].url.split("/")[2]))
        for archdir in ("i386", "x86_64")]
    assert [(a.family, a.notes_sent is not None) for a in issued] == [
        ("clamav", True), ("e-smith-base", True)]
    assert [a.bugs_closed is not None for a in issued] == [False, True]
    assert decisions[-1]["chosen"] == OFFERED and decisions[-1]["by"] == "releng"
    assert (layout.state_dir / "release" / "release-9.html").is_file()


def test_bugzilla_down_offers_nothing_and_releases_nothing(dagbag, world: dict) -> None:
    root = world["engine"].layout.root
    before = treekit.rpm_files(root)
    world["bugzilla"].down = True

    run, states = _run(dagbag, None)

    assert states["analyse"] == "failed" and run.state == "failed"
    assert states["report"] == "upstream_failed" and states["go_nogo"] == "upstream_failed"
    board = world["engine"].layout.state_dir / "release" / "release-9.html"
    assert "The tracker could not be asked" in board.read_text()  # the board says why
    assert treekit.rpm_files(root) == before
    assert world["mail"].messages() == []


def test_nogo_releases_nothing_and_keeps_the_decision(dagbag, world: dict) -> None:
    """Issue 17 §1: the release Go/NoGo can say No; the run ends green with a note, and
    the release ledger keeps the decision although promote never runs."""
    from tests.kits.gatekit import gate_mails, run_note

    root = world["engine"].layout.root
    before = treekit.rpm_files(root)
    responder = Responder([("go_nogo", "Reject", {"families": OFFERED,
                                                 "comment": "bug 6262 needs QA first"})])
    run, states = _run(dagbag, responder)

    assert run.state == "success", states
    assert states["go_nogo"] == "success"
    assert {states[t] for t in ("promote", "advisory", "release_notes", "record")} == {"skipped"}
    assert treekit.rpm_files(root) == before
    assert run_note(run) == "NoGo by releng: bug 6262 needs QA first"
    ledger = Ledger.open(world["engine"].layout.ledger_url)
    try:
        decisions = ReleaseRecords(ledger).decisions(f"airflow:release_updates/{run.run_id}")
    finally:
        ledger.close()
    assert [(d["gate"], d["chosen"], d["by"]) for d in decisions] == [("go_nogo", [], "releng")]
    assert len(gate_mails(world["mail"].messages())) == 1



# -- coupled families (issue 17 §3): libtevent and samba are one unit, all or none --------

TEVENT, SAMBA = "libtevent-0.9.31-2.el6", "samba-4.6.2-12.el6.sme"


@pytest.fixture(scope="module")
def coupled_built(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    """The demo upstream's libtevent 0.9.31-2 and our samba 4.6.2-12 rebuilt against it in
    smeupdates-testing, over their shipped versions in smeos."""
    new = {spec.name: spec for spec in demo_upstream.upstream_specs()}
    old = {spec.name: spec for spec in demo_upstream.history_specs()}
    # Our samba 4.6.2-12, rebuilt against the new libtevent (the shipped one's spec, bumped).
    samba = dataclasses.replace(
        old["samba"], release="12", binary_dist=".el6.sme", vendor="",
        changelog=(rpmfactory.ChangelogEntry(
            "Mon Mar 04 2013", "Packager <packager@example.org>", "4.6.2-12",
            ("- Rebuild against libtevent 0.9.31-2",)),))
    built = rpmfactory.build_families(
        [old["libtevent"], old["samba"], new["libtevent"], samba],
        tmp_path_factory.mktemp("coupled-rpms"), arches=("i386", "x86_64"), jobs=2)
    return list(zip(["smeos", "smeos", "smeupdates-testing", "smeupdates-testing"], built,
                    strict=True))


@pytest.mark.parametrize("extra", ["coupled_built"], indirect=True)
def test_a_choice_taking_part_of_a_coupled_unit_releases_nothing(dagbag, world: dict) -> None:
    from tests.kits.gatekit import run_note

    root = world["engine"].layout.root
    before = treekit.rpm_files(root)
    responder = Responder([("go_nogo", "Approve", {"families": [*OFFERED, TEVENT],
                                                   "comment": None})])
    run, states = _run(dagbag, responder)

    assert run.state == "failed" and states["promote"] == "failed", states
    families = responder.question["params"]["families"]
    offered = families["value"]
    assert offered.index(SAMBA) == offered.index(TEVENT) + 1  # the unit side by side
    assert f"{TEVENT} + {SAMBA} go together (coupled)" in families["description"]
    body = responder.question["body"]
    assert "**Coupled** (released together, all or none" in body
    assert f"`{TEVENT}` + `{SAMBA}`" in body
    assert treekit.rpm_files(root) == before  # nothing released, not even clamav
    note = run_note(run) or ""
    assert note.startswith("Nothing released: libtevent + samba go together (coupled): "
                           "chosen libtevent without samba"), note
    assert "nothing was released" in note
    assert read_back(root / "9/smeupdates/x86_64") == []


@pytest.mark.parametrize("extra", ["coupled_built"], indirect=True)
def test_a_coupled_unit_released_whole_is_one_advisory(dagbag, world: dict) -> None:
    root = world["engine"].layout.root
    _lagging_mirror_catches_up(world)
    responder = Responder([("go_nogo", "Approve", {"families": [*OFFERED, TEVENT, SAMBA],
                                                   "comment": "libtevent with its samba"})])
    run, states = _run(dagbag, responder)

    assert run.state == "success", states
    for rpm in (f"{TEVENT}.noarch.rpm", f"{SAMBA}.noarch.rpm", "libsmbclient-4.6.2-12.el6.sme"
                ".noarch.rpm"):
        assert f"RPMS/{rpm}" in treekit.repo_hrefs(root / "9/smeupdates/x86_64"), rpm
    coupled = [a for a in read_back(root / "9/smeupdates/x86_64")
               if any(p.name in ("samba", "libtevent") for c in a.collections
                      for p in c.packages)]
    [advisory] = coupled  # one advisory for the unit, samba's, listing every package
    assert advisory.title == "samba-4.6.2-12 bugfix update with libtevent-0.9.31-2", \
        advisory.title
    names = sorted({p.name for c in advisory.collections for p in c.packages})
    assert names == ["libsmbclient", "libtevent", "samba"], names
    with Ledger.open(world["engine"].layout.ledger_url) as ledger:
        issued = ReleaseRecords(ledger).advisories("9")
    assert sorted(a.family for a in issued) == ["clamav", "e-smith-base", "samba"]
    subjects = [m["Subject"].strip() for m in world["mail"].messages()]
    assert not any("Update: libtevent" in s for s in subjects), subjects


@pytest.mark.parametrize("seed", ["without_clamav"], indirect=True)
def test_nothing_releasable_asks_nobody_and_says_so_in_the_note(dagbag, world: dict) -> None:
    """Issue 18: a run that released nothing because nothing was releasable says so in its
    note, and is green. (With clamav in the tree it would be offered, the gate asked, and
    dag.test() would wait for an answer forever.)"""
    from tests.kits.gatekit import gate_mails, run_note

    root = world["engine"].layout.root
    before = treekit.rpm_files(root)
    world["bugzilla"].bugs.update(releasekit.seed_bugs(
        dict.fromkeys(world["bugzilla"].bugs, "NEW")))
    run, states = _run(dagbag, None)

    assert run.state == "success", states
    assert states["analyse"] == "success" and states["go_nogo"] == "skipped", states
    assert {states[t] for t in ("promote", "advisory", "wait_mirrors", "record")} == {
        "skipped"}
    assert treekit.rpm_files(root) == before
    note = run_note(run) or ""
    assert ("Nothing releasable: 3 candidates held back (3 with unverified bugs), see the "
            "release board; nobody was asked, nothing was released") in note, note
    assert world["mail"].messages() == [] and gate_mails(world["mail"].messages()) == []

"""The mission on the demo tree, as README's walkthrough tells it and `make run` serves it:
upstream_sync -> its handover's build requests -> build_batch ("Start building?" answered
with initscripts, the builds, one builder report, Sign?, land) -> promote ->
release_updates -> build_iso, each a dag.test() of the DAG files in dags/; and a NoGo at
"Start building?" that builds nothing.

The world is `make demo`'s (updraft.devkit.demo.build_demo_tree + build_mission) built into tmp:
the seeded tree, the demo key, the demo upstream served over HTTP on 127.0.0.1, release
10 behind its `10 -> 10.0` link; the demo Bugzilla's bugs behind the Bugzilla stand-in,
a real SMTP server. Only the ports differ from config/sme.yaml's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.kits import treekit
from tests.kits.batchkit import requests_event
from tests.kits.bugzilla_server import BugzillaServer, bug
from tests.kits.gatekit import PROPOSED, Responder, clear_questions, reports, run_note
from tests.kits.httprepo import RepoServer
from updraft.config.dist import load_config
from updraft.devkit import demo, demo_iso, demo_upstream
from updraft.devkit.demo_key import demo_key
from updraft.devkit.mailsink import MailSink
from updraft.engine.engine import Engine
from updraft.ledger import Ledger
from updraft.ledger.release import ReleaseRecords
from updraft.ledger.upstream import UpstreamRecords
from updraft.release.advisory import read_back
from updraft.upstream.keyring import Keyring

pytestmark = pytest.mark.timeout(1500)

REBUILT = "initscripts-9.03.49-1.el6.sme.1"  # our rebase of upstream's 9.03.49-1.el6


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


def _demo_config(directory: Path, upstream_url: str) -> Path:
    """config/sme.yaml as `make run` reads it, its ports and paths moved into tmp."""
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    raw["root"] = str(directory / "tree")
    raw["build"]["patches_dir"] = str(treekit.CONFIG_FILE.parent / "patches")
    public = str(directory / "keys" / "RPM-GPG-KEY-updraft-demo")
    [source] = raw["upstream"][9]
    source["baseurl"] = f"{upstream_url}/upstream-demo/{{arch}}/"
    source["source_url"] = f"{upstream_url}/upstream-demo/Source/"
    source["gpgkeys"] = [public]
    raw["iso"].update(release_keys=[public],
                      cdrom_image=str(directory / "cdrom.image" / "sme{release}"),
                      anaconda_po=str(directory / "anaconda-po" / "sme{release}"))
    path = directory / "sme.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def world(tmp_path: Path, mailbox: MailSink, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    sme = load_config(treekit.CONFIG_FILE)
    root = tmp_path / "tree"
    demo.build_demo_tree(sme, root)
    demo.build_mission(sme, root)
    key = demo_key(tmp_path / "keys")
    bugs = {number: bug(number, status, resolution=resolution, product=product,
                        summary=summary)
            for number, (status, resolution, product, summary) in demo.DEMO_BUGS.items()}
    with RepoServer(tmp_path / "upstream") as upstream, BugzillaServer(bugs) as bugzilla:
        config_file = _demo_config(tmp_path, upstream.url)
        monkeypatch.setenv("UPDRAFT_CONFIG", str(config_file))
        monkeypatch.setenv("UPDRAFT_ROOT", str(root))
        monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_BUGZILLA", json.dumps(
            {"conn_type": "bugzilla", "host": bugzilla.url, "password": bugzilla.api_key}))
        monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_GPG", json.dumps(
            {"conn_type": "generic", "login": key.fingerprint, "password": key.passphrase,
             "extra": {"gnupghome": str(key.gnupghome)}}))
        engine = Engine(load_config(config_file), root)
        assert engine.update_repos().ok  # the update cycle `make run` runs first
        yield {"engine": engine, "key": key, "bugzilla": bugzilla, "mail": mailbox,
               "upstream": upstream}


def _run(dagbag, dag_id: str, answers: list, **conf: object):
    dag = dagbag.get_dag(dag_id)
    responder = Responder(answers).attach(dag) if answers else None
    if responder is not None:
        responder.start()
    run = dag.test(run_conf=conf)
    if responder is not None:
        responder.join(timeout=30)
        assert responder.error is None, responder.error
    states = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, set()).add(ti.state)
    assert run.state == "success", (dag_id, states)
    return responder, states, run


def _subjects(mailbox: MailSink) -> list[str]:
    return [mail["Subject"].strip() for mail in mailbox.messages()]


def _upstream_sync(dagbag, world: dict) -> None:
    root = world["engine"].layout.root
    _run(dagbag, "upstream_sync", [])
    for arch in ("i386", "x86_64"):
        hrefs = treekit.repo_hrefs(root / f"9/smetest/{arch}")
        assert f"RPMS/clamav-0.97.8-1.el6.{arch}.rpm" in hrefs  # newer than the shipped
        assert "RPMS/libtevent-0.9.31-2.el6.noarch.rpm" in hrefs  # coupled with samba
        dev = treekit.repo_hrefs(root / f"9/smedev/{arch}")
        assert "RPMS/fail2ban-0.8.14-1.el6.noarch.rpm" in dev  # a name never seen before
    # samba and initscripts are built here: their upstream binaries never land, their
    # SRPMs are the handover's build requests (seed 004 step 3).
    assert not list(root.glob("9/*/*/RPMS/samba-4.6.2-12*"))
    assert not list(root.glob("9/*/*/RPMS/initscripts-*"))
    requests = _sync_requests()
    assert {name: r["nvr"] for name, r in requests.items()} == {
        "initscripts": "initscripts-9.03.49-1.el6", "samba": "samba-4.6.2-12.el6"}
    assert "coupled: libtevent-0.9.31-2.el6 landed" in requests["samba"]["reason"]
    subjects = _subjects(world["mail"])
    security = f"[updatesteam] Security update waiting: {demo_upstream.ADVISORY['id']} " \
               "clamav (sme9)"
    assert security in subjects, subjects
    [mail] = [m for m in world["mail"].messages() if m["Subject"].strip() == security]
    assert "CVE-2013-2020" in mail.get_content()
    report = next(m for m in world["mail"].messages()
                  if m["Subject"] == "[updatesteam] Repository Update").get_content()
    assert "coupled with samba" in report
    with Ledger.open(world["engine"].layout.ledger_url) as ledger:
        records = UpstreamRecords(ledger)
        assert records.source_state("9", demo_upstream.ORIGIN) == ("synced", "")
        [advisory] = records.advisories("9", security_waiting=True)
        assert advisory.advisory == demo_upstream.ADVISORY["id"]
        assert "CVE-2013-2021" in advisory.cves


def _sync_requests() -> dict[str, dict]:
    """The build requests the sync's handover emitted, by name (seed 004 step 3)."""
    return {r["name"]: r for r in requests_event()["requests"]}


def _build_batch(dagbag, world: dict) -> str:
    """Start building? answered with initscripts (rebased on the SRPM the sync mirrored),
    built, one builder report, Sign? Go, landed: where it went."""
    root, key = world["engine"].layout.root, world["key"]
    requests = _sync_requests()
    wanted = requests["initscripts"]
    assert wanted["nvr"] == "initscripts-9.03.49-1.el6", wanted
    responder, states, _ = _run(dagbag, "build_batch",
                                [("start_gate", [wanted["key"]]),
                                 ("sign_gate", [wanted["key"]])],
                                release="9", packages=[r["nvr"] for r in requests.values()])
    assert wanted["key"] in responder.questions["start_gate"]["options"]
    assert states["build"] == {"success"} and states["land"] == {"success"}, states
    assert REBUILT in responder.questions["sign_gate"]["body"]
    [binary] = root.glob(f"9/*/x86_64/RPMS/{REBUILT}.noarch.rpm")
    keyring = Keyring(root.parent / "verify")
    keyring.load([key.public])
    [check] = keyring.check_packages([binary]).values()
    assert check.ok and check.key_id == key.key_id, check
    [report] = [m for m in reports(world["mail"].messages())
                if "Builder report" in m["Subject"]]
    assert report["Subject"].strip() == "[updatesteam] Builder report: 1 built (sme9)"
    assert REBUILT in report.get_content()
    return binary.parts[-4]


def _promote(dagbag, world: dict, repo: str) -> None:
    root = world["engine"].layout.root
    _run(dagbag, "promote", [], package=REBUILT, target="smeupdates-testing", release="9")
    assert (root / f"9/smeupdates-testing/x86_64/RPMS/{REBUILT}.noarch.rpm").is_file()
    assert not (root / f"9/{repo}/x86_64/RPMS/{REBUILT}.noarch.rpm").exists()
    assert f"RPMS/{REBUILT}.noarch.rpm" in treekit.repo_hrefs(
        root / "9/smeupdates-testing/x86_64")


def _release(dagbag, world: dict, release: str) -> list[str]:
    responder, _, _ = _run(dagbag, "release_updates", [("go_nogo", PROPOSED)],
                           release=release)
    offered = responder.question["params"]["families"]["value"]
    with Ledger.open(world["engine"].layout.ledger_url) as ledger:
        records = ReleaseRecords(ledger)
        decisions, issued = records.decisions(), records.advisories(release)
    assert decisions[-1]["chosen"] == offered and decisions[-1]["by"] == "releng"
    assert issued and all(a.notes_sent is not None for a in issued)
    return offered


def test_the_demo_runs_the_whole_mission(dagbag, world: dict) -> None:
    root = world["engine"].layout.root
    _upstream_sync(dagbag, world)
    landed_in = _build_batch(dagbag, world)
    assert landed_in == "smedev"  # upstream's initscripts was new to us: so is ours
    _promote(dagbag, world, landed_in)

    offered = _release(dagbag, world, "9")
    assert REBUILT in offered, offered
    assert (root / f"9/smeupdates/x86_64/RPMS/{REBUILT}.noarch.rpm").is_file()
    # Its advisory in smeupdates' updateinfo, read back with createrepo_c, cites its bugs.
    [advisory] = [a for a in read_back(root / "9/smeupdates/x86_64")
                  if any(p.name == "initscripts" for c in a.collections for p in c.packages)]
    assert {r.id for r in advisory.references} >= {"7217", "8277", "8375", "8635"}
    assert world["bugzilla"].bugs[8375]["status"] == "CLOSED"  # the rebase's bugs

    offered = _release(dagbag, world, "10")
    assert "smeserver-release-10.1-1" in offered, offered
    responder, _, _ = _run(dagbag, "build_iso", [("approve", "Approve")], release="10",
                        version=demo_iso.NEXT)
    iso = root / "10.1" / "iso" / "x86_64" / "smeserver-10.1-x86_64.iso"
    assert iso.is_file() and os.readlink(root / "10") == "10.1"
    sha = (iso.parent / "SHA256SUM").read_text().split()[0]
    assert sha in responder.question["body"]
    subjects = _subjects(world["mail"])
    assert "[updraft] Go/NoGo: release updates of 10" in subjects, subjects


def test_a_nogo_at_start_building_builds_nothing(dagbag, world: dict) -> None:
    root = world["engine"].layout.root
    _upstream_sync(dagbag, world)
    requests = _sync_requests()
    assert "initscripts" in requests, requests
    before = treekit.rpm_files(root)
    _, states, run = _run(dagbag, "build_batch",
                          [("start_gate", "NoGo", {"comment": "not before the freeze"})],
                          release="9", packages=[r["nvr"] for r in requests.values()])
    assert states["start_gate"] == {"skipped"}
    assert {s for t in ("build", "report", "sign_gate", "land") for s in states[t]} \
        == {"skipped"}, states
    assert run_note(run) == "NoGo by packager: not before the freeze"
    assert treekit.rpm_files(root) == before
    assert not list((world["engine"].layout.state_dir / "builds").glob("*/**/*.rpm"))
    assert not any("Builder report" in s for s in _subjects(world["mail"]))

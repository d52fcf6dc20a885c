"""dag.test() of the sync → "Start building?" → build chain (issue 17 §2, §3): a real
upstream on 127.0.0.1 offering samba (rebuilt by policy), tzdata (rebuilt by the
release's `rebuild:` patterns) and libtevent (coupled with samba); the build requests
the sync emits as an asset event; build_batch's gates answered from a responder thread;
real rpmbuild builds; the builder report as a real SMTP server received it; libtevent
held below smeupdates-testing until samba was rebuilt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.kits import buildkit, treekit, upstreamkit
from tests.kits.batchkit import requests_event
from tests.kits.batchkit import states as _states
from tests.kits.gatekit import Responder, clear_questions
from tests.kits.httprepo import RepoServer
from tests.kits.signing import SigningKey
from updraft.config.dist import load_config
from updraft.devkit.mailsink import MailSink
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout

pytestmark = pytest.mark.timeout(600)

SAMBA = "samba-4.6.2-12.el5 (9)"
TZDATA = "tzdata-2012i-2.el5 (9)"


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


@pytest.fixture
def synced_upstream(
    tmp_path: Path,
    families: dict[str, BuiltFamily],
    signed: dict[str, Path],
    keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Engine]:
    files = [
        signed[p.name]
        for name in ("tzdata-new", "samba-new", "libtevent-new")
        for p in families[name].files()
    ]
    upstreamkit.publish(tmp_path / "served", files)
    with RepoServer(tmp_path / "served") as server:
        config = upstreamkit.config_with(
            tmp_path, [upstreamkit.centos(server.url, keys["centos"].public)]
        )
        raw = yaml.safe_load(Path(config.source_file).read_text())
        raw["releases"][9]["rebuild"] = ["tzdata"]  # CERN-style: a release pattern
        for policy in raw["policies"]:
            policy.pop("rebase", None)  # our real patches do not fit the test's specs
        raw["build"]["nodeps"] = True
        Path(config.source_file).write_text(yaml.safe_dump(raw, sort_keys=False))
        config = load_config(config.source_file)
        layout = Layout(config, tmp_path / "tree")
        for name, repo in upstreamkit.TREE.items():
            treekit.place(layout, "9", repo, families[name])
        treekit.place(layout, "9", "smetest", families["libtevent-old"])
        engine = Engine(config, layout.root)
        assert engine.update_repos().ok
        monkeypatch.setenv("UPDRAFT_CONFIG", str(config.source_file))
        monkeypatch.setenv("UPDRAFT_ROOT", str(layout.root))
        yield engine


def _sync(dagbag) -> list[dict]:
    run = dagbag.get_dag("upstream_sync").test()
    assert run.state == "success", _states(run)
    assert _states(run)["handover"] == "success"
    return requests_event()["requests"]


def _batch(dagbag, responder: Responder, requests: list[dict]):
    # dag.test() cannot hand a run its triggering events: the event's requests are
    # offered as a hand-started batch would be (the same checks, the policies again).
    dag = dagbag.get_dag("build_batch")
    responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9", "packages": [r["nvr"] for r in requests]})
    responder.join(timeout=60)
    assert responder.error is None, responder.error
    return run


def _promote_libtevent(dagbag, engine: Engine) -> tuple[bool, str]:
    """(in smeupdates-testing now, the promote run's plan preview)."""
    run = dagbag.get_dag("promote").test(
        run_conf={
            "package": "libtevent-0.9.31-2.el5",
            "target": "smeupdates-testing",
            "release": "9",
        }
    )
    found = treekit.repo_hrefs(engine.layout.repodata_dir("9", "smeupdates-testing", "x86_64"))
    return any("libtevent-0.9.31-2" in href for href in found), str(run.state)


def test_sync_hands_over_and_a_subset_is_built_and_reported(
    dagbag, synced_upstream: Engine, mailbox: MailSink
) -> None:
    engine = synced_upstream
    requests = _sync(dagbag)
    by_key = {r["key"]: r for r in requests}
    assert set(by_key) == {SAMBA, TZDATA}
    assert by_key[SAMBA]["reason"] == (
        "new upstream 4.6.2-12.el5 from centos; coupled: libtevent-0.9.31-2.el5 landed"
    )
    mirror = engine.layout.state_dir / "mirror" / "9" / "centos"
    assert list(mirror.rglob("samba-4.6.2-12.el5.src.rpm"))  # fetched and verified
    smetest = treekit.repo_hrefs(engine.layout.repodata_dir("9", "smetest", "x86_64"))
    assert not any("samba" in href or "tzdata" in href for href in smetest)  # not landed
    assert any("libtevent-0.9.31-2" in href for href in smetest)

    # §3: libtevent may not go up before samba is rebuilt against it.
    moved, _ = _promote_libtevent(dagbag, engine)
    assert not moved

    responder = Responder([("start_gate", [SAMBA]), ("sign_gate", "NoGo")])
    run = _batch(dagbag, responder, requests)
    states = _states(run)
    assert run.state == "success", states
    question = responder.questions["start_gate"]
    assert question["options"] == [SAMBA, TZDATA, "NoGo"]
    # Every request is proposed in the body; silence decides NoGo (gates.on_timeout).
    assert question["defaults"] == ["NoGo"]
    assert SAMBA in question["body"] and TZDATA in question["body"]
    assert states["build[0]"] == "success" and "build[1]" not in states
    assert states["parameters_gate"] == "skipped" and states["sign"] == "skipped"
    assert states["land"] == "skipped"
    [report] = [m for m in mailbox.wait_for(1, timeout=20) if "Builder report" in m["Subject"]]
    assert report["Subject"] == "[updatesteam] Builder report: 1 built (sme9)"
    body = report.get_content()
    assert 'Built, waiting for "Sign?":' in body and "samba-4.6.2-12" in body
    assert "tzdata" not in body
    assert responder.questions["sign_gate"]["options"] == [SAMBA, "NoGo"]

    moved, _ = _promote_libtevent(dagbag, engine)
    assert moved  # samba was rebuilt after libtevent arrived


def test_nogo_at_start_building_builds_nothing(
    dagbag, synced_upstream: Engine, mailbox: MailSink
) -> None:
    requests = _sync(dagbag)
    responder = Responder([("start_gate", "NoGo")])
    run = _batch(dagbag, responder, requests)
    states = _states(run)
    assert run.state == "success", states
    assert states["start_gate"] == "skipped"
    assert {states[t] for t in ("chosen", "planned", "report", "sign_gate", "land")} == {"skipped"}
    assert not any("Builder report" in m["Subject"] for m in mailbox.messages())
    from updraft.ledger import Ledger
    from updraft.ledger.gates import GateRecords

    with Ledger.open(synced_upstream.layout.ledger_url) as ledger:
        [decision] = [d for d in GateRecords(ledger).decisions("start_building")]
    assert decision.chosen == ("NoGo",) and decision.by == "packager"
    assert json.loads(json.dumps(list(decision.chosen))) == ["NoGo"]


# -- the kernel's special parameters (seed 004 question 5) --------------------------------

KERNEL = "kernel-2.6.32-573.el6 (9)"


def _rpm_query(path: Path, fmt: str) -> str:
    import subprocess

    return subprocess.run(["rpm", "-qp", "--nosignature", "--qf", fmt, str(path)],
                          capture_output=True, text=True, check=True).stdout


def test_the_kernel_asks_parameters_and_builds_with_the_answer(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    """A kernel request stops at the parameters gate with its policy's `build:` pre-filled;
    the packager adds a define and drops the docs: the built RPM carries both."""
    from updraft.ledger import Ledger
    from updraft.ledger.gates import GateRecords

    layout = Layout(treekit.sme_config(), clamav_tree)
    # The upstream SRPM, as a sync mirrors it; its spec prints the `greeting` define and
    # the `docs` bcond in its %description (tests/kits/buildkit.py's probe).
    buildkit.srpm(layout.state_dir / "mirror" / "9" / "centos" / "Source", "kernel",
                  "2.6.32", "573", dist=".el6", probe=True)
    answered = {"without": ["debug", "debuginfo", "docs"],
                "defines": {"greeting": "edited-at-the-gate"}}
    responder = Responder([
        ("start_gate", [KERNEL]),
        ("parameters_gate", "Build with these parameters",
         {"kernel": answered, "comment": "no docs on the build hosts"}),
        ("sign_gate", "NoGo"),
    ])
    run = _batch(dagbag, responder, [{"nvr": "kernel-2.6.32-573.el6"}])
    states = _states(run)
    assert run.state == "success", states
    assert states["parameters_gate"] == "success" and states["build[0]"] == "success"
    asked = responder.questions["parameters_gate"]
    assert asked["params"]["kernel"]["value"] == {"without": ["debug", "debuginfo"]}
    assert asked["assignees"] == [{"id": "packager", "name": "packager"}]
    assert '"without"' in asked["body"] and "special parameters" in responder.questions[
        "start_gate"]["body"]

    built = sorted(layout.state_dir.glob("builds/*/**/kernel-2.6.32-573.el6.sme.x86_64.rpm"))
    assert built, sorted(p.name for p in layout.state_dir.glob("builds/**/*.rpm"))
    description = _rpm_query(built[0], "%{DESCRIPTION}")
    assert "greeting=edited-at-the-gate" in description and "docs=0" in description
    assert not list(layout.state_dir.glob("builds/**/kernel-doc-*.rpm"))  # --without docs
    with Ledger.open(layout.ledger_url) as ledger:
        [decision] = GateRecords(ledger).decisions("build_parameters")
    # The parameters are the ledger's form, the comment stays the packager's words.
    assert decision.form == {"kernel": answered}
    assert decision.comment == "no docs on the build hosts"
    assert decision.by == "packager"


def test_a_nogo_to_the_parameters_says_the_packagers_words(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    """The run's note of a NoGo at the parameters gate is "NoGo by packager: <comment>",
    never the parameters' JSON; nothing is built."""
    from tests.kits.gatekit import run_note

    layout = Layout(treekit.sme_config(), clamav_tree)
    buildkit.srpm(layout.state_dir / "mirror" / "9" / "centos" / "Source", "kernel",
                  "2.6.32", "573", dist=".el6", probe=True)
    responder = Responder([
        ("start_gate", [KERNEL]),
        ("parameters_gate", "NoGo",
         {"kernel": {"without": ["debug"]}, "comment": "wait for the 574 errata"}),
    ])
    run = _batch(dagbag, responder, [{"nvr": "kernel-2.6.32-573.el6"}])
    states = _states(run)
    assert run.state == "success", states
    assert states["parameters_gate"] == "skipped", states
    note = run_note(run) or ""
    assert note.endswith("NoGo by packager: wait for the 574 errata"), note
    assert "without" not in note
    assert not list(layout.state_dir.glob("builds/**/kernel-*.rpm"))

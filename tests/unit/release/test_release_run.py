"""ReleaseRun, the release facade, on seed 000's tree: every step retried does not redo
what the ledger records as done (mails counted by a real SMTP server across a failed and
a retried announcement, bug comments by the Bugzilla stand-in), and `updraft release`
by hand, whose --dry-run changes no file, no ledger row, no mail and no bug."""

from __future__ import annotations

import hashlib
import smtplib
import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.kits import releasekit, treekit
from tests.kits.bugzilla_server import BugzillaServer
from updraft.devkit.mailsink import MailSink
from updraft.engine.engine import Engine
from updraft.gate import os_user
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords
from updraft.ledger.release import ReleaseRecords
from updraft.mail import send_direct
from updraft.release.advisory import read_back
from updraft.release.run import ReleaseRun
from updraft.release.tracker import BugTracker

OFFERED = ["clamav-0.97.5-2.rf", "e-smith-base-5.0.0-14.el6.sme"]


@pytest.fixture(scope="module")
def seed_built(tmp_path_factory: pytest.TempPathFactory) -> list:  # type: ignore[type-arg]
    return releasekit.build_seed(tmp_path_factory.mktemp("seed-rpms"))


@pytest.fixture
def world(tmp_path: Path, seed_built: list,  # type: ignore[type-arg]
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, BugzillaServer, MailSink]]:
    engine = releasekit.seed_tree(tmp_path / "tree", seed_built)
    with BugzillaServer(releasekit.seed_bugs()) as server, MailSink(tmp_path / "mail") as sink:
        monkeypatch.setenv("UPDRAFT_SMTP", f"127.0.0.1:{sink.port}")
        monkeypatch.setenv("UPDRAFT_BUGZILLA_URL", server.url)
        monkeypatch.setenv("UPDRAFT_BUGZILLA_API_KEY", server.api_key)
        yield engine, server, sink


def _subjects(sink: MailSink) -> list[str]:
    return [str(message["Subject"]).strip() for message in sink.messages()]


def _advisories(engine: Engine) -> dict[str, tuple[bool, bool]]:
    with Ledger.open(engine.layout.ledger_url) as ledger:
        return {a.family: (a.notes_sent is not None, a.bugs_closed is not None)
                for a in ReleaseRecords(ledger).advisories("9")}


def test_every_step_retried_redoes_nothing_recorded_as_done(
        world: tuple[Engine, BugzillaServer, MailSink]) -> None:
    engine, server, sink = world
    run = ReleaseRun.of(engine, "9", "test-run", run="test:run")
    tracker = BugTracker(server.url, api_key=server.api_key)
    analysis = run.analyse(tracker)
    assert run.analysis().to_json() == analysis.to_json()  # kept for the later steps
    assert run.report(analysis).tested >= 6
    assert run.report(analysis).tested == 0

    packages = run.decide(analysis, OFFERED, "releng", "go_nogo")
    again = run.decide(analysis, OFFERED, "someone-else", "go_nogo")  # a retried promote
    assert [p.option for p in packages] == [p.option for p in again] == OFFERED
    assert [p.option for p in run.released()] == OFFERED
    with Ledger.open(engine.layout.ledger_url) as ledger:
        decisions = ReleaseRecords(ledger).decisions("test:run")
    assert [(d["chosen"], d["by"]) for d in decisions] == [(OFFERED, "releng")]

    assert run.promote(packages).ok
    assert run.promote(packages).nothing_to_do
    updates = run.advise(packages, analysis.bugs)
    assert [u.advisory for u in run.advise(packages, analysis.bugs)] == [
        u.advisory for u in updates]
    assert len(read_back(engine.layout.repodata_dir("9", "smeupdates", "x86_64"))) == 2
    assert [u.advisory for u in run.updates()] == [u.advisory for u in updates]

    # The SMTP server drops the connection after the first mail: the task fails and is
    # retried. The retry mails the rest only; a third try mails nothing.
    config = engine.config
    tries: list[str] = []

    def flaky(message: EmailMessage) -> None:
        if tries:
            raise smtplib.SMTPServerDisconnected("connection lost")
        tries.append(str(message["Subject"]))
        send_direct(config, message)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        run.announce(updates, flaky)
    assert len(sink.messages()) == 1
    assert _advisories(engine) == {"e-smith-base": (True, False), "clamav": (False, False)}
    rest = run.announce(updates, lambda message: send_direct(config, message))
    assert rest == [s for s in _subjects(sink) if s not in tries]
    assert run.announce(updates, lambda message: send_direct(config, message)) == []
    subjects = _subjects(sink)
    assert len(subjects) == 2 and len(set(subjects)) == 2
    assert subjects[0] == "[updatesannounce] SME Server 9 Update: e-smith-base-5.0.0-14"
    assert subjects[1].startswith("[updatesannounce] SME Server 9 Update: Upstream packages")

    assert run.close_bugs(updates, tracker) == [6104]
    comments = len(server.comments[6104])
    assert run.close_bugs(updates, tracker) == []  # recorded: the tracker is not asked
    assert len(server.comments[6104]) == comments
    assert _advisories(engine) == {"e-smith-base": (True, True), "clamav": (True, False)}
    recorded = run.record(updates)
    assert run.record(updates) == recorded and recorded.packages >= 4


def _snapshot(engine: Engine, sink: MailSink, server: BugzillaServer) -> dict[str, object]:
    """Every file of the tree and state (the ledger by its rows), the mails, the bugs."""
    root = engine.layout.root
    ledger = engine.layout.state_dir / "ledger.sqlite"
    files = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(
                 "ledger.sqlite")}
    with sqlite3.connect(ledger) as db:
        rows = list(db.iterdump())
    return {"files": files, "rows": rows, "mails": len(sink.messages()),
            "bugs": {n: (b["status"], len(server.comments.get(n, [])))
                     for n, b in server.bugs.items()}}


def _cli(*args: str, sink: MailSink, server: BugzillaServer, engine: Engine) -> str:
    env = {"UPDRAFT_SMTP": f"127.0.0.1:{sink.port}", "UPDRAFT_BUGZILLA_URL": server.url,
           "UPDRAFT_BUGZILLA_API_KEY": server.api_key}
    done = treekit.run_cli("--root", str(engine.layout.root), "release", *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_release_by_hand_and_every_dry_run_changes_nothing(
        world: tuple[Engine, BugzillaServer, MailSink]) -> None:
    engine, server, sink = world

    def cli(*args: str) -> str:
        return _cli(*args, "--release", "9", sink=sink, server=server, engine=engine)

    def dry(*args: str) -> str:
        before = _snapshot(engine, sink, server)
        out = cli(*args, "--dry-run")
        assert _snapshot(engine, sink, server) == before, args
        return out

    assert "5.0.0-14.el6.sme may be released" in dry("analyse")
    assert "5.0.0-14.el6.sme may be released" in cli("analyse")
    assert "move from smeupdates-testing to smeupdates (e-smith-base-5.0.0-14.el6.sme." \
           "noarch.rpm)" in dry("go", "--family", "e-smith-base", "--family", "clamav")
    assert "e-smith-base" in cli("go", "--all", "--reason", "the DAG is down")
    smeupdates = treekit.repo_hrefs(engine.layout.repodata_dir("9", "smeupdates", "x86_64"))
    assert "RPMS/e-smith-base-5.0.0-14.el6.sme.noarch.rpm" in smeupdates
    with Ledger.open(engine.layout.ledger_url) as ledger:
        overrides = GateRecords(ledger).decisions("override")
        decisions = ReleaseRecords(ledger).decisions()
    assert [(d.by, d.comment, d.target) for d in overrides] == [
        (os_user(), "the DAG is down", "smeupdates")]
    assert [(d["chosen"], d["by"]) for d in decisions] == [(OFFERED, os_user())]
    overridden = len(sink.messages())  # the override's mail to the release managers
    assert overridden == 1 and "gate override of smeupdates" in sink.messages()[0]["Subject"]

    assert dry("advise").count("(new advisory)") == 2
    advised = cli("advise")
    assert advised.count("SME-") == 2
    assert dry("announce").count("would mail") == 2
    assert cli("announce").count("mailed") == 2
    assert len(sink.messages()) == overridden + 2
    assert cli("announce") == ""  # a second run mails nothing
    assert len(sink.messages()) == overridden + 2
    assert "would close bug 6104" in dry("close")
    assert "closed 1 bugs: 6104" in cli("close")
    assert "closed 0 bugs: none" in cli("close")
    assert server.bugs[6104]["status"] == "CLOSED"

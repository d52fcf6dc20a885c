"""Issue 17 §1 and 18 §2/§3 on the promote gate in dag.test(): a NoGo with a comment ends
the run cleanly (downstream skipped, the run's note says who and why, the ledger keeps
who, when, what and what was shown); a gate nobody answers becomes the configured NoGo
at its deadline (Airflow's own timeout sweep); the gate's mail goes to the assignees'
addresses, in plain text, with an absolute link; gate_reminders mails them once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kits import treekit
from tests.kits.gatekit import TIMEOUT, Responder, clear_questions, gate_mails, reports, run_note
from updraft import gate
from updraft.devkit.mailsink import MailSink
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords, Question

pytestmark = pytest.mark.timeout(240)

FAMILY = "clamav-0.97.6-1.el4.rf"
BASE_URL = "https://updraft.example.org"
ADDRESS = "releng@example.org"


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


@pytest.fixture
def people(clamav_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test config with people's addresses, the UI's address and a gate timing."""
    raw = yaml.safe_load(treekit.CONFIG_FILE.read_text())
    raw["users"] = {"releng": {"email": ADDRESS, "name": "Rel Eng"}}
    raw["web"] = {"base_url": BASE_URL + "/"}
    raw["gates"] = {"timeout": "3d", "promote": {"timeout": "3s", "remind_after": "1s"}}
    path = tmp_path / "sme.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("UPDRAFT_CONFIG", str(path))
    return path


def _promote(dagbag, responder: Responder):
    dag = dagbag.get_dag("promote")
    responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9", "package": FAMILY, "target": "smeupdates"})
    responder.join(timeout=30)
    assert responder.error is None, responder.error
    return run, {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}


def _decisions(root: Path) -> list[Any]:
    with Ledger.open(_url()) as ledger:
        return GateRecords(ledger).decisions("promote")


def test_a_nogo_with_a_comment_skips_the_rest_notes_the_run_and_is_recorded(
    dagbag, clamav_tree: Path, people: Path, mailbox: MailSink
) -> None:
    before = treekit.rpm_files(clamav_tree)
    why = "not before the *Friday* freeze <b>ends</b>"
    responder = Responder([("approve", "Reject", {"comment": why})])

    run, states = _promote(dagbag, responder)

    assert run.state == "success", states  # a decision, not a red failure
    assert states["approve"] == "success"
    assert {states[task] for task in ("apply", "repodata", "mail", "announce")} == {"skipped"}
    assert treekit.rpm_files(clamav_tree) == before
    note = run_note(run)
    assert note == ("NoGo by releng: not before the \\*Friday\\* freeze \\<b\\>ends\\</b\\>")
    [decision] = _decisions(clamav_tree)
    assert (decision.by, decision.chosen, decision.comment) == ("releng", ("Reject",), why)
    assert not decision.timed_out and decision.at <= datetime.now(UTC)
    assert "clamav-0.97.6-1.el4.rf.x86_64.rpm" in decision.shown  # what was shown

    body = responder.question["body"]
    assert "Asked of release_managers: Rel Eng (releng)" in body  # by name, no dict
    assert "\n\n**clamav (sme9)**\n\n- delete from stage (i386, " in body  # by family
    assert "\n- move from smetest to smeupdates (clamav-0.97.6-1.el4.rf.x86_64.rpm)\n" in body

    assert reports(mailbox.messages()) == []
    [mail] = gate_mails(mailbox.messages())
    assert mail["To"] == ADDRESS
    text = mail.get_content()
    link = (
        f"{BASE_URL}/dags/promote/runs/{run.run_id.replace(':', '%3A').replace('+', '%2B')}"
        "/tasks/approve/required_actions?map_index=-1"
    )
    assert f"Answer here: {link}" in text
    assert "Waiting for: Rel Eng (releng)" in text and "Answer before: " in text
    assert "move from smetest to smeupdates (clamav-0.97.6-1.el4.rf.x86_64.rpm)" in text
    for markdown in ("**", "\\", "```", "]("):
        assert markdown not in text, markdown
    assert str(clamav_tree) not in text and "/tmp/" not in text


def test_an_unanswered_gate_becomes_a_recorded_nogo_at_its_timeout(
    dagbag, clamav_tree: Path, people: Path, mailbox: MailSink
) -> None:
    before = treekit.rpm_files(clamav_tree)
    responder = Responder([("approve", TIMEOUT)])

    run, states = _promote(dagbag, responder)

    question = responder.question
    assert question["defaults"] == ["Reject"]  # the outcome Airflow's sweep applies
    assert run.state == "success", states
    assert states["approve"] == "success" and states["apply"] == "skipped"
    assert treekit.rpm_files(clamav_tree) == before
    [decision] = _decisions(clamav_tree)
    assert decision.timed_out and decision.chosen == ("Reject",) and decision.by == ""
    assert decision.comment == "no answer within 3s: NoGo (gates.on_timeout)"
    assert decision.deadline is not None and decision.at >= decision.deadline
    assert run_note(run) == ("NoGo by timeout (approve): no answer within 3s: NoGo "
                             "(gates.on_timeout)")
    with pytest.raises(gate.GateRefused, match="not Approve"):
        gate.require(_url(), f"airflow:promote/{run.run_id}", "approve")


def _url() -> str:
    from updraft_airflow import distribution

    return distribution.engine(None, "test").layout.ledger_url


def test_a_timeout_claimed_before_the_deadline_is_refused(clamav_tree: Path, people: Path) -> None:
    url = _url()
    gate.ask(
        url,
        Question(
            run="airflow:promote/r1",
            dag_id="promote",
            run_id="r1",
            task_id="approve",
            kind="promote",
            assigned=("releng",),
            deadline=datetime.now(UTC) + timedelta(hours=1),
        ),
    )
    with pytest.raises(gate.GateRefused, match="before the gate's deadline"):
        gate.timed_out(url, "airflow:promote/r1", "approve", ["Approve"], "forged")
    with pytest.raises(gate.GateRefused, match="no answer recorded|has no answer"):
        gate.require(url, "airflow:promote/r1", "approve")


def test_gate_reminders_mails_the_assignees_once_before_the_deadline(
    dagbag, clamav_tree: Path, people: Path, mailbox: MailSink
) -> None:
    url = _url()
    now = datetime.now(UTC)
    shown = "**1 actions** into **smeupdates**\n\n- move `x` from /srv/tree/9/smetest"
    for run_id, remind in (
        ("due", now - timedelta(minutes=1)),
        ("later", now + timedelta(hours=1)),
    ):
        gate.ask(
            url,
            Question(
                run=f"airflow:promote/{run_id}",
                dag_id="promote",
                run_id=run_id,
                task_id="approve",
                kind="promote",
                assigned=("releng",),
                family=FAMILY,
                shown=shown,
                remind_at=remind,
                deadline=now + timedelta(hours=2),
            ),
        )
    dag = dagbag.get_dag("gate_reminders")

    first = dag.test()
    second = dag.test()

    assert first.state == "success" and second.state == "success"
    [mail] = mailbox.wait_for(1, timeout=10)
    assert mail["To"] == ADDRESS and mail["X-Updraft-Reminder"] == "yes"
    assert mail["Subject"] == (
        f"[updraft] Reminder: promote approve {FAMILY} waits for your answer"
    )
    text = mail.get_content()
    assert text.startswith("Reminder: this gate has waited since ")
    assert (
        f"Answer here: {BASE_URL}/dags/promote/runs/due/tasks/approve/required_actions?map_index=-1"
    ) in text
    assert "(then NoGo)" in text and "Waiting for: Rel Eng (releng)" in text
    assert "/srv/tree" not in text and "**" not in text and "`" not in text
    assert len(mailbox.messages()) == 1  # once: the second run found nothing due

"""dag.test() of promote into smeupdates, the Go/NoGo answered from a responder thread."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.gatekit import Responder, clear_questions, gate_mails, reports
from updraft.devkit.mailsink import MailSink

pytestmark = pytest.mark.timeout(240)

FAMILY = "clamav-0.97.6-1.el4.rf"
IN_SMETEST = [f"9/smetest/{arch}/RPMS/{name}-0.97.6-1.el4.rf.{arch}.rpm"
              for arch in ("i386", "x86_64") for name in ("clamav", "clamav-db", "clamd")]


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


def _promote(dagbag, responder: Responder | None, **conf: str):
    dag = dagbag.get_dag("promote")
    if responder is not None:
        responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9", **conf})
    if responder is not None:
        responder.join(timeout=30)
        assert responder.error is None, responder.error
    return run, {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}


def test_approve_moves_the_family_into_smeupdates_and_mails(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    responder = Responder([("approve", "Approve")])

    run, states = _promote(dagbag, responder, package=FAMILY, target="smeupdates")

    assert run.state == "success", states
    assert responder.question["assignees"] == [{"id": "releng", "name": "releng"}]
    assert responder.question["subject"] == f"Go/NoGo: promote {FAMILY} to smeupdates"
    assert "move from smetest to smeupdates (clamav-0.97.6-1.el4.rf.x86_64.rpm)" in (
        responder.question["body"])
    # The family's page, linked from the gate (relative: it opens inside the UI).
    assert "Family pages: [clamav](/updraft/families/clamav)" in responder.question["body"]
    for path in IN_SMETEST:
        assert not (clamav_tree / path).exists()
        assert (clamav_tree / path.replace("smetest", "smeupdates")).exists()
    assert "RPMS/clamd-0.97.6-1.el4.rf.i386.rpm" in treekit.repo_hrefs(
        clamav_tree / "9/smeupdates/i386")
    [mail] = reports(mailbox.wait_for(2, timeout=10))  # and the gate's own mail
    # The gate's mail went to the assigned release manager, with an absolute link to it.
    [asked] = gate_mails(mailbox.messages())
    assert asked["To"] == "releng@contribs.org"
    assert "http://localhost:8080/dags/promote/runs/" in asked.get_content()
    assert "move from smetest to smeupdates (clamav-0.97.6-1.rf.src.rpm)" in mail.get_content()


def test_reject_moves_nothing(dagbag, clamav_tree: Path, mailbox: MailSink) -> None:
    before = treekit.rpm_files(clamav_tree)

    responder = Responder([("approve", "Reject")])

    run, states = _promote(dagbag, responder, package=FAMILY, target="smeupdates")

    assert states["approve"] == "success"
    assert {states[task] for task in ("apply", "repodata", "mail", "announce")} == {"skipped"}
    assert treekit.rpm_files(clamav_tree) == before
    assert reports(mailbox.messages()) == [] and len(gate_mails(mailbox.messages())) == 1


def test_a_tree_changed_after_the_go_moves_nothing(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    def packager_drops_a_file() -> None:
        shutil.copy(clamav_tree / "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm",
                    clamav_tree / "9/smeupdates-testing/")

    responder = Responder([("approve", "Approve")], before=packager_drops_a_file)

    run, states = _promote(dagbag, responder, package=FAMILY, target="smeupdates")

    assert states["apply"] == "failed" and run.state == "failed"
    for path in IN_SMETEST:
        assert (clamav_tree / path).exists()
    assert reports(mailbox.messages()) == [] and len(gate_mails(mailbox.messages())) == 1


def test_a_repo_without_approval_needs_no_go(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    run, states = _promote(dagbag, None, package=FAMILY, target="smeupdates-testing")

    assert run.state == "success", states
    assert (clamav_tree / "9/smeupdates-testing/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm").exists()
    assert len(mailbox.wait_for(1, timeout=10)) == 1

"""Issue 15 §4: a gate answer cannot be forged.

Over Airflow's REST API a packager could write the gate's XCom ({"chosen_options":
["Approve"], "responded_by_user": {"id": "releng"}}) and set the waiting gate to success.
The steps after a gate now read the decision the gate itself recorded in the ledger when
Airflow resumed it with its HITL record. Forging is simulated as the REST API would
leave things: the downstream operator runs with a context whose XComs are the forger's.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.kits import treekit
from tests.kits.gatekit import Responder, clear_questions, reports
from updraft import gate
from updraft.devkit.mailsink import MailSink
from updraft.engine.engine import Engine
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords, Question
from updraft_airflow import distribution
from updraft_airflow.gates import GoNoGoOperator
from updraft_airflow.operators import RepoApplyOperator, RepoPlanOperator
from updraft_airflow.operators.build import BuildLandOperator, MockBuildOperator, SignOperator
from updraft_airflow.operators.iso import IsoPublishOperator
from updraft_airflow.operators.release import ReleasePromoteOperator

pytestmark = pytest.mark.timeout(240)

FAMILY = "clamav-0.97.6-1.el4.rf"
FORGED = {"chosen_options": ["Approve"], "responded_by_user": {"id": "releng"},
          "responded_at": "2026-12-02T10:00:00+00:00", "params_input": {}}
RUN = "manual__forged"


class _TI:
    """What a task sees of its instance: the forger's XComs."""

    def __init__(self, task_id: str, dag_id: str, xcoms: dict[str, Any]) -> None:
        self.task_id, self.dag_id, self.run_id = task_id, dag_id, RUN
        self.try_number, self.map_index = 1, -1
        self.xcoms, self.pushed = xcoms, {}

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value") -> Any:
        return self.xcoms.get(task_ids)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _context(task_id: str, dag_id: str = "promote", **xcoms: Any) -> dict[str, Any]:
    return {"ti": _TI(task_id, dag_id, xcoms),
            "params": {"package": FAMILY, "target": "smeupdates", "release": "9"}}


def _apply() -> RepoApplyOperator:
    return RepoApplyOperator(task_id="apply", package=FAMILY, target="smeupdates",
                             release="9", plan_task_id="plan", gate_task_id="approve")


def _plan(tree: Path) -> dict[str, Any]:
    plan = RepoPlanOperator(task_id="plan", package=FAMILY, target="smeupdates", release="9")
    return plan.execute(_context("plan"))


def _answers(tree: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    with Ledger.open(_engine(tree).layout.ledger_url) as ledger:
        return [(d.task_id, d.by, d.chosen) for d in GateRecords(ledger).decisions()]


def _engine(tree: Path) -> Engine:
    return Engine(treekit.sme_config(), tree)


def _ask(tree: Path, digest: str, task_id: str = "approve", dag_id: str = "promote") -> None:
    gate.ask(_engine(tree).layout.ledger_url, Question(
        run=f"airflow:{dag_id}/{RUN}", dag_id=dag_id, run_id=RUN, task_id=task_id,
        kind="promote", assigned=("releng",), digest=digest, release="9",
        target="smeupdates", family=FAMILY))


def _event(user: str, choice: str = "Approve", user_id: str | None = None) -> dict[str, Any]:
    return {"chosen_options": [choice], "params_input": {}, "responded_at": datetime.now(UTC),
            "responded_by_user": {"id": user_id or user, "name": user}}


def test_a_forged_xcom_on_a_gate_forced_to_success_moves_nothing(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    before = treekit.rpm_files(clamav_tree)

    with pytest.raises(AirflowFailException, match="gate approve has no answer recorded in "
                                                   "the ledger"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))

    assert treekit.rpm_files(clamav_tree) == before
    assert _answers(clamav_tree) == []


def test_a_gate_that_asked_but_was_never_answered_moves_nothing(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])  # the gate parked; then someone set it to success
    before = treekit.rpm_files(clamav_tree)

    with pytest.raises(AirflowFailException, match="no answer recorded"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))

    assert treekit.rpm_files(clamav_tree) == before


def test_a_fab_answer_is_recorded_under_the_user_name(clamav_tree: Path) -> None:
    """Under the FAB auth manager the HITL record's user id is a row number ("3"); the
    config's roles, and so the gate's assignees, name people."""
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    gate_task = GoNoGoOperator(task_id="approve", target="smeupdates")

    gate_task.execute_complete(_context("approve", plan=plan), _event("releng", user_id="3"))

    assert _answers(clamav_tree) == [("approve", "releng", ("Approve",))]
    with pytest.raises(AirflowFailException, match="who is not among the assigned"):
        _ask(clamav_tree, plan["digest"])  # asked again: a packager's row id counts nothing
        gate_task.execute_complete(_context("approve", plan=plan),
                                   _event("packager", user_id="releng"))


def test_an_answer_from_someone_not_assigned_is_not_recorded(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    gate_task = GoNoGoOperator(task_id="approve", target="smeupdates")

    with pytest.raises(AirflowFailException, match="packager, who is not among the assigned"):
        gate_task.execute_complete(_context("approve", plan=plan), _event("packager"))

    assert _answers(clamav_tree) == []
    with pytest.raises(AirflowFailException, match="no answer recorded"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))
    assert not list((clamav_tree / "9/smeupdates").rglob("*.rpm"))


@pytest.mark.unhealthy_tree("runs apply only: publishing is the DAG's repodata task")
def test_the_recorded_go_applies_the_plan_it_showed(clamav_tree: Path) -> None:
    """Positive control: the gate's own record (not the XCom, here empty) moves the family."""
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    GoNoGoOperator(task_id="approve", target="smeupdates").execute_complete(
        _context("approve", plan=plan), _event("releng"))

    _apply().execute(_context("apply", plan=plan))

    assert (clamav_tree / "9/smeupdates/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm").is_file()
    with Ledger.open(_engine(clamav_tree).layout.ledger_url) as ledger:
        [decision] = GateRecords(ledger).decisions()
    assert (decision.by, decision.chosen, decision.digest) == ("releng", ("Approve",),
                                                               plan["digest"])
    assert decision.run == f"airflow:promote/{RUN}" and decision.kind == "promote"


def test_a_cleared_gate_asked_again_voids_its_earlier_go(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    GoNoGoOperator(task_id="approve", target="smeupdates").execute_complete(
        _context("approve", plan=plan), _event("releng"))
    _ask(clamav_tree, plan["digest"])  # cleared and re-run: waiting again, then forced
    before = treekit.rpm_files(clamav_tree)

    with pytest.raises(AirflowFailException, match="no answer recorded"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))

    assert treekit.rpm_files(clamav_tree) == before


def test_a_recorded_reject_with_a_forged_approve_xcom_moves_nothing(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    gate.answer(_engine(clamav_tree).layout.ledger_url, f"airflow:promote/{RUN}", "approve",
                "releng", ["Reject"])
    before = treekit.rpm_files(clamav_tree)

    with pytest.raises(AirflowFailException, match="answered Reject by releng, not Approve"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))

    assert treekit.rpm_files(clamav_tree) == before


@pytest.mark.parametrize("operator", [
    MockBuildOperator(task_id="build_x86_64", build_id="b1", archdir="x86_64"),
    SignOperator(task_id="sign", build_id="b1"),
    BuildLandOperator(task_id="land", build_id="b1"),
], ids=["build", "sign", "land"])
def test_build_sign_and_land_need_the_recorded_gate(clamav_tree: Path, operator: Any) -> None:
    before = treekit.rpm_files(clamav_tree)
    context = _context(operator.task_id, "build_package", build_gate=FORGED, sign_gate=FORGED,
                       verify={"arches": ["x86_64"], "build_id": "b1"})

    with pytest.raises(AirflowFailException, match=r"gate (build|sign)_gate has no answer"):
        operator.execute(context)

    assert treekit.rpm_files(clamav_tree) == before


def test_iso_publish_needs_the_recorded_approval(clamav_tree: Path) -> None:
    publish = IsoPublishOperator(task_id="publish", release="9", version="9.3", arches="x86_64")

    with pytest.raises(AirflowFailException, match="gate approve has no answer"):
        publish.step(None, _context("publish", "build_iso", approve=FORGED))


def test_release_promote_needs_the_recorded_go_nogo(clamav_tree: Path) -> None:
    before = treekit.rpm_files(clamav_tree)
    promote = ReleasePromoteOperator(task_id="promote", release="9")
    forged = {**FORGED, "chosen_options": ["clamav-0.97.6-1.rf"]}

    with pytest.raises(AirflowFailException, match="gate go_nogo has no answer"):
        promote.execute(_context("promote", "release_updates", go_nogo=forged,
                                 analyse={"release": "9", "analysis": "{}"}))

    assert treekit.rpm_files(clamav_tree) == before


# -- the whole promote DAG under dag.test(), gates answered through Airflow's HITL record --

@pytest.fixture
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


def _promote(dagbag: Any, responder: Responder, **conf: str) -> tuple[Any, dict[str, str]]:
    dag = dagbag.get_dag("promote")
    responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9", "package": FAMILY, "target": "smeupdates", **conf})
    responder.join(timeout=30)
    assert responder.error is None, responder.error
    return run, {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}


@pytest.mark.usefixtures("_no_earlier_questions")
def test_the_dag_answers_a_held_cp_with_a_recorded_go(
    dagbag: Any, clamav_tree: Path, mailbox: MailSink
) -> None:
    engine = _engine(clamav_tree)
    shutil.copy(clamav_tree / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                clamav_tree / "9/smeupdates/")
    assert "held: clamav-0.97.6-1.rf" in engine.update_repos().report

    run, states = _promote(dagbag, Responder([("approve", "Approve")]))

    assert run.state == "success", states
    assert "RPMS/clamav-0.97.6-1.el4.rf.i386.rpm" in treekit.repo_hrefs(
        clamav_tree / "9/smeupdates/i386")
    with Ledger.open(engine.layout.ledger_url) as ledger:
        records = GateRecords(ledger)
        [decision] = records.decisions("promote")
        assert [r.state for r in records.requests()] == ["published"]
    assert (decision.by, decision.chosen, decision.task_id) == ("releng", ("Approve",), "approve")
    assert decision.run == f"airflow:promote/{run.run_id}"
    assert decision.comment == ""  # the form's comment (issue 17), none given


@pytest.mark.usefixtures("_no_earlier_questions")
def test_the_dag_refuses_an_answer_by_a_packager(
    dagbag: Any, clamav_tree: Path, mailbox: MailSink
) -> None:
    before = treekit.rpm_files(clamav_tree)

    run, states = _promote(dagbag, Responder([("approve", "Approve")], user="packager"))

    assert states["approve"] == "failed" and states["apply"] == "upstream_failed"
    assert treekit.rpm_files(clamav_tree) == before
    assert _answers(clamav_tree) == []
    assert reports(mailbox.messages()) == []  # only the gate's own mail to its assignees


@pytest.mark.usefixtures("_no_earlier_questions")
def test_the_dag_nogo_keeps_the_held_file_and_refuses_the_request(
    dagbag: Any, clamav_tree: Path, mailbox: MailSink
) -> None:
    engine = _engine(clamav_tree)
    shutil.copy(clamav_tree / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                clamav_tree / "9/smeupdates/")
    engine.update_repos()

    run, states = _promote(dagbag, Responder([("approve", "Reject")]))

    assert states["apply"] == "skipped"
    held = (distribution.engine(None, "test").layout.state_dir
            / "held/9/smeupdates/stray/clamav-0.97.6-1.el4.rf.i386.rpm")
    assert held.is_file() and not list((clamav_tree / "9/smeupdates").rglob("*.rpm"))
    with Ledger.open(engine.layout.ledger_url) as ledger:
        assert [r.state for r in GateRecords(ledger).requests()] == ["nogo"]
        assert [d.chosen for d in GateRecords(ledger).decisions()] == [("Reject",)]


@pytest.mark.usefixtures("_no_earlier_questions")
def test_the_dag_with_a_gate_forced_to_success_and_a_forged_xcom_moves_nothing(
    dagbag: Any, clamav_tree: Path, mailbox: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the REST API left it: the gate's task instance success, its XCom the forger's
    answer (real rows in Airflow's DB), no HITL answer and so nothing in the ledger."""
    dag = dagbag.get_dag("promote")
    monkeypatch.setattr(dag.get_task("approve"), "execute", lambda context: FORGED)
    before = treekit.rpm_files(clamav_tree)

    run = dag.test(run_conf={"release": "9", "package": FAMILY, "target": "smeupdates"})
    states = {ti.task_id: ti.state for ti in run.get_task_instances() if ti.map_index <= 0}

    assert states["approve"] == "success" and states["apply"] == "failed", states
    assert {states[t] for t in ("repodata", "mail", "announce")} == {"upstream_failed"}
    assert treekit.rpm_files(clamav_tree) == before
    assert not list((clamav_tree / "9/smeupdates").rglob("*.rpm"))
    assert _answers(clamav_tree) == [] and mailbox.messages() == []


def test_a_go_recorded_in_another_run_does_not_count(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    url = _engine(clamav_tree).layout.ledger_url
    gate.ask(url, Question(run="airflow:promote/another_run", dag_id="promote",
                           run_id="another_run", task_id="approve", kind="promote",
                           assigned=("releng",), digest=plan["digest"]))
    gate.answer(url, "airflow:promote/another_run", "approve", "releng", ["Approve"])
    before = treekit.rpm_files(clamav_tree)

    with pytest.raises(AirflowFailException, match="no answer recorded"):
        _apply().execute(_context("apply", approve=FORGED, plan=plan))

    assert treekit.rpm_files(clamav_tree) == before


def test_a_second_different_answer_to_one_question_is_refused(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    url, run = _engine(clamav_tree).layout.ledger_url, f"airflow:promote/{RUN}"
    gate.answer(url, run, "approve", "releng", ["Reject"])

    with pytest.raises(gate.GateRefused, match="already answered Reject by releng"):
        gate.answer(url, run, "approve", "releng", ["Approve"])

    assert _answers(clamav_tree) == [("approve", "releng", ("Reject",))]

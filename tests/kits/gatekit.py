"""Answering HITL gates in dag.test(): a responder thread, as the REST API's PATCH
.../hitlDetails would (see AIRFLOW-NOTES: writing the row alone does not resume)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseNotifier


class _Asked(BaseNotifier):
    """Tells the responder a gate has written its question."""

    def __init__(self, asked: threading.Event) -> None:
        super().__init__()
        self.asked = asked

    def notify(self, context: Any) -> None:
        self.asked.set()


# A choice meaning "whatever the gate proposes": a person who just presses Respond.
DEFAULTS = "<the gate's defaults>"
GATE_HEADER = "X-Updraft-Gate"  # on the mails a waiting gate sends its assignees


def reports(mails: list[Any]) -> list[Any]:
    """The mails that are not a gate's own "waiting for you" mail."""
    return [mail for mail in mails if GATE_HEADER not in mail]


def gate_mails(mails: list[Any]) -> list[Any]:
    return [mail for mail in mails if GATE_HEADER in mail]


TIMEOUT = "(timeout)"  # a choice: nobody answers; the scheduler's timeout sweep decides
# A choice: Go (the first option) with the form as the gate filled it in, e.g. every
# family the release Go/NoGo proposes.
PROPOSED = "<Go with the gate's proposal>"


class Responder(threading.Thread):
    """Answers each (gate task id, choice[, form input]) in turn; `before` runs before an
    answer; `user` answers (default: the gate's first assigned user); the choice DEFAULTS
    takes the gate's proposed defaults, PROPOSED is Go with the form as the gate filled it
    in. The choice TIMEOUT
    waits for the gate's deadline and runs Airflow's own timeout sweep, as the
    scheduler would (dag.test() has none)."""

    def __init__(self, answers: Sequence[tuple[str, str | list[str]]
                                         | tuple[str, str | list[str], dict[str, Any]]],
                 before: Callable[[], None] = lambda: None, user: str | None = None) -> None:
        super().__init__(daemon=True)
        self.answers = [(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers]
        self.asked = {task_id: threading.Event() for task_id, _, _ in self.answers}
        self.before = before
        self.user = user
        self.questions: dict[str, dict[str, Any]] = {}
        self.error: BaseException | None = None

    def attach(self, dag: Any) -> Responder:
        for task_id, event in self.asked.items():
            task = dag.get_task(task_id)
            task.notifiers = [*(n for n in task.notifiers if not isinstance(n, _Asked)),
                              _Asked(event)]
        return self

    @property
    def question(self) -> dict[str, Any]:
        """The first gate's question (single-gate DAGs)."""
        return self.questions[self.answers[0][0]]

    def run(self) -> None:
        try:
            for task_id, choice, form in self.answers:
                self._answer_retrying(task_id, choice, form)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def _answer_retrying(self, task_id: str, choice: str | list[str],
                         form: dict[str, Any]) -> None:
        # SQLite under dag.test() and this thread at once can say "database is locked":
        # a gate left unanswered would hang dag.test() for good, so try again.
        from sqlalchemy.exc import OperationalError

        for attempt in range(20):
            try:
                self._answer(task_id, choice, form)
                return
            except OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.5)

    def _answer(self, task_id: str, choice: str | list[str], form: dict[str, Any]) -> None:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        if not self.asked[task_id].wait(180):
            return  # the gate never asked (an earlier task failed): the test says so
        # The question is written just before the task parks itself: wait for the park
        # (a state in the DB, nothing to subscribe to), or the answer would be overwritten.
        deadline = time.monotonic() + 170  # a loaded 2-core machine can take its time
        while True:
            with create_session() as session:
                row, ti = self._pending(session, select, HITLDetail, TaskInstance, task_id)
                if ti is not None and ti.state == "awaiting_input":
                    break
            assert time.monotonic() < deadline, f"gate {task_id} never parked"
            time.sleep(0.05)
        self.before()
        with create_session() as session:
            row, ti = self._pending(session, select, HITLDetail, TaskInstance, task_id)
            self.questions[task_id] = {"subject": row.subject, "body": row.body,
                                       "assignees": row.assignees, "options": row.options,
                                       "defaults": row.defaults, "params": row.params,
                                       "deadline": ti.trigger_timeout}
            if choice == TIMEOUT:
                due = ti.trigger_timeout
                session.rollback()  # no lock held while waiting for the deadline
            else:
                self._respond(session, row, ti, choice, form)
                return
        _sweep_after(due)

    def _respond(self, session: Any, row: Any, ti: Any, choice: str | list[str],
                 form: dict[str, Any]) -> None:
        from airflow.models.trigger import handle_event_submit
        from airflow.triggers.base import TriggerEvent

        # As one of the gate's assigned users unless told otherwise: the gates record
        # only an assigned user's answer (issue 15), as Airflow's API enforces.
        user = self.user or (row.assignees or [{"id": "releng"}])[0]["id"]
        row.responded_by = {"id": user, "name": user}
        row.responded_at = datetime.now(UTC)
        if choice == DEFAULTS:
            choice = list(row.defaults or [])
        elif choice == PROPOSED:
            choice = row.options[0]
            form = {name: spec.get("value") for name, spec in (row.params or {}).items()}
        row.chosen_options = choice if isinstance(choice, list) else [choice]
        row.params_input = form
        handle_event_submit(TriggerEvent(row.as_resume_event_payload()), task_instance=ti,
                            session=session)

    @staticmethod
    def _pending(session: Any, select: Any, detail: Any, instance: Any,
                 task_id: str) -> tuple[Any, Any]:
        for row in session.scalars(select(detail).where(detail.responded_at.is_(None))):
            ti = session.get(instance, row.ti_id)
            if ti is not None and ti.task_id == task_id:
                return row, ti
        return None, None


def _sweep_after(deadline: datetime | None) -> None:
    """Airflow's scheduler timeout sweep (SchedulerJobRunner.check_awaiting_input_timeouts,
    the real code) once the deadline has passed."""
    import logging

    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.utils.session import create_session

    assert deadline is not None, "the gate parked without a deadline"
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.1)

    class _Scheduler:  # the sweep only logs through its runner
        log = logging.getLogger("sweep")

    with create_session() as session:
        SchedulerJobRunner.check_awaiting_input_timeouts(_Scheduler(), session=session)  # type: ignore[arg-type]


def clear_questions() -> None:
    from airflow.models.hitl import HITLDetail
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(HITLDetail).delete()


def run_note(run: Any) -> str | None:
    """The note Airflow shows on a run (what updraft_notes_plugin wrote)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(
            select(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id)
        ).note

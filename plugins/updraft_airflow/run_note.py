"""Run notes: a task says what its run came to ("NoGo by releng: not before Friday"), and
the note appears on the run in the Airflow UI.

A task cannot set its run's note in Airflow 3.3: the Task SDK's execution API has no
route for it (routes/dag_runs.py only takes a note when *triggering* a run), and tasks
have no metadata-DB session. So a task pushes the text as XCom `run_note` (`push`), and
a DAG-run listener (plugins/updraft_notes_plugin.py) writes it as the run's note when
the run ends: `on_dag_run_success`/`on_dag_run_failed` run where the run's state is
decided (the scheduler, or dag.test()), with the run's ORM row in an open session.
A note someone already wrote stays first; ours is added below it, once.

Any task may use it (e.g. "clamav-0.97.6-1 -> smeupdates (9)"); several notes of one
run are joined in task order. Notes render as Markdown in the UI: texts are quoted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context

if TYPE_CHECKING:
    from updraft.ledger.gates import Decision

KEY = "run_note"
NOTE_LIMIT = 1000  # Airflow's dag_run_note.content is 1000 characters
log = logging.getLogger(__name__)


def push(context: Context, text: str) -> None:
    context["ti"].xcom_push(key=KEY, value=text[:NOTE_LIMIT])


def nogo_text(decision: Decision) -> str:
    """ "NoGo by releng: <comment>" (Markdown-quoted), or the timeout's outcome."""
    from updraft.markup import md_text

    if decision.timed_out:
        return f"NoGo by timeout ({md_text(decision.task_id)}): {md_text(decision.comment)}"
    comment = md_text(decision.comment) if decision.comment else "(no comment)"
    return f"NoGo by {md_text(decision.by)}: {comment}"


def apply(dag_run: Any) -> None:
    """Write the run's `run_note` XComs as its note (the listener's body)."""
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from sqlalchemy import select
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is None:
        # dag.test(): its in-process task runs closed the thread's scoped session under
        # the run; that session (settings.Session) is still the one dag.test commits.
        # The scheduler's run is attached: no second session (its row is locked).
        assert settings.Session is not None  # configured: Airflow has run this task
        session = settings.Session()
        dag_run = session.scalar(select(DagRun).where(DagRun.id == dag_run.id))
    rows = session.scalars(
        select(XComModel)
        .where(
            XComModel.dag_id == dag_run.dag_id,
            XComModel.run_id == dag_run.run_id,
            XComModel.key == KEY,
        )
        .order_by(XComModel.task_id, XComModel.map_index)
    ).all()
    texts = [str(XComModel.deserialize_value(row)) for row in rows]
    texts = [text for text in dict.fromkeys(texts) if text]
    if not texts:
        return
    current = dag_run.note or ""
    new = [text for text in texts if text not in current]
    if not new:
        return
    dag_run.note = "\n\n".join([current, *new] if current else new)[:NOTE_LIMIT]
    session.flush()
    log.info("run %s: note %r", dag_run.run_id, dag_run.note)

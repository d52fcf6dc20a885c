"""updraft's run notes: a listener that writes the notes tasks left (updraft_airflow.run_note)
on their run when it ends. A plugin of its own so the pages' plugin stays the pages'."""

from __future__ import annotations

from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


class _RunNotes:
    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        _apply(dag_run)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        _apply(dag_run)


def _apply(dag_run: Any) -> None:
    from updraft_airflow import run_note

    try:
        run_note.apply(dag_run)
    except Exception:
        run_note.log.exception("run %s: its note could not be written", dag_run.run_id)


class UpdraftNotesPlugin(AirflowPlugin):
    name = "updraft_notes"
    listeners = [_RunNotes()]

"""A listener that gives every run of promote, build_package, release_updates and
update_repos a note saying what it is about (updraft.run_note), shown in the runs list.

It runs in the scheduler when a run starts, on the run object the scheduler's own session
holds (no second session: on SQLite one would wait for the scheduler's lock). A note
someone already wrote (the trigger form's, the API's) is kept. A failure here is logged,
never raised: a note is never worth a stuck run.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


def _asset_releases(dag_run: Any) -> list[str]:
    releases: list[str] = []
    for event in getattr(dag_run, "consumed_asset_events", None) or []:
        for release in (getattr(event, "extra", None) or {}).get("releases", []) or []:
            if str(release) not in releases:
                releases.append(str(release))
    return releases


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    from updraft.run_note import note_for

    try:
        if dag_run.note:
            return
        note = note_for(dag_run.dag_id, dag_run.conf, _asset_releases(dag_run))
        if note:
            dag_run.note = note
    except Exception:
        log.exception("updraft: could not note what run %s is about", dag_run.run_id)

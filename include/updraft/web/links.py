"""Links into Airflow's UI from what the ledger recorded: a run's trigger string
(`airflow:<dag>/<run>`) becomes its run page, a gate its Required Action."""

from __future__ import annotations

from urllib.parse import quote


def _segment(value: str) -> str:
    return quote(value, safe="")


def run_of(trigger: str) -> tuple[str, str] | None:
    """(dag_id, run_id) of an `airflow:<dag>/<run>` trigger; None for the CLI's."""
    if not trigger.startswith("airflow:"):
        return None
    dag_id, _, run_id = trigger.removeprefix("airflow:").partition("/")
    return (dag_id, run_id) if dag_id and run_id else None


def run_url(dag_id: str, run_id: str, task_id: str | None = None) -> str:
    url = f"/dags/{_segment(dag_id)}/runs/{_segment(run_id)}"
    return f"{url}/tasks/{_segment(task_id)}" if task_id else url


def trigger_url(trigger: str, task_id: str | None = None) -> str | None:
    run = run_of(trigger)
    return run_url(*run, task_id) if run else None


def answer_url(dag_id: str, run_id: str, task_id: str) -> str:
    """The gate's own Required Action in Airflow's UI (the answer buttons)."""
    return run_url(dag_id, run_id, task_id) + "/required_actions"


def family_url(name: str) -> str:
    return f"/updraft/families/{_segment(name)}"

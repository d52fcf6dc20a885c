"""updraft's cluster policy, imported by every Airflow component from the plugins folder
(Airflow puts that folder on sys.path before it looks for airflow_local_settings)."""

from __future__ import annotations

from typing import Any


def task_instance_mutation_hook(task_instance: Any, dag_run: Any = None) -> None:
    from updraft_airflow.priority import apply_build_priority

    apply_build_priority(task_instance, dag_run)

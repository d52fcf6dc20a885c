"""Build priority: a package policy's `priority` as the build tasks' priority_weight.

Airflow fixes a task instance's priority when the scheduler creates it, before any task
of the run has read the package; only a cluster policy sees the run's conf then
(plugins/airflow_local_settings.py calls this for every new task instance).
"""

from __future__ import annotations

import logging
from typing import Any

from updraft_airflow import distribution

log = logging.getLogger(__name__)
BUILD_DAG = "build_package"


def apply_build_priority(task_instance: Any, dag_run: Any) -> None:
    if task_instance.dag_id != BUILD_DAG or not task_instance.task_id.startswith("build_"):
        return
    if dag_run is None or task_instance.task_id == "build_gate":
        return
    from updraft.build.source import policy_priority

    try:
        bonus = policy_priority(distribution.load(), (dag_run.conf or {}).get("package"))
    except Exception:  # a broken config must not stop the scheduler
        log.warning("build priority not applied to %s", task_instance.task_id, exc_info=True)
        return
    if bonus:
        task_instance.priority_weight = (task_instance.priority_weight or 0) + bonus

"""Publication: what follows every apply, in update_repos and promote alike.

repodata (one task per changed arch dir) → the Repository Update mail and the repo
asset events → the verdict. One definition, so the two DAGs cannot drift apart.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from updraft_airflow.operators import (
    CycleVerdictOperator,
    RepoAssetsOperator,
    RepodataOperator,
    ReportMailOperator,
    UpdraftOperator,
)

# Apply and repodata are idempotent, so retrying them is always safe.
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=20),
           "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=10)}


def publish_after(apply: UpdraftOperator) -> BaseOperator:
    """Wire the publication steps downstream of `apply` (a step that applied a cycle and
    pushed it with UpdraftOperator.push_cycle); return the last one."""
    output: Any = apply.output  # an XComArg; `output["key"]` reads one key of its XCom
    repodata = RepodataOperator.partial(
        task_id="repodata", map_index_template="{{ task.repo_dir }}", **RETRIES,
    ).expand(repo_dir=output)
    mail = ReportMailOperator(task_id="mail", report_file=output["report_file"],
                              plan_id=output["plan_id"], retries=2,
                              retry_delay=timedelta(minutes=1))
    announce = RepoAssetsOperator(task_id="announce", plan_id=output["plan_id"],
                                  repo_dirs=output)
    verdict = CycleVerdictOperator(task_id="verdict", apply_task_id=apply.task_id)
    apply >> repodata >> [mail, announce] >> verdict
    return verdict

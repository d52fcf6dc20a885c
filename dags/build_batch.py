"""build_batch: a sync's build requests, "Start building?", the builds, one report, "Sign?"."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from updraft_airflow import distribution
from updraft_airflow.assets import BUILD_REQUESTS
from updraft_airflow.build_gates import BatchSignGate, BuildParametersGate, StartBuildingGate
from updraft_airflow.operators.base import StepOperator
from updraft_airflow.operators.batch import (
    BatchBuildOperator,
    BatchLandOperator,
    BatchReportOperator,
    BatchSignOperator,
    batch_requests,
    chosen_requests,
    planned_builds,
    to_sign,
)
from updraft_airflow.publication import RETRIES, publish_after

config = distribution.load()

with DAG(
    dag_id="build_batch",
    description="The upstream SRPMs a sync hands over: Start building?, build, one "
    f"builder report, Sign?, land in {config.landing.upstream_updates}",
    schedule=[BUILD_REQUESTS],
    catchup=False,
    max_active_runs=4,  # batches wait at their gates
    tags=["updraft", "build", "sign"],
    render_template_as_native_obj=True,
    params={
        "packages": Param(
            [],
            type="array",
            items={"type": "string"},
            description="started by hand: upstream N-V-Rs to offer "
            "(e.g. samba-4.6.2-12.el7_4); empty for a sync's batch",
        ),
        "release": Param(
            next(iter(config.releases)),
            enum=list(config.releases),
            description="the release of packages given by hand",
        ),
    },
    doc_md=f"""
### Build batch ({config.name})

Seed 004's steps 3–7 for everything one sync hands over (issue 17 §2): upstream_sync's
**handover** emits `updraft://build-requests` with the SRPMs we rebuild (policies with
`rebuild: true`, the release's `rebuild:` patterns) and the rebuilds coupled families
ask for (libtevent → samba).

1. **requests** — the event's requests, checked against the config.
2. **start_gate** — "Start building?" (packagers): a multiple choice, all proposed;
   `NoGo` builds nothing.
3. **chosen**, **parameters_gate** — special parameters where a policy says
   `ask_parameters` (the kernel), its `build:` pre-filled and editable.
4. **build** — one mapped task per chosen family: verify, rebase, every planned arch.
5. **report** — one builder report for the batch: built, failed (log tail, link).
6. **sign_gate** — "Sign?" (signers) of the built ones; **sign** (queue
   `{config.build.sign_queue}`), **land** (pool `repo_tree`), then repodata, mail, announce.
""",
) as dag:
    requests = StepOperator(task_id="requests", python_callable=batch_requests)
    start_gate = StartBuildingGate(task_id="start_gate")
    chosen = StepOperator(task_id="chosen", python_callable=chosen_requests)
    parameters_gate = BuildParametersGate(task_id="parameters_gate")
    planned = StepOperator(
        task_id="planned",
        python_callable=planned_builds,
        trigger_rule="none_failed_min_one_success",
    )
    build = BatchBuildOperator.partial(
        task_id="build",
        map_index_template="{{ task.request['key'] }}",
    ).expand_kwargs(planned.output)
    report = BatchReportOperator(task_id="report")
    sign_gate = BatchSignGate(task_id="sign_gate")
    signing = StepOperator(task_id="to_sign", python_callable=to_sign)
    sign = BatchSignOperator.partial(
        task_id="sign",
        queue=config.build.sign_queue,
    ).expand(build_id=signing.output)
    land = BatchLandOperator(task_id="land", pool="repo_tree", **RETRIES)
    requests >> start_gate >> chosen >> parameters_gate >> planned >> build >> report
    chosen >> planned
    report >> sign_gate >> signing >> sign >> land
    publish_after(land)

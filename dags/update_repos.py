"""update_repos: seed 000's update cycle, on a schedule and on every drop into the tree."""

from __future__ import annotations

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param

from updraft_airflow import distribution
from updraft_airflow.assets import tree_drops
from updraft_airflow.operators import (
    RepoApplyOperator,
    RepoPlanOperator,
    TreeCheckOperator,
    anything_to_do,
)
from updraft_airflow.operators.base import GoOnOperator, StepOperator
from updraft_airflow.operators.cycle import AskGoOperator, held_requests
from updraft_airflow.publication import RETRIES, publish_after

config = distribution.load()

with DAG(
    dag_id="update_repos",
    description="Scan, plan, apply, publish repodata, mail the Repository Update report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(config.schedule, timezone="UTC"),
        assets=[tree_drops(str(distribution.config_path().resolve()))],
    ),
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "repos", "update cycle"],
    render_template_as_native_obj=True,
    params={
        "release": Param(None, type=["null", "string"], enum=[None, *config.releases],
                         description="only this release (empty: every release)"),
        "dry_run": Param(False, type="boolean", description="plan only: change nothing"),
    },
    doc_md=f"""
### Update cycle of {config.name}

Seed 000's script, run every `{config.schedule}` (UTC) and within seconds of a
packager's `cp` into the tree (the `updraft-tree-drops` asset is watched by the
triggerer).

1. **plan** scans the tree and plans: family pull-up, SRPM completeness, retention,
   the stage mirror. The plan is in the task log; nothing changes.
2. **anything_to_do** stops here when the plan is empty (or on a dry run).
3. **apply** moves files under the tree lock (pool `repo_tree`), journaled: a run that
   dies is finished by the next one. A file that arrived in a gated repo
   ({", ".join(f"`{r}`" for r, s in config.repos.items() if s.approval) or "none"}) without a
   Go is held aside, reported as held and recorded as a pending request in the ledger.
8. **held** / **ask_go** trigger one `promote` run per held family: its gate is the
   Go/NoGo request (Required Actions). A Go publishes the family from the repo below;
   a NoGo leaves the held file in `<state>/held/` and the request refused.
4. **repodata** runs createrepo_c on each changed arch dir, one task per dir.
5. **mail** sends the Repository Update report to {", ".join(config.report.recipients)}.
6. **announce** emits an `updraft://<release>/<repo>` asset event per changed repo.
7. **verdict** turns the run red if a family could not be applied.
8. **check** verifies the whole tree (`updraft check`: repodata = files, families
   complete, tiers, retention, nothing left to plan, ledger = tree) and turns the run
   red with one log line per problem.
""",
) as dag:
    plan = RepoPlanOperator(task_id="plan", release="{{ params.release }}")
    go_on = GoOnOperator(task_id="anything_to_do", python_callable=anything_to_do)
    apply = RepoApplyOperator(task_id="apply", release="{{ params.release }}",
                              pool="repo_tree", **RETRIES)
    plan >> go_on >> apply
    publish_after(apply) >> TreeCheckOperator(task_id="check", release="{{ params.release }}",
                                              pool="repo_tree")
    # Every family held at a gated repo becomes a Go/NoGo request: a promote run that
    # waits at its gate (a `cp` into smeupdates asks, the release managers answer).
    held = StepOperator(task_id="held", python_callable=held_requests)
    ask = AskGoOperator.partial(task_id="ask_go").expand(
        conf=held.output)
    apply >> held >> ask

"""release_updates: seed 000's release — Bugzilla-driven Go/NoGo, advisories, notes, bugs."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from updraft_airflow import distribution
from updraft_airflow.gates import ReleaseGateOperator
from updraft_airflow.notifiers import GateMailNotifier
from updraft_airflow.operators.release import (
    AdvisoryOperator,
    CloseBugsOperator,
    ReleaseAnalysisOperator,
    ReleaseNotesOperator,
    ReleasePromoteOperator,
    ReleaseRecordOperator,
    ReleaseReportOperator,
)
from updraft_airflow.publication import RETRIES, publish_after
from updraft_airflow.sensors import MirrorSyncSensor

config = distribution.load()
settings = config.release
RELEASE = "{{ params.release }}"

with DAG(
    dag_id="release_updates",
    description="Release what Bugzilla says is verified: Go/NoGo, advisories, notes, bugs",
    schedule=None,
    catchup=False,
    max_active_runs=1,  # two releases of one tree at once would fight over the advisories
    tags=["updraft", "release", "go-nogo", "bugzilla"],
    render_template_as_native_obj=True,
    params={"release": Param(next(iter(config.releases)), enum=list(config.releases),
                             description="the release whose updates to release")},
    doc_md=f"""
### Release updates ({config.name})

Seed 000's release and seed 004's steps 8-10, from `{settings.candidates}` to
`{settings.target}`:

1. **analyse**: every changelog entry newer than the released version, its bugs asked of
   Bugzilla (connection `updraft_bugzilla`, one request per 500 bugs); a version is
   releasable when its bugs are VERIFIED and every package sharing one of them goes too
   (soft dependencies), and when the release set with `{settings.target}` and
   `{", ".join(settings.base)}` satisfies every Requires (libsolv). The report is on the
   **Release board** page. Bugzilla down: the task fails, nothing is offered.
2. **go_nogo**: the release managers choose among the releasable families (all proposed);
   the gate's link is mailed to them.
3. **promote** the chosen families into `{settings.target}` (pool `repo_tree`); then
   repodata, the Repository Update mail, the asset events and the verdict.
4. **advisory**: `{settings.advisory_prefix}-<year>:<n>` per update in the ledger and in
   `{settings.target}`'s updateinfo.
5. **wait_mirrors** until every mirror carries the new repodata (deferred to the triggerer).
6. **release_notes** (one per update, one upstream digest), **close_bugs**, **record**.
""",
) as dag:
    analyse = ReleaseAnalysisOperator(task_id="analyse", release=RELEASE)
    report = ReleaseReportOperator(task_id="report")
    go_nogo = ReleaseGateOperator(task_id="go_nogo", notifiers=[GateMailNotifier()])
    promote = ReleasePromoteOperator(task_id="promote", release=RELEASE, pool="repo_tree",
                                     **RETRIES)
    verdict = publish_after(promote)
    advisory = AdvisoryOperator(task_id="advisory", release=RELEASE, pool="repo_tree",
                                **RETRIES)
    wait_mirrors = MirrorSyncSensor(task_id="wait_mirrors", release=RELEASE)
    notes = ReleaseNotesOperator(task_id="release_notes", release=RELEASE, retries=2,
                                 retry_delay=timedelta(minutes=1))
    close_bugs = CloseBugsOperator(task_id="close_bugs", release=RELEASE, **RETRIES)
    record = ReleaseRecordOperator(task_id="record", release=RELEASE)
    analyse >> report >> go_nogo >> promote
    verdict >> advisory >> wait_mirrors >> notes >> close_bugs >> record

"""promote: seed 000's `cp` into the next repo, with a Go/NoGo before a release repo."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from updraft_airflow import distribution
from updraft_airflow.gates import GoNoGoOperator
from updraft_airflow.operators import RepoApplyOperator, RepoPlanOperator
from updraft_airflow.publication import RETRIES, publish_after

config = distribution.load()
gated = {repo: config.repos[repo].approval for repo in config.promotion_targets()
         if config.repos[repo].approval}
PROMOTION = {"package": "{{ params.package }}", "target": "{{ params.target }}",
             "release": "{{ params.release }}"}

with DAG(
    dag_id="promote",
    description="Move a package's family up one repo; a release repo needs a Go first",
    schedule=None,
    catchup=False,
    max_active_runs=8,  # several promotions may wait at their gates; apply is serialised
    tags=["updraft", "repos", "promotion", "go-nogo"],
    render_template_as_native_obj=True,
    params={
        "package": Param(type="string", minLength=1,
                         description="a package file in the tree, or NAME-VERSION-RELEASE "
                                     "(e.g. clamav-0.97.6-1.el4.rf)"),
        "target": Param("smeupdates", enum=config.promotion_targets(),
                        description="the repo to promote into"),
        "release": Param(None, type=["null", "string"], enum=[None, *config.releases],
                         description="the release (needed when several hold the package)"),
    },
    doc_md=f"""
### Promote a package ({config.name})

What seed 000 does with `cp test/clamav-0.97.6-1.el4.rf.i386.rpm updates-testing/`,
with the whole family moved, retention applied and an audit trail.

1. **plan** resolves the package to its family and plans the promotion (nothing moves).
2. **approve** is the Go/NoGo: promotions into
   {", ".join(f"`{repo}` (asked of `{role}`)" for repo, role in gated.items()) or "no repo"}
   wait here for an answer under *Browse → Required Actions*; the body shows the plan.
   Other targets pass straight through. **Reject moves nothing** (and refuses the
   request of a held `cp` of the family: the held file stays held).
   The gate itself records its question and the answer of Airflow's HITL record (an
   assigned user only) in the updraft ledger.
3. **apply** applies the approved plan under the tree lock (pool `repo_tree`) only on
   that ledger record, never on the gate's XCom; the plan covers the promoted family
   only (its moves, the retention of older versions, its stage refresh). If the family
   changed since the plan was shown, nothing moves and the run fails.

A `cp` into a gated repo is held by the update cycle and waits for this DAG: trigger it
with the held family (`held: clamav-0.97.6-1 …` in the Repository Update mail).
4. **repodata**, **mail**, **announce**, **verdict**: as in `update_repos`.
""",
) as dag:
    plan = RepoPlanOperator(task_id="plan", **PROMOTION)
    approve = GoNoGoOperator(task_id="approve", plan_task_id="plan")
    apply = RepoApplyOperator(task_id="apply", plan_task_id="plan", gate_task_id="approve",
                              pool="repo_tree", **PROMOTION, **RETRIES)
    plan >> approve >> apply
    publish_after(apply)

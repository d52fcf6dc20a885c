"""build_package: an SRPM through the builders, the packagers' and signers' gates, into smetest."""

from __future__ import annotations

from airflow.sdk import DAG, Param

from updraft_airflow import distribution
from updraft_airflow.gates import BuildGateOperator, SignGateOperator
from updraft_airflow.operators.build import (
    BuildInputOperator,
    BuildLandOperator,
    BuildReportOperator,
    MockBuildOperator,
    SignOperator,
)
from updraft_airflow.publication import RETRIES, publish_after

config = distribution.load()
# Every arch dir of any release has builders: one task per builder queue, because Celery
# routes a task instance by the queue it was created with (a mapped task's instances all
# share one). A run that does not build an arch skips its task.
ARCHDIRS = list(dict.fromkeys(arch for release in config.releases.values()
                              for arch in release.arches))
builders = {arch: config.build.builder(arch) for arch in ARCHDIRS}

with DAG(
    dag_id="build_package",
    description="Build an SRPM (mock/rpmbuild) per arch, report, sign behind approval, "
                f"land in {config.landing.upstream_updates}",
    schedule=None,
    catchup=False,
    max_active_runs=8,  # builds wait at their gates; builders are bounded by their pools
    tags=["updraft", "build", "sign"],
    render_template_as_native_obj=True,
    params={
        "package": Param(type="string", minLength=1,
                         description="an SRPM path, or an upstream NAME-VERSION-RELEASE "
                                     "(e.g. samba-4.6.2-12.el7_4) found in the mirror"),
        "release": Param(next(iter(config.releases)), enum=list(config.releases),
                         description="the release to build for"),
        "arches": Param(None, type=["null", "array"], items={"type": "string"},
                        description=f"arch dirs to build (empty: all of {', '.join(ARCHDIRS)})"),
        "overrides": Param({}, type="object",
                           description="build options over the policies': {\"defines\": "
                                       "{\"NAME\": \"VALUE\"}, \"with\": [...], "
                                       "\"without\": [...], \"extra_args\": [...]}"),
        "bug": Param(None, type=["null", "string"],
                     description="the bug a rebase's changelog entry cites ([SME: N])"),
    },
    doc_md=f"""
### Build a package ({config.name})

Seed 004's steps 3–7 and its approval questions, seed 000's rebuilds of initscripts,
samba and anaconda.

1. **verify** finds the SRPM (a path, or an upstream N-V-R in the mirror), checks it,
   plans the builders and, where a policy has `rebase:`, re-applies our patches and spec
   edits to the new upstream SRPM (a patch that no longer applies fails here and mails
   the policy's owners). Ledger: `waiting`.
2. **build_gate** — "Build?", asked of `packagers`. Reject builds nothing.
3. **build_&lt;arch&gt;** — one per builder queue
   ({", ".join(f"`{b.queue}`" for b in builders.values())}), pool per builder;
   backend `{config.build.backend}`. Ledger: `being built`, `build failed`.
4. **report** — the builder report mail, success or failure with the log tail; a failed
   build stops the run here. Ledger: `unsigned`.
5. **sign_gate** — "Sign?", asked of `signers`. Reject signs and lands nothing.
6. **sign** — rpmsign with the `updraft_gpg` key on queue `{config.build.sign_queue}`,
   every signature verified by rpmkeys.
7. **land** — into `{config.landing.upstream_updates}` (`signed/untested`), or
   `{config.landing.new_packages}` for a package never shipped and unshipped
   subpackages; then **repodata**, **mail**, **announce**, **verdict** as in update_repos.
""",
) as dag:
    verify = BuildInputOperator(
        task_id="verify", package="{{ params.package }}", release="{{ params.release }}",
        arches="{{ params.arches }}", overrides="{{ params.overrides }}",
        bug="{{ params.bug }}")
    build_id = verify.output["build_id"]
    build_gate = BuildGateOperator(task_id="build_gate")
    builds = [
        MockBuildOperator(task_id=f"build_{arch}", build_id=build_id, archdir=arch,
                          queue=builder.queue, pool=builder.pool)
        for arch, builder in builders.items()
    ]
    report = BuildReportOperator(task_id="report", build_id=build_id)
    sign_gate = SignGateOperator(task_id="sign_gate")
    sign = SignOperator(task_id="sign", build_id=build_id, queue=config.build.sign_queue)
    land = BuildLandOperator(task_id="land", build_id=build_id, pool="repo_tree", **RETRIES)
    verify >> build_gate >> builds >> report >> sign_gate >> sign >> land
    publish_after(land)

"""upstream_sync: mirror upstream sources, verify every package, land what is newer."""

from __future__ import annotations

from airflow.sdk import DAG, CronTriggerTimetable, Param

from updraft_airflow import distribution
from updraft_airflow.operators.base import StepOperator
from updraft_airflow.operators.batch import HandoverOperator
from updraft_airflow.operators.upstream import (
    UpstreamLandOperator,
    UpstreamMirrorOperator,
    every_source_synced,
    upstream_sources,
)
from updraft_airflow.publication import RETRIES, publish_after

config = distribution.load()
sources = {release: [s.name for s in config.upstream_sources(release)]
           for release in config.releases}

with DAG(
    dag_id="upstream_sync",
    description="Mirror upstream, verify md5/gpg/tags, land newer versions in "
                f"{config.landing.upstream_updates} and new ones in {config.landing.new_packages}",
    # The first sync runs as soon as the DAG is deployed (README: "runs by itself at
    # start"), not up to an hour later; once it has runs, only the schedule starts it.
    schedule=CronTriggerTimetable(config.upstream_schedule, timezone="UTC",
                                  run_immediately=True),
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "upstream", "mirror"],
    render_template_as_native_obj=True,
    params={
        "release": Param(None, type=["null", "string"], enum=[None, *config.releases],
                         description="only this release (empty: every release)"),
        "dry_run": Param(False, type="boolean",
                         description="read metadata, log what would land; download no package"),
    },
    doc_md=f"""
### Upstream sync of {config.name}

Seed 000's script ("checks for newer version in centos, epel, …") and seed 004's steps
1–2 (update the local mirror; test md5, gpg and tags), every `{config.upstream_schedule}`.
Sources: {"; ".join(f"{r}: {', '.join(n) or 'none'}" for r, n in sources.items())}.

1. **sources** lists the configured sources.
2. **mirror** (one task per source, in parallel) reads repomd/primary/updateinfo with
   createrepo_c, downloads only newer versions of families we ship (and names new
   upstream), verifies digests, GPG signatures (the source's own keys) and tags.
   Failures are quarantined, recorded `test failed` and mailed. A half-mirrored or
   unreachable source lands nothing this run.
3. **land** (pool `repo_tree`) copies verified families in: newer versions to
   `{config.landing.upstream_updates}`, unshipped subpackages and new names to
   `{config.landing.new_packages}`; pins and locally built families never land.
   Security advisories landed are flagged and mailed ("security update waiting").
4. **repodata**, **mail**, **announce**, **verdict**: as in update_repos.
5. **sources_synced** turns the run red if a source could not be synced.
6. **handover** emits `updraft://build-requests` when SRPMs we rebuild arrived (or a
   coupled family asks for its partner's rebuild): build_batch asks "Start building?".
""",
) as dag:
    listing = StepOperator(task_id="sources", python_callable=upstream_sources)
    mirror = UpstreamMirrorOperator.partial(
        task_id="mirror", map_index_template="{{ task.source }} ({{ task.release }})",
        dry_run="{{ params.dry_run }}",
    ).expand_kwargs(listing.output)
    land = UpstreamLandOperator(task_id="land", release="{{ params.release }}",
                                dry_run="{{ params.dry_run }}", pool="repo_tree",
                                trigger_rule="all_done", **RETRIES)
    synced = StepOperator(task_id="sources_synced", python_callable=every_source_synced,
                            trigger_rule="all_done")
    handover = HandoverOperator(task_id="handover")  # -> build_batch ("Start building?")
    mirror >> land >> synced
    land >> handover
    publish_after(land)

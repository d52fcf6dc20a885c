"""security_announce: announce released security updates (CVEs, severity, yum update)."""

from __future__ import annotations

from functools import reduce

from airflow.sdk import DAG

from updraft_airflow import distribution
from updraft_airflow.assets import repo_asset
from updraft_airflow.operators.security import SecurityAnnounceOperator

config = distribution.load()
target = config.release.target
published = [repo_asset(release, target) for release in config.releases]

with DAG(
    dag_id="security_announce",
    description=f"Security announcement (seed 004 notification 4) when {target} gets a "
    "security update",
    schedule=reduce(lambda a, b: a | b, published),
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "security", "release"],
    doc_md=f"""
### Security announcement ({config.name})

Runs when `{target}`'s repodata is published (a release). Each upstream security
advisory whose family `{target}` now carries is announced once, per release: the
upstream advisories, the strongest severity, the CVEs with their links, and the
command (`{config.security.update_command}`), to `security.announce_to` (else
`release.announce.to`).
""",
) as dag:
    SecurityAnnounceOperator(task_id="announce")

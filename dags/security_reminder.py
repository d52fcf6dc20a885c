"""security_reminder: remind the owners of every security update still waiting."""

from __future__ import annotations

from airflow.sdk import DAG, CronTriggerTimetable

from updraft_airflow import distribution
from updraft_airflow.operators.security import SecurityReminderOperator

config = distribution.load()
schedule = config.security.remind_schedule

with DAG(
    dag_id="security_reminder",
    description="Security update waiting (seed 004 notification 3), "
    f"{schedule} until it is released",
    schedule=schedule
    if schedule.startswith("@")
    else CronTriggerTimetable(schedule, timezone="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "security"],
    doc_md=f"""
### Security update waiting ({config.name})

Every `{schedule}` (`security.remind_schedule`): each upstream security advisory that
landed with a family still below `{config.release.target}` is mailed to its owners
(`security.remind_to`, else the policies' `owners`, else the report's recipients) with
how long it has waited, until the family is released (then **security_announce**
announces it and the reminders stop).
""",
) as dag:
    SecurityReminderOperator(task_id="remind")

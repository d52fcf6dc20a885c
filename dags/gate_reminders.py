"""gate_reminders: mails the assignees of gates still waiting at their reminder time."""

from __future__ import annotations

from airflow.sdk import DAG

from updraft_airflow import distribution
from updraft_airflow.reminders import GateReminderOperator

config = distribution.load()

with DAG(
    dag_id="gate_reminders",
    description="Remind whoever must answer a waiting gate, before its timeout decides",
    schedule=config.gates.reminders,
    catchup=False,
    max_active_runs=1,
    tags=["updraft", "gates"],
    doc_md=f"""
### Gate reminders ({config.name})

Every gate writes to the ledger when its assignees are to be reminded
(`gates.remind_after`, default 80% of `gates.timeout`) and when its silence decides
(`gates.on_timeout`, default NoGo). This DAG ({config.gates.reminders}) mails each
gate's assignees once at that time, with the gate's link and deadline.
""",
) as dag:
    GateReminderOperator(task_id="remind")

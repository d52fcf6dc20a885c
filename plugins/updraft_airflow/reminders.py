"""GateReminderOperator: reminds the assignees of every gate still waiting at its
reminder time (`gates.remind_after`, default 80% of `gates.timeout`), once, by mail.

The gates wait parked in Airflow (`awaiting_input`: no process, no trigger), so the
reminder comes from the ledger, where each gate wrote when to remind and its deadline:
the gate_reminders DAG runs this on `gates.reminders`' schedule. A mail that fails is
tried again on the next run (the question is marked reminded only once mailed).
"""

from __future__ import annotations

from airflow.sdk import Context

from updraft_airflow.notifiers import GATE_HEADER
from updraft_airflow.operators.base import MailingOperator


class GateReminderOperator(MailingOperator):
    """Mails each gate's assignees once before its deadline (a parked gate has no process
    of its own to do it): what the ledger says is due."""

    def run(self, context: Context) -> list[str]:
        from updraft import gate
        from updraft.gate_text import addresses, gate_link, mail_body
        from updraft.mail import compose

        config = self.config()
        url = self.engine(context).layout.ledger_url
        reminded = []
        for question in gate.due_reminders(url):
            what = " ".join(part for part in (question.family, question.release) if part)
            subject = (
                f"[updraft] Reminder: {question.dag_id} {question.task_id} {what}".rstrip()
                + " waits for your answer"
            )
            link = (
                gate_link(config.web.base_url, question.dag_id, question.run_id, question.task_id)
                if config.web.base_url
                else None
            )
            deadline = (
                f"{question.deadline:%Y-%m-%d %H:%M} UTC (then "
                f"{config.gates.timing(question.kind).on_timeout})"
                if question.deadline
                else None
            )
            asked = f"{question.asked_at:%Y-%m-%d %H:%M} UTC" if question.asked_at else "?"
            body = mail_body(
                config,
                subject.removeprefix("[updraft] "),
                question.shown,
                question.assigned,
                link,
                deadline,
                reminder=f"Reminder: this gate has waited since {asked}.",
            )
            to = addresses(config, question.assigned)
            message = compose(config, subject, body, to=to)
            message[GATE_HEADER] = f"{question.dag_id}.{question.task_id}"
            message["X-Updraft-Reminder"] = "yes"
            try:
                self.mail(config, message)
            except Exception as exc:
                self.log.warning("reminder for %s not mailed (%s)", question.run, exc)
                continue
            gate.mark_reminded(url, question)
            self.log.info("reminded %s of %s %s", ", ".join(to), question.run, question.task_id)
            reminded.append(f"{question.run} {question.task_id}")
        return reminded

"""GateMailNotifier: mails a waiting gate's link to whoever must answer it.

To the assigned users' addresses (`users.<name>.email`; a config naming none keeps the
old list, `release.gate_mail` or `report.recipients`), in plain text: the body without
Markdown and without server paths, people by name, an absolute link to the gate
(`web.base_url`, else Airflow's `[api] base_url`) and the time its silence decides.

A mail that cannot be sent is logged, not raised: a notifier that raises fails the
gate (AIRFLOW-NOTES), and the question stays answerable under Required Actions.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseNotifier, Context

from updraft_airflow import distribution

log = logging.getLogger(__name__)
GATE_HEADER = "X-Updraft-Gate"  # which gate a mail asks for (filters, tests)


def gate_link(config: Any, context: Context) -> str | None:
    """The absolute address of this gate's Required Actions page, if one is known."""
    from updraft.gate_text import gate_link as link

    ti = context["ti"]
    if config.web.base_url:
        return link(config.web.base_url, ti.dag_id, ti.run_id, ti.task_id,
                    getattr(ti, "map_index", -1))
    try:
        return HITLOperator.generate_link_to_ui_from_context(context=context)
    except ValueError:  # neither web.base_url nor [api] base_url
        return None


class GateMailNotifier(BaseNotifier):
    template_fields = ()

    def __init__(self, *, config_path: str | None = None,
                 smtp_conn_id: str = "updraft_smtp") -> None:
        super().__init__()
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Context) -> None:
        from updraft.gate_text import addresses, mail_body
        from updraft.mail import compose
        from updraft_airflow.operators.mail import send

        config = distribution.load(self.config_path)
        task: Any = context["task"]  # a HITL gate: assigned_users, defaults, subject, body
        assigned = [user["id"] for user in task.assigned_users or []]
        to = addresses(config, assigned)
        timeout = getattr(task, "response_timeout", None)
        outcome = "Go" if (task.defaults or ["Reject"])[0] == "Approve" else "NoGo"
        deadline = (f"{datetime.now(UTC) + timeout:%Y-%m-%d %H:%M} UTC (then {outcome})"
                    if timeout else None)
        body = mail_body(config, task.subject, task.body or "", assigned,
                         gate_link(config, context), deadline)
        message = compose(config, f"[updraft] {task.subject}", body, to=to)
        message[GATE_HEADER] = f"{context['ti'].dag_id}.{context['ti'].task_id}"
        try:
            sent = send(config, message, self.smtp_conn_id)
            log.info("gate link mailed to %s", ", ".join(to) if sent else "nobody")
        except Exception as exc:  # see the module docstring
            log.warning("could not mail the gate's link (%s); it waits in Required Actions",
                        exc)

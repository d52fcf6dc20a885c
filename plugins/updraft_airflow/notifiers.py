"""GateMailNotifier: mails a waiting gate's link to whoever must answer it.

A mail that cannot be sent is logged, not raised: a notifier that raises fails the
gate (AIRFLOW-NOTES), and the question stays answerable under Required Actions.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseNotifier

from updraft_airflow import distribution

log = logging.getLogger(__name__)


class GateMailNotifier(BaseNotifier):
    template_fields = ()

    def __init__(self, *, config_path: str | None = None,
                 smtp_conn_id: str = "updraft_smtp") -> None:
        super().__init__()
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Any) -> None:
        from updraft.mail import compose
        from updraft_airflow.operators.mail import send

        config = distribution.load(self.config_path)
        to = list(config.release.gate_mail or config.report.recipients)
        task = context["task"]
        try:
            link = HITLOperator.generate_link_to_ui_from_context(context=context)
        except ValueError:  # no [api] base_url: the run's page is still a good pointer
            link = "Browse -> Required Actions in the Airflow UI"
        who = ", ".join(user["id"] for user in task.assigned_users or []) or "anyone"
        body = (f"{task.subject}\n\nWaiting for: {who}\nAnswer here: {link}\n\n"
                f"{task.body or ''}\n")
        try:
            sent = send(config, compose(config, f"[updraft] {task.subject}", body, to=to),
                        self.smtp_conn_id)
            log.info("gate link mailed to %s", ", ".join(to) if sent else "nobody")
        except Exception as exc:  # see the module docstring
            log.warning("could not mail the gate's link (%s); it waits in Required Actions",
                        exc)

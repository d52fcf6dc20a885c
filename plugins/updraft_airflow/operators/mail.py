"""ReportMailOperator: the Repository Update mail, through Airflow's SMTP connection."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from updraft.config.dist import DistConfig
from updraft.mail import envelope_sender, report_mail
from updraft_airflow import params
from updraft_airflow.operators.base import UpdraftOperator


class ReportMailOperator(UpdraftOperator):
    """Mails the report a cycle wrote to the config's `report.recipients`.

    Host, port, TLS and credentials come from the Airflow connection (`updraft_smtp`);
    the password never reaches a log. The SMTP provider only builds HTML bodies, and
    seed 000's report is plain text for a mailing list, so the message is composed by
    updraft.mail and sent on the hook's authenticated client.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "report_file",
                                      "plan_id")

    def __init__(self, *, report_file: object, plan_id: object = None,
                 smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_file = report_file
        self.plan_id = plan_id
        self.smtp_conn_id = smtp_conn_id

    def run(self, context: Context) -> dict[str, object]:
        config = self.config()
        report_file = params.optional(self.report_file, "report_file")
        if report_file is None:
            raise AirflowFailException("no report to mail: the apply task wrote none")
        report = Path(report_file).read_text()
        recipients = list(config.report.recipients)
        if not recipients:
            self.log.warning("report.recipients is empty in %s: report not mailed",
                             config.source_file)
            return {"sent": False}
        message = report_mail(config, report, params.optional(self.plan_id, "plan_id"))
        send(config, message, self.smtp_conn_id)
        self.log.info("mailed %r to %s (%d lines)", message["Subject"], ", ".join(recipients),
                      len(report.splitlines()))
        return {"sent": True, "to": recipients, "message_id": message["Message-ID"]}


def send(config: DistConfig, message: EmailMessage, smtp_conn_id: str = "updraft_smtp") -> bool:
    """Send a composed plain-text mail to its `To` addresses over the connection; False
    when it has none (the config names nobody).

    The SMTP provider only builds HTML bodies; seed 000's mails are plain text for a
    mailing list, so they are sent on the hook's authenticated client.
    """
    recipients = [address for _, address in getaddresses(message.get_all("To", []))
                  if address]
    if not recipients:
        return False
    with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
        client = hook._smtp_client  # see the docstring
        assert isinstance(client, smtplib.SMTP), "the hook opened no SMTP session"
        client.send_message(message, from_addr=envelope_sender(config.report.mail_from),
                            to_addrs=recipients)
    return True

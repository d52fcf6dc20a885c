"""ReportMailOperator: the Repository Update mail, through Airflow's SMTP connection."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from updraft.config.dist import DistConfig
from updraft.mail import envelope_sender, report_mail
from updraft_airflow import distribution


class ReportMailOperator(BaseOperator):
    """Mails the report a cycle wrote to the config's `report.recipients`.

    Host, port, TLS and credentials come from the Airflow connection (`updraft_smtp`);
    the password never reaches a log. The SMTP provider only builds HTML bodies, and
    seed 000's report is plain text for a mailing list, so the message is composed by
    updraft.mail and sent on the hook's authenticated client.
    """

    template_fields: Sequence[str] = ("report_file", "plan_id", "config_path")

    def __init__(self, *, report_file: str | None, plan_id: str | None = None,
                 smtp_conn_id: str = "updraft_smtp", config_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_file = report_file
        self.plan_id = plan_id
        self.smtp_conn_id = smtp_conn_id
        self.config_path = config_path

    def execute(self, context: Any) -> dict[str, object]:
        config = distribution.load(self.config_path)
        if not self.report_file or self.report_file == "None":
            raise AirflowFailException("no report to mail: the apply task wrote none")
        report = Path(self.report_file).read_text()
        recipients = list(config.report.recipients)
        if not recipients:
            self.log.warning("report.recipients is empty in %s: report not mailed",
                             config.source_file)
            return {"sent": False}
        message = report_mail(config, report, self.plan_id or None)
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
        hook._smtp_client.send_message(  # see the docstring
            message, from_addr=envelope_sender(config.report.mail_from), to_addrs=recipients)
    return True

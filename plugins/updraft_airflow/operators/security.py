"""Operators of security_reminder and security_announce (issue 17 §4): each one call
into updraft.upstream.followup.SecurityFollowup."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

from updraft_airflow import distribution
from updraft_airflow.operators.mail import send


class SecurityReminderOperator(BaseOperator):
    """'Security update waiting' (notification 3) for every security update still below
    the updates repo, saying how long it has waited; skipped when none waits."""

    def __init__(
        self, *, config_path: str | None = None, smtp_conn_id: str = "updraft_smtp", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Context) -> list[str]:
        from updraft.upstream.followup import SecurityFollowup

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        mails = SecurityFollowup(engine.layout).remind()
        if not mails:
            raise AirflowSkipException("no security update is waiting")
        for mail in mails:
            if send(engine.config, mail, self.smtp_conn_id):
                self.log.info("mailed %r to %s", mail["Subject"], mail["To"])
        return [str(mail["Subject"]) for mail in mails]


class SecurityAnnounceOperator(BaseOperator):
    """The security announcement (notification 4) of security updates the updates repo
    now carries; once mailed they are no longer reminded of (nor announced again)."""

    def __init__(
        self, *, config_path: str | None = None, smtp_conn_id: str = "updraft_smtp", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Context) -> list[str]:
        from updraft.upstream.followup import SecurityFollowup

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        followup = SecurityFollowup(engine.layout)
        announced = followup.announce()
        if not announced:
            raise AirflowSkipException("no security update was released since the last one")
        for found in announced:
            if send(engine.config, found.mail, self.smtp_conn_id):
                self.log.info("mailed %r to %s", found.mail["Subject"], found.mail["To"])
            followup.settle(found.links)  # after the mail: a failed send is retried
        return [str(found.mail["Subject"]) for found in announced]

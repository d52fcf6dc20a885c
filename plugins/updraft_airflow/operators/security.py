"""Operators of security_reminder and security_announce (issue 17 §4): each one call
into updraft.upstream.followup.SecurityFollowup."""

from __future__ import annotations

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowSkipException

from updraft_airflow.operators.base import MailingOperator


class SecurityReminderOperator(MailingOperator):
    """'Security update waiting' (notification 3) for every security update still below
    the updates repo, saying how long it has waited; skipped when none waits."""

    def run(self, context: Context) -> list[str]:
        from updraft.upstream.followup import SecurityFollowup

        engine = self.engine(context)
        mails = SecurityFollowup(engine.layout).remind()
        if not mails:
            raise AirflowSkipException("no security update is waiting")
        for mail in mails:
            self.mail(engine.config, mail)
        return [str(mail["Subject"]) for mail in mails]


class SecurityAnnounceOperator(MailingOperator):
    """The security announcement (notification 4) of security updates the updates repo
    now carries; once mailed they are no longer reminded of (nor announced again)."""

    def run(self, context: Context) -> list[str]:
        from updraft.upstream.followup import SecurityFollowup

        engine = self.engine(context)
        followup = SecurityFollowup(engine.layout)
        announced = followup.announce()
        if not announced:
            raise AirflowSkipException("no security update was released since the last one")
        for found in announced:
            self.mail(engine.config, found.mail)
            followup.settle(found.links)  # after the mail: a failed send is retried
        return [str(found.mail["Subject"]) for found in announced]

"""Mail: the Repository Update report as the plain-text message seed 000 shows.

Composed here, sent by whoever holds the SMTP connection (the Airflow adapter, through
the SMTP provider's hook). Plain text on purpose: it goes to a mailing list.
"""

from __future__ import annotations

import os
import re
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr

from updraft.config.dist import DistConfig


def report_mail(config: DistConfig, report: str, plan_id: str | None = None) -> EmailMessage:
    """The Repository Update mail; the caller checks there are recipients."""
    return compose(config, config.report.subject, report, plan_id)


def compose(config: DistConfig, subject: str, body: str, plan_id: str | None = None,
            to: Sequence[str] | None = None) -> EmailMessage:
    """A plain-text mail from the release address to `to` (default: the report's
    recipients)."""
    sender = envelope_sender(config.report.mail_from)
    message = EmailMessage()
    message["From"] = config.report.mail_from
    message["To"] = ", ".join(config.report.recipients if to is None else to)
    # Subjects carry outside text (advisory ids, package names): one line, always (a
    # line break would be a ValueError here, or another header in a laxer mailer).
    message["Subject"] = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", subject)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("updraft", domain=sender.partition("@")[2] or None)
    if plan_id:
        message["X-Updraft-Plan"] = plan_id  # joins the mail to the ledger's record
    message.set_content(body)
    return message


def envelope_sender(mail_from: str) -> str:
    """The bare address of `releases@contribs.org (Releases)` or `Releases <…>`."""
    return parseaddr(mail_from)[1] or mail_from


def list_tag(config: DistConfig) -> str:
    """'[updatesteam] ' when the report's subject carries a list tag, else ''."""
    found = re.match(r"\s*(\[[^\]]+\])", config.report.subject)
    return f"{found.group(1)} " if found else ""


def send_direct(config: DistConfig, message: EmailMessage) -> bool:
    """Send a composed mail to its `To` addresses through $UPDRAFT_SMTP (host:port,
    default localhost:25): the CLI's way, where no Airflow connection exists. False when
    the message names nobody; OSError/SMTPException when the server refuses."""
    recipients = [address for _, address in getaddresses(message.get_all("To", []))
                  if address]
    if not recipients:
        return False
    host, _, port = os.environ.get("UPDRAFT_SMTP", "localhost:25").partition(":")
    with smtplib.SMTP(host, int(port or 25), timeout=30) as smtp:
        smtp.send_message(message, envelope_sender(config.report.mail_from), recipients)
    return True

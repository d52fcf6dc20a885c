"""Red team: a compromised mirror's updateinfo gives an advisory id with a line break
(`<id>RHSA-1&#10;Bcc: x</id>`, kept by createrepo_c and by the sync, which only strips
the ends). The "Security update waiting" subject carries it: the mail step died with
Python's ValueError (a header with a line feed) on every sync of that source, so the
security mail never went out. Outside text becomes one line in every mail header."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from tests.kits import treekit
from updraft.ledger.upstream import AdvisoryLink
from updraft.mail import compose
from updraft.upstream.notices import security_mail


def _link(advisory: str) -> AdvisoryLink:
    return AdvisoryLink(release="9", source="centos", advisory=advisory, kind="security",
                        severity="Important", title="evil", issued="2026-01-01",
                        family="clamav", family_evr="0.97.6-1.el4", repo="smetest",
                        at=datetime.now(UTC), security_waiting=True)


def test_a_line_break_in_an_advisory_id_neither_crashes_nor_adds_a_header() -> None:
    config = treekit.sme_config()

    [message] = security_mail(config, [_link("RHSA-2026:1\r\nBcc: attacker@example.com")])

    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in parsed["Subject"] and "RHSA-2026:1" in parsed["Subject"]
    assert parsed["To"] == ", ".join(config.report.recipients)


def test_every_subject_is_one_line() -> None:
    message = compose(treekit.sme_config(), "Build FAILED: x\nX-Evil: 1\x00", "body")

    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["X-Evil"] is None and parsed["Subject"].startswith("Build FAILED: x")

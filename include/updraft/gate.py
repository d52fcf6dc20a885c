"""Gate decisions: recorded in the ledger by the gate itself, required by every gated step.

A gate (Go/NoGo, Build?, Sign?, the release Go/NoGo, the ISO approval) asks: the
question goes to the ledger with who may answer and the digest of what is shown
(`ask`). When Airflow resumes the gate with the human's answer, read from its own HITL
record, the gate records it (`answer`): only an assigned user's answer counts. The step
after a gate proceeds only on such a recorded answer for this run (`require`): an
XCom, a task forced to success, or a gate cleared and re-run without an answer
moves nothing. Emergency overrides (`override`) are recorded with the OS user and
mailed. Plain Python: the Airflow adapter is updraft_airflow.gate_record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import smtplib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from updraft.config.dist import DistConfig
from updraft.errors import UpdraftError
from updraft.ledger import Ledger
from updraft.ledger.gates import Decision, GateRecords, Question, now
from updraft.mail import compose, envelope_sender

log = logging.getLogger(__name__)

APPROVE = "Approve"


class GateRefused(UpdraftError):
    """A gated step found no recorded decision that lets it proceed."""


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ask(ledger_url: str, question: Question) -> None:
    with Ledger.open(ledger_url) as ledger:
        GateRecords(ledger).ask(question, now())


def answer(ledger_url: str, run: str, task_id: str, by: str, chosen: Sequence[str],
           at: datetime | None = None, comment: str = "",
           form: dict[str, Any] | None = None) -> Decision:
    """Record the answer Airflow's HITL record gave: refused (and not recorded as a
    decision) unless the gate asked in this run and `by` is one of its assigned users."""
    with Ledger.open(ledger_url) as ledger:
        records = GateRecords(ledger)
        asked = records.question(run, task_id)
        if asked is None:
            raise GateRefused(f"{task_id}: the gate never asked in {run}: no answer recorded")
        if not by or by not in asked.assigned:
            raise GateRefused(
                f"{task_id}: answered by {by or 'nobody'}, who is not among the assigned "
                f"users ({', '.join(asked.assigned) or 'none'}): the answer is not recorded "
                "and nothing moves")
        if asked.answered:  # resumed twice with one answer: the first record stands
            if asked.timed_out or (asked.by, asked.chosen) != (by, tuple(chosen)):
                raise GateRefused(f"{task_id}: already answered {', '.join(asked.chosen)} by "
                                  f"{asked.by} in {run}: a second answer is not recorded")
            return asked
        records.answer(run, task_id, by, chosen, at or now(), comment, form)
        found = records.answered(run, task_id)
    assert found is not None
    log.info("%s: %s by %s recorded in the ledger", task_id, ", ".join(chosen), by)
    return found


def timed_out(ledger_url: str, run: str, task_id: str, outcome: Sequence[str],
              why: str, at: datetime | None = None) -> Decision:
    """Record the gate's configured outcome because nobody answered in time: refused
    unless the question's deadline (set when it asked) has passed, so an event that only
    claims a timeout decides nothing."""
    at = at or now()
    with Ledger.open(ledger_url) as ledger:
        records = GateRecords(ledger)
        asked = records.question(run, task_id)
        if asked is None:
            raise GateRefused(f"{task_id}: the gate never asked in {run}: no timeout recorded")
        if asked.answered:
            if not asked.timed_out:
                raise GateRefused(f"{task_id}: already answered {', '.join(asked.chosen)} by "
                                  f"{asked.by} in {run}: no timeout recorded")
            return asked
        if asked.deadline is None or at < asked.deadline:
            raise GateRefused(f"{task_id}: a timeout before the gate's deadline "
                              f"({asked.deadline or 'none'}) is not recorded: nothing moves")
        records.time_out(run, task_id, outcome, at, why)
        found = records.answered(run, task_id)
    assert found is not None
    log.info("%s: no answer in time, %s recorded in the ledger", task_id, ", ".join(outcome))
    return found


def due_reminders(ledger_url: str, at: datetime | None = None) -> list[Decision]:
    """Open questions whose assignees are to be reminded now."""
    with Ledger.open(ledger_url) as ledger:
        return GateRecords(ledger).due_reminders(at or now())


def mark_reminded(ledger_url: str, question: Decision, at: datetime | None = None) -> None:
    with Ledger.open(ledger_url) as ledger:
        GateRecords(ledger).reminded(question.run, question.task_id, at or now())


def require(ledger_url: str, run: str, task_id: str, option: str | None = APPROVE) -> Decision:
    """The decision the gate recorded for this run, or GateRefused in one line.

    `option`: the answer that lets the step proceed (None: any answer, NoGo included:
    the caller reads `Decision.nogo`; the release Go/NoGo records its families as
    `chosen` on a Go and ("Reject",) on a NoGo)."""
    with Ledger.open(ledger_url) as ledger:
        found = GateRecords(ledger).answered(run, task_id)
    if found is None:
        raise GateRefused(
            f"gate {task_id} has no answer recorded in the ledger for {run} (a gate forced "
            "to success, cleared or re-run without an answer moves nothing): nothing was "
            f"done; clear {task_id} and answer it under Required Actions")
    by = found.by if not found.timed_out else "nobody in time (the configured outcome)"
    if option is not None and option not in found.chosen:
        raise GateRefused(f"gate {task_id} was answered {', '.join(found.chosen) or 'nothing'} "
                          f"by {by}, not {option}: nothing was done")
    return found


def refuse_requests(ledger_url: str, repo: str, families: Sequence[str], by: str,
                    via: str) -> list[str]:
    """A NoGo: the pending requests of these families (`clamav-0.97.6-1.rf`) for `repo`
    are refused; their held files stay held."""
    refused = []
    with Ledger.open(ledger_url) as ledger:
        records = GateRecords(ledger)
        for request in records.requests("pending"):
            label = f"{request.family}-{request.family_evr}"
            if request.repo == repo and label in families:
                records.decide(request.release, request.repo, request.family,
                               request.family_evr, "nogo", by, via, now())
                refused.append(label)
    return refused


def os_user() -> str:
    """The account this process runs as, by its uid: getpass.getuser() would believe
    $LOGNAME or $USER, which anyone sets (`USER=releng updraft ... --override-gate`)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry (a container): the number says who
        return f"uid {os.getuid()}"


def override(config: DistConfig, ledger_url: str, what: str, target: str, release: str,
             reason: str, task: str = "promote") -> Decision:
    """An emergency override of a gated repo: recorded with the OS user, then mailed."""
    if not reason.strip():
        raise GateRefused("--override-gate needs --reason TEXT: why this cannot wait for a Go")
    user = os_user()
    decision = Decision(run=f"cli:{user}", task_id=task, kind="override", by=user, at=now(),
                        chosen=("Override",), digest="", comment=reason.strip(),
                        release=release, target=target, family=what)
    with Ledger.open(ledger_url) as ledger:
        GateRecords(ledger).override(decision)
    mail_override(config, decision)
    return decision


def mail_override(config: DistConfig, decision: Decision) -> bool:
    """To the report's recipients (the release managers' list), through the SMTP server
    of UPDRAFT_SMTP (host:port, default localhost:25). A failed mail is a warning: the
    override is already in the ledger."""
    role = config.repos[decision.target].approval if decision.target in config.repos else None
    managers = ", ".join(getattr(config.roles, role or "release_managers", ()))
    body = (f"{decision.by} overrode the gate of {decision.target} at "
            f"{decision.at:%Y-%m-%d %H:%M:%S} UTC: {decision.task_id} {decision.family} "
            f"(release {decision.release or 'any'}) without a Go from {role} ({managers}).\n\n"
            f"Reason: {decision.comment}\n\nRecorded in the ledger (gate_answers, kind "
            "override).\n")
    message = compose(config, f"{config.report.subject}: gate override of {decision.target}",
                      body)
    host, _, port = os.environ.get("UPDRAFT_SMTP", "localhost:25").partition(":")
    recipients = list(config.report.recipients)
    if not recipients:
        log.warning("override not mailed: report.recipients is empty")
        return False
    try:
        with smtplib.SMTP(host, int(port or 25), timeout=30) as smtp:
            smtp.send_message(message, envelope_sender(config.report.mail_from), recipients)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("override recorded but not mailed (%s:%s): %s", host, port or 25, exc)
        return False
    return True

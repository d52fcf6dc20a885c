"""The Airflow side of updraft.gate: gates record their own question and answer in the
ledger; gated steps proceed only on that record, never on an XCom.

Airflow resumes a HITL gate with an event built from its own HITL record (who answered
through the UI or the REST API's hitlDetails, what they chose): `execute_complete` is
the one place an answer is known to be a human's, so that is where it is recorded.

Every gate (RecordedGate + ApprovalOperator) offers Go (Approve) and NoGo (Reject) and
an optional comment (the HITL form's `comment` param). Its timing comes from the
config when it asks (`gates.timeout`, per kind `gates.<kind>.timeout`): Airflow's
`response_timeout`, with the configured outcome as the HITL `defaults` that the
scheduler's timeout sweep applies. A timeout is recorded as such (`timed_out`, by
nobody) and only once the deadline the gate recorded has passed.

A NoGo ends the run cleanly: the ApprovalOperator skips what follows, and the gate
leaves the run's note ("NoGo by releng: comment") in XCom `run_note`, which the
updraft_notes plugin's listener writes on the run when it ends (run_note).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context, Param
from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import distribution, run_note

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported when a task runs, not by DAG files
    from airflow.models.hitl import HITLUser

    from updraft.config.dist import DistConfig
    from updraft.ledger.gates import Decision

APPROVE = "Approve"
REJECT = "Reject"
COMMENT_LIMIT = 2000


def comment_param() -> Param:
    return Param(None, type=["null", "string"], maxLength=COMMENT_LIMIT, title="Comment",
                 source="task",
                 description="Why (optional; a NoGo's reason goes into the run's note and "
                             "the ledger)")


def form(kwargs: dict[str, Any], **fields: Param) -> None:
    """The gate's form: a comment and `fields`. Airflow passes the DAG's params in as
    `params` (source "dag", which a HITL form leaves out), so the form is set, not
    defaulted."""
    kwargs["params"] = {**fields, "comment": comment_param()}


def ledger_url(config_path: str | None, context: Context) -> str:
    return distribution.engine(config_path, distribution.run_trigger(context)).layout.ledger_url


def _responder(event: dict[str, Any]) -> str:
    """Who answered, by user name: what the config's roles (and so `assigned`) name.
    Airflow records {"id", "name"}; under FAB the id is a row number ("3"), under the
    simple auth manager both are the name."""
    who = event.get("responded_by_user") or {}
    if not isinstance(who, dict):
        return str(who)
    return str(who.get("name") or who.get("id") or "")


def _comment(event: dict[str, Any]) -> str:
    value = (event.get("params_input") or {}).get("comment")
    return str(value).strip()[:COMMENT_LIMIT] if value else ""


class RecordedGate:
    """Mixin for HITL gates (before the HITL operator in the bases)."""

    gate_kind = "gate"
    config_path: str | None
    # Set here, owned by the HITL operator the gate also derives from.
    response_timeout: timedelta | None
    defaults: Any

    def __init__(self, *, config_path: str | None = None, **kwargs: Any) -> None:
        # Every gate mails its assignees when it starts waiting (notifiers).
        from updraft_airflow.notifiers import GateMailNotifier

        kwargs.setdefault("notifiers", [GateMailNotifier(config_path=config_path)])
        super().__init__(**kwargs)
        self.config_path = config_path

    def record_question(self, context: Context, assigned: Sequence[HITLUser], shown: str,
                        release: str = "", target: str = "", family: str = "",
                        digest: str | None = None, config: DistConfig | None = None) -> None:
        """Ledger the question, and set the timing the config gives this gate kind."""
        from updraft import gate
        from updraft.ledger.gates import Question

        config = config or distribution.load(self.config_path)
        timing = config.gates.timing(self.gate_kind)
        asked = datetime.now(UTC)
        self.response_timeout = timedelta(seconds=timing.timeout) if timing.timeout else None
        self.defaults = [APPROVE if timing.on_timeout == "Go" else REJECT]
        ti = context["ti"]
        gate.ask(ledger_url(self.config_path, context), Question(
            run=distribution.run_trigger(context), dag_id=ti.dag_id, run_id=ti.run_id,
            task_id=ti.task_id, kind=self.gate_kind,
            assigned=tuple(user["id"] for user in assigned),
            digest=digest if digest is not None else gate.digest_of(shown),
            release=str(release or ""), target=str(target or ""), family=str(family or ""),
            shown=shown,
            deadline=asked + timedelta(seconds=timing.timeout) if timing.timeout else None,
            remind_at=(asked + timedelta(seconds=timing.remind_after)
                       if timing.remind_after else None)))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        # Recorded first: on Reject the HITL operator ends the task by raising (it skips
        # what follows), and an answer not recorded must not let anything proceed.
        if event.get("timedout") or event.get("error_type") == "timeout":
            decision = self._record_timeout(context)
            event = {"chosen_options": [REJECT if decision.nogo else APPROVE],
                     "params_input": {}, "responded_at": decision.at,
                     "responded_by_user": None}
        elif "error" not in event:
            decision = self._record_answer(context, event)
        else:
            return super().execute_complete(context, event)  # type: ignore[misc]
        if decision.nogo:
            run_note.push(context, run_note.nogo_text(decision))
        self.on_recorded(context, decision)
        return super().execute_complete(context, event)  # type: ignore[misc]

    def recorded_choice(self, context: Context, event: dict[str, Any]) -> list[str]:
        """What the ledger records as chosen (the release gate records its families)."""
        chosen = list(event.get("chosen_options") or [])
        self.validate_chosen_options(chosen)  # type: ignore[attr-defined]
        return chosen

    def timeout_choice(self, context: Context, outcome: str) -> list[str]:
        return [outcome]

    def recorded_form(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The answered form fields the ledger keeps besides the comment (what the steps
        after the gate read, never from an XCom): none by default."""
        return {}

    def _record_answer(self, context: Context, event: dict[str, Any]) -> Decision:
        from updraft import gate

        at = event.get("responded_at")
        try:
            return gate.answer(ledger_url(self.config_path, context),
                               distribution.run_trigger(context), context["ti"].task_id,
                               _responder(event), self.recorded_choice(context, event),
                               at if isinstance(at, datetime) else None, _comment(event),
                               self.recorded_form(context, event))
        except gate.GateRefused as exc:
            raise AirflowFailException(str(exc)) from exc

    def _record_timeout(self, context: Context) -> Decision:
        from updraft import gate
        from updraft.config.gates import duration_text

        timing = distribution.load(self.config_path).gates.timing(self.gate_kind)
        outcome = APPROVE if timing.on_timeout == "Go" else REJECT
        waited = duration_text(timing.timeout) if timing.timeout else "the deadline"
        try:
            return gate.timed_out(ledger_url(self.config_path, context),
                                  distribution.run_trigger(context), context["ti"].task_id,
                                  self.timeout_choice(context, outcome),
                                  f"no answer within {waited}: {timing.on_timeout} "
                                  "(gates.on_timeout)")
        except gate.GateRefused as exc:
            raise AirflowFailException(str(exc)) from exc

    def on_recorded(self, context: Context, decision: Decision) -> None:
        """After the answer (or the timeout's outcome) is in the ledger: a hook."""


def required(context: Context, config_path: str | None, gate_task_id: str,
             option: str | None = APPROVE) -> Decision:
    """The decision `gate_task_id` recorded in this run, or the task fails in one line."""
    from updraft import gate

    try:
        return gate.require(ledger_url(config_path, context), distribution.run_trigger(context),
                            gate_task_id, option)
    except gate.GateRefused as exc:
        raise AirflowFailException(str(exc)) from exc

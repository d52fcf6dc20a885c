"""The Airflow side of updraft.gate: gates record their own question and answer in the
ledger; gated steps proceed only on that record, never on an XCom.

Airflow resumes a HITL gate with an event built from its own HITL record (who answered
through the UI or the REST API's hitlDetails, what they chose): `execute_complete` is
the one place an answer is known to be a human's, so that is where it is recorded.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import distribution

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported when a task runs, not by DAG files
    from updraft.ledger.gates import Decision

APPROVE = "Approve"


def ledger_url(config_path: str | None, context: Any) -> str:
    return distribution.engine(config_path, distribution.run_trigger(context)).layout.ledger_url


def _responder(event: dict[str, Any]) -> str:
    who = event.get("responded_by_user") or {}
    return str(who.get("id") or "") if isinstance(who, dict) else str(who)


class RecordedGate:
    """Mixin for HITL gates (before the HITL operator in the bases)."""

    gate_kind = "gate"
    config_path: str | None

    def record_question(self, context: Any, assigned: list[dict[str, str]], shown: str,
                        release: str = "", target: str = "", family: str = "",
                        digest: str | None = None) -> None:
        from updraft import gate
        from updraft.ledger.gates import Question

        ti = context["ti"]
        gate.ask(ledger_url(self.config_path, context), Question(
            run=distribution.run_trigger(context), dag_id=ti.dag_id, run_id=ti.run_id,
            task_id=ti.task_id, kind=self.gate_kind,
            assigned=tuple(user["id"] for user in assigned),
            digest=digest if digest is not None else gate.digest_of(shown),
            release=str(release or ""), target=str(target or ""), family=str(family or "")))

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        # Recorded first: on Reject the HITL operator ends the task by raising (it skips
        # what follows), and an answer not recorded must not let anything proceed.
        from updraft import gate

        if "error" not in event:
            chosen = list(event.get("chosen_options") or [])
            self.validate_chosen_options(chosen)  # type: ignore[attr-defined]
            at = event.get("responded_at")
            try:
                gate.answer(ledger_url(self.config_path, context),
                            distribution.run_trigger(context), context["ti"].task_id,
                            _responder(event), chosen, at if isinstance(at, datetime) else None,
                            json.dumps(event.get("params_input") or {}, sort_keys=True))
            except gate.GateRefused as exc:
                raise AirflowFailException(str(exc)) from exc
            self.on_recorded(context, chosen, _responder(event))
        return super().execute_complete(context, event)  # type: ignore[misc]

    def on_recorded(self, context: Any, chosen: list[str], by: str) -> None:
        """After an assigned user's answer is in the ledger (a hook for the gates)."""


def required(context: Any, config_path: str | None, gate_task_id: str,
             option: str | None = APPROVE) -> Decision:
    """The decision `gate_task_id` recorded in this run, or the task fails in one line."""
    from updraft import gate

    try:
        return gate.require(ledger_url(config_path, context), distribution.run_trigger(context),
                            gate_task_id, option)
    except gate.GateRefused as exc:
        raise AirflowFailException(str(exc)) from exc

"""The release Go/NoGo (seed 004 step 8, "User can mark some packages as good").

Approve (Go) or Reject (NoGo), like every gate, with the releasable families as a
multiple-choice field of the form (`families`, all proposed) and a comment. A multiple
choice *of options* could not say No: clearing every family greyed out Respond.

API for the release operators (what the integrator wires):
- the ledger's gate row (`gate_record.required(..., option=None)`) has `chosen` = the
  families to release on a Go, ("Reject",) on a NoGo or a timeout's NoGo: check
  `decision.nogo` before resolving families (the gate skips promote on a NoGo, but a
  task forced to run must still release nothing);
- the release ledger's decision row (`ReleaseRecords.record_decision`, run + gate) is
  written here, on every outcome (a NoGo with `chosen` = []), so nothing of a NoGo'd
  run is lost; the promote step's own write of it is then a no-op.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import Context, Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft.gate_text import md_people
from updraft.markup import md_code, md_link, md_text
from updraft_airflow import distribution, run_note
from updraft_airflow.gate_record import (
    APPROVE,
    REJECT,
    RecordedGate,
    comment_param,
    form,
    ledger_url,
)
from updraft_airflow.users import assignees

if TYPE_CHECKING:
    from updraft.ledger.gates import Decision

FAMILIES = "families"


def families_param(offered: list[str] | None = None,
                   units: list[list[str]] | None = None) -> Param:
    items: dict[str, Any] = {"type": "string"}
    shown: dict[str, Any] = {}
    if offered:  # the UI makes an array with `examples` a multi-select
        items["enum"] = offered
        shown["examples"] = list(offered)
    return Param(
        list(offered or []),
        type="array",
        items=items,
        source="task",
        title="Families to release",
        **shown,
        description="a Go releases these (all are proposed); Reject releases none"
        + "".join(f"; {' + '.join(unit)} go together (coupled): all or none"
                  for unit in units or []),
    )


class ReleaseGateOperator(RecordedGate, ApprovalOperator):
    """Asked of the approvers of the target repo (release managers). Its body is the
    analysis: what goes, what is held back and why, and a link to the release board.

    Nothing releasable: the gate skips itself and everything after it.
    """

    gate_kind = "release"

    template_fields = (*HITLOperator.template_fields, "release")

    def __init__(
        self,
        *,
        release: str = "{{ params.release }}",
        analysis_task_id: str = "analyse",
        report_task_id: str = "report",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Go/NoGo: release updates of {{ params.release }}")
        form(kwargs, **{FAMILIES: families_param()})
        super().__init__(**kwargs)
        self.release = release
        self.analysis_task_id = analysis_task_id
        self.report_task_id = report_task_id

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        offered = self._offered(context)
        if not offered:
            # Skipped is green: the run's note says it released nothing, and why.
            from updraft.release.choice import nothing_releasable

            analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
            note = nothing_releasable([held.get("kinds") or [] for held in
                                       analysed.get("held") or []], config.release.target)
            run_note.push(context, note)
            raise AirflowSkipException(note)
        role = config.repos[config.release.target].approval or "release_managers"
        self.assigned_users = assignees(config, role)
        if not self.assigned_users:
            raise AirflowFailException(
                f"nobody may release: roles.{role} lists nobody in the config"
            )
        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        units = [list(map(str, unit)) for unit in analysed.get("units") or []]
        self.params = ParamsDict({FAMILIES: families_param(offered, units),
                                  "comment": comment_param()})
        report = context["ti"].xcom_pull(task_ids=self.report_task_id) or {}
        self.body = release_body(analysed, report, md_people(config, getattr(config.roles, role)))
        self.record_question(
            context,
            self.assigned_users,
            self.body,
            release=self.release,
            target=config.release.target,
            config=config,
            digest=hashlib.sha256(json.dumps(offered).encode()).hexdigest(),
        )
        self.log.info(
            "offering %d families to %s",
            len(offered),
            ", ".join(user["id"] for user in self.assigned_users),
        )
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        # A Go that keeps no family releases nothing: it is the NoGo it amounts to.
        if APPROVE in (event.get("chosen_options") or []) and not self._chosen(context, event):
            event = {**event, "chosen_options": [REJECT]}
        return super().execute_complete(context, event)

    def validate_params_input(self, params_input: Any) -> None:
        # The REST API may send only some fields; the form's families are checked in
        # _chosen against this run's offer (a fresh operator has no enum).
        return None

    def _offered(self, context: Context) -> list[str]:
        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        return [str(name) for name in analysed.get("options") or []]

    def _chosen(self, context: Context, event: dict[str, Any]) -> list[str]:
        offered = self._offered(context)
        asked = (event.get("params_input") or {}).get(FAMILIES)
        if asked is None:
            return offered  # not sent: all that was proposed
        if not isinstance(asked, list) or not set(map(str, asked)) <= set(offered):
            raise AirflowFailException(
                f"families {asked!r} are not among those offered "
                f"({', '.join(offered)}): nothing is released"
            )
        return [name for name in offered if name in asked]

    def recorded_choice(self, context: Context, event: dict[str, Any]) -> list[str]:
        chosen = super().recorded_choice(context, event)
        return self._chosen(context, event) if APPROVE in chosen else [REJECT]

    def timeout_choice(self, context: Context, outcome: str) -> list[str]:
        return self._offered(context) if outcome == APPROVE else [REJECT]

    def on_recorded(self, context: Context, decision: Decision) -> None:
        from updraft.ledger import Ledger
        from updraft.ledger.release import ReleaseRecords

        families = [] if decision.nogo else list(decision.chosen)
        with Ledger.open(ledger_url(self.config_path, context)) as ledger:
            ReleaseRecords(ledger).record_decision(
                distribution.run_trigger(context),
                context["ti"].task_id,
                str(self.release),
                families,
                decision.by or "timeout",
                decision.at,
            )


def release_body(analysed: dict[str, Any], report: dict[str, Any], approvers: str) -> str:
    offered = "\n".join(f"- {md_code(name)}" for name in analysed.get("options", []))
    coupled = "\n".join("- " + " + ".join(md_code(str(name)) for name in unit)
                        for unit in analysed.get("units") or [])
    held = []
    for package in analysed.get("held", []):
        older = (
            f" ({md_text(package['releasable'])} may be released instead)"
            if package.get("releasable")
            else ""
        )
        why = "".join(
            f"\n    - {md_text(line)}" for line in package.get("why") or ["not releasable"]
        )
        held.append(f"- {md_code(package['name'] + '-' + package['candidate'])}{older}:{why}")
    return (
        f"**Releasable** (all proposed in *Families to release*):\n\n{offered}\n\n"
        + ("**Coupled** (released together, all or none, one advisory listing every "
           "package):\n\n" + coupled + "\n\n" if coupled else "")
        + ("**Held back**:\n\n" + "\n".join(held) + "\n\n" if held else "")
        + f"Asked of: {approvers}\n\n"
        + f"Full report: {md_link('release board', report.get('page', '/updraft/release/'))}\n\n"
        "Approve releases the chosen families: each moves to smeupdates, gets an advisory, "
        "is announced once the mirrors carry it, and its bugs are closed. A family sharing "
        "a bug with one left out cannot go alone, nor can part of a coupled unit: such an "
        "answer releases nothing. Reject "
        "releases nothing; say why in the comment."
    )

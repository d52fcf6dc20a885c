"""Gates of a build batch (issue 17 §2): "Start building?" (seed 004 question 1), the
special parameters (question 5: the kernel) and "Sign?" for the batch (question 3).

Built on Airflow's HITLOperator and the ledger recording of gate_record, as gates.py's
gates are. Each offers an explicit NoGo: a multiple choice cannot be answered with
nothing, so "NoGo" is an option; chosen (alone or not) it ends the batch cleanly,
downstream skipped. The options come from the run (the requests, the builds): they
are set when the task runs and again when it resumes (a resumed task is a fresh
operator).
"""

from __future__ import annotations

import json
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Context, Param
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft.markup import md_code, md_fence, md_text
from updraft_airflow import distribution
from updraft_airflow.gate_record import REJECT, RecordedGate, comment_param, form
from updraft_airflow.users import assignees

NOGO = "NoGo"


def _offered(context: Context, task_id: str, key: str = "key",
             only: str | None = None) -> list[str]:
    entries = context["ti"].xcom_pull(task_ids=task_id) or []
    return [str(e[key]) for e in entries if only is None or e.get(only)]


class _ChoiceGate(RecordedGate, HITLOperator):
    """A multiple choice of what an upstream task offers, plus NoGo."""

    role = "packagers"
    offered_task_id = ""
    only: str | None = None  # an XCom entry's flag that makes it an option

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("options", ["(set when the gate runs)", NOGO])
        form(kwargs)
        super().__init__(multiple=True, **kwargs)

    def _options(self, context: Context) -> list[str]:
        return _offered(context, self.offered_task_id, only=self.only)

    def body_for(self, context: Context, offered: list[str]) -> str:
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        config = distribution.load(self.config_path)
        offered = self._options(context)
        if not offered:
            raise AirflowSkipException("nothing to decide: no option offered")
        self.assigned_users = assignees(config, self.role)  # type: ignore[arg-type]
        if not self.assigned_users:
            raise AirflowFailException(f"roles.{self.role} lists nobody: name who may answer")
        self.options = [*offered, NOGO]
        self.body = self.body_for(context, offered)
        self.record_question(
            context,
            self.assigned_users,
            self.body,
            release=str((context.get("params") or {}).get("release") or ""),
            family=", ".join(offered)[:200],
            config=config,
        )
        # What silence decides (gates.on_timeout): NoGo, or every option offered.
        self.defaults = [NOGO] if self.defaults == [REJECT] else offered
        return super().execute(context)

    def timeout_choice(self, context: Context, outcome: str) -> list[str]:
        return [NOGO] if outcome == REJECT else self._options(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self.options = [*self._options(context), NOGO]
        result = super().execute_complete(context, event)
        chosen = list(event.get("chosen_options") or [])
        if NOGO in chosen or not chosen:
            raise AirflowSkipException(f"NoGo by {_who(event)}: nothing of this batch goes on")
        return result


def _who(event: dict[str, Any]) -> str:
    who = event.get("responded_by_user") or {}
    return str(who.get("name") or who.get("id") or "") if isinstance(who, dict) else str(who)


class StartBuildingGate(_ChoiceGate):
    """Seed 004's "To start building process?": the build requests of a sync, all
    proposed; the packagers keep those to build now."""

    gate_kind = "start_building"
    offered_task_id = "requests"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "subject",
            "Start building? {{ ti.xcom_pull(task_ids='requests') "
            "| length }} upstream SRPMs to rebuild",
        )
        super().__init__(**kwargs)

    def body_for(self, context: Context, offered: list[str]) -> str:
        requests = context["ti"].xcom_pull(task_ids=self.offered_task_id) or []
        lines = "\n".join(
            f"- {md_code(r['key'])}: {md_text(r.get('reason', ''))}"
            + (" (special parameters asked next)" if r.get("ask_parameters") else "")
            for r in requests
        )
        return (
            f"**Build requests** (all proposed):\n\n{lines}\n\nThe chosen ones are built "
            'now on the builders, one builder report for the batch, then "Sign?". '
            f"{NOGO} builds nothing."
        )


class BatchSignGate(_ChoiceGate):
    """Seed 004's "To sign package or not?" for the batch: the builds that succeeded."""

    gate_kind = "sign"
    role = "signers"
    offered_task_id = "build"
    only = "built"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Sign? the builds of this batch")
        super().__init__(**kwargs)

    def _built(self, context: Context) -> list[dict[str, Any]]:
        items = context["ti"].xcom_pull(task_ids=self.offered_task_id) or []
        items = [items] if isinstance(items, dict) else list(items)  # one mapped instance
        return [i for i in items if i and i.get("state") == "built"]

    def _options(self, context: Context) -> list[str]:
        return [str(i["key"]) for i in self._built(context)]

    def body_for(self, context: Context, offered: list[str]) -> str:
        built = "\n".join(
            f"- {md_code(i['key'])} {md_code(i['build_id'])}: "
            + ", ".join(md_text(r) for r in i.get("rpms", []))
            for i in self._built(context)
        )
        return (
            f"**Built** (all proposed):\n\n{built}\n\nThe chosen ones are signed with the "
            "`updraft_gpg` key and land in the landing repo. "
            f"{NOGO} signs and lands nothing."
        )


class BuildParametersGate(RecordedGate, HITLOperator):
    """Seed 004's "how to serve special cases - some parameters (kernel)": one form field
    per chosen request whose policy says `ask_parameters`, its `build:` pre-filled and
    editable ({"defines": {...}, "with": [...], "without": [...], "extra_args": [...]}).
    Skipped when no chosen request asks."""

    gate_kind = "build_parameters"

    def __init__(
        self, *, chosen_task_id: str = "chosen", **kwargs: Any
    ) -> None:
        kwargs.setdefault("subject", "Build parameters for the special cases of this batch")
        kwargs.setdefault("options", ["Build with these parameters", NOGO])
        super().__init__(**kwargs)
        self.chosen_task_id = chosen_task_id

    def _asking(self, context: Context) -> dict[str, dict[str, Any]]:
        chosen = context["ti"].xcom_pull(task_ids=self.chosen_task_id) or []
        return {r["name"]: r.get("defaults") or {} for r in chosen if r.get("ask_parameters")}

    def _set_params(self, asking: dict[str, dict[str, Any]]) -> None:
        self.params = ParamsDict(
            {
                **{name: Param(defaults, type="object",
                               description=f"build options of {name} (its policy's, editable)")
                   for name, defaults in asking.items()},
                "comment": comment_param(),
            }
        )

    def execute(self, context: Context) -> Any:
        asking = self._asking(context)
        if not asking:
            raise AirflowSkipException("no chosen request asks special parameters")
        config = distribution.load(self.config_path)
        self.assigned_users = assignees(config, "packagers")
        self._set_params(asking)
        self.body = (
            "Special parameters (seed 004 question 5), pre-filled from the "
            "policies:\n\n" + md_fence(json.dumps(asking, indent=1, sort_keys=True))
        )
        self.record_question(context, self.assigned_users, self.body, family=", ".join(asking),
                             config=config)
        self.defaults = [NOGO] if self.defaults == [REJECT] else [self.options[0]]
        return super().execute(context)

    def timeout_choice(self, context: Context, outcome: str) -> list[str]:
        return [NOGO] if outcome == REJECT else [self.options[0]]

    def recorded_form(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        # The answered parameters are what the builds read (operators.batch): the ledger
        # keeps them, never trusted from an XCom; the comment stays the person's words.
        return {name: value for name, value in (event.get("params_input") or {}).items()
                if name != "comment"}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self._set_params(self._asking(context))
        result = super().execute_complete(context, event)
        if NOGO in (event.get("chosen_options") or []):
            raise AirflowSkipException(f"NoGo by {_who(event)}: nothing of this batch is built")
        return result

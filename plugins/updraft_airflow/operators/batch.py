"""Operators of build_batch (issue 17 §2) and the handover task of upstream_sync.

upstream_sync's `handover` turns the landing's build requests into one event of the
`updraft://build-requests` asset; build_batch, scheduled on it, asks "Start building?",
builds the chosen ones (mapped, one task per family), mails one builder report, asks
"Sign?" for the batch, signs (mapped, on the sign queue) and lands. Every gated step
reads its gate's answer from the ledger (gate_record.required), never from an XCom.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft.errors import UpdraftError
from updraft_airflow import distribution
from updraft_airflow.assets import BUILD_REQUESTS
from updraft_airflow.build_gates import NOGO
from updraft_airflow.gate_record import ledger_url, required
from updraft_airflow.operators.base import MailingOperator, UpdraftOperator
from updraft_airflow.operators.build import BuildLandOperator, SignOperator, _overrides


def _listed(value: Any) -> list[dict[str, Any]]:
    """A mapped task's XComs (a list), one XCom (a dict) or nothing, as a list."""
    if not value:
        return []
    if isinstance(value, dict):
        return [value]
    return [item for item in value if item]


class HandoverOperator(UpdraftOperator):
    """upstream_sync: the landing's new build requests out as one asset event (extra:
    {"requests": [...]}); skipped (no event) when there are none."""

    def __init__(self, *, land_task_id: str = "land", **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [BUILD_REQUESTS])
        super().__init__(**kwargs)
        self.land_task_id = land_task_id

    def run(self, context: Context) -> list[str]:
        requests = context["ti"].xcom_pull(task_ids=self.land_task_id, key="requests") or []
        if not requests:
            raise AirflowSkipException("no new build requests from this landing")
        context["outlet_events"][BUILD_REQUESTS].extra = {"requests": requests}
        for wanted in requests:
            self.log.info("build request: %s: %s", wanted["key"], wanted.get("reason", ""))
        return [str(wanted["key"]) for wanted in requests]


def batch_requests(
    params: dict[str, Any], triggering_asset_events: Any = None, config_path: str | None = None
) -> list[dict[str, Any]]:
    """The requests of this batch: the triggering events' (checked again: an event may
    come from the REST API), or `params.packages` for a batch started by hand."""
    from updraft.build.requests import BuildRequest, request

    config = distribution.load(config_path)
    found: dict[str, BuildRequest] = {}
    for events in (triggering_asset_events or {}).values():
        for event in events:
            for raw in (event.extra or {}).get("requests") or []:
                try:
                    wanted = BuildRequest.from_json(raw)
                    config.check_release(wanted.release)
                except (KeyError, ValueError, UpdraftError) as exc:
                    raise AirflowFailException(f"a build request was refused: {exc}") from exc
                # The policy decides what is asked, not the event.
                found.setdefault(
                    wanted.key,
                    request(
                        config,
                        wanted.release,
                        wanted.name,
                        wanted.nvr,
                        wanted.reason,
                        wanted.origin,
                    ),
                )
    release = str(params.get("release") or next(iter(config.releases)))
    for nvr in params.get("packages") or []:
        name = str(nvr).rsplit("-", 2)[0]
        wanted = request(config, config.check_release(release), name, str(nvr), "asked by hand")
        found.setdefault(wanted.key, wanted)
    if not found:
        raise AirflowSkipException("no build requests: nothing to ask")
    return [wanted.to_json() | {"key": wanted.key} for wanted in found.values()]


def chosen_requests(
    ti: Any,
    config_path: str | None = None,
    gate_task_id: str = "start_gate",
    requests_task_id: str = "requests",
) -> list[dict[str, Any]]:
    """The requests the recorded answer of "Start building?" kept."""
    context = cast("Context", {"ti": ti})  # what `required` reads of a task's context
    decision = required(context, config_path, gate_task_id, option=None)
    if NOGO in decision.chosen:
        raise AirflowSkipException(f"NoGo by {decision.by}: nothing is built")
    offered = ti.xcom_pull(task_ids=requests_task_id) or []
    return [r for r in offered if r["key"] in decision.chosen]


def planned_builds(
    ti: Any,
    config_path: str | None = None,
    chosen_task_id: str = "chosen",
    gate_task_id: str = "parameters_gate",
) -> list[dict[str, Any]]:
    """expand_kwargs of `build`: each chosen request with the parameters answered at the
    special-parameters gate (when one was asked), else its policy's."""
    from updraft import gate

    chosen = ti.xcom_pull(task_ids=chosen_task_id) or []
    answers: dict[str, Any] = {}
    if any(r.get("ask_parameters") for r in chosen):
        run = distribution.trigger_of(ti)
        decision = gate.require(ledger_url(config_path, {"ti": ti}), run, gate_task_id, None)
        if NOGO in decision.chosen:
            raise AirflowSkipException(f"NoGo by {decision.by}: nothing is built")
        answers = decision.form
    if not chosen:
        raise AirflowSkipException("nothing chosen")
    return [{"request": r, "overrides": answers.get(r["name"], {})} for r in chosen]


class BatchBuildOperator(UpdraftOperator):
    """One chosen request through the builders (mapped: one task per family). A failed
    build does not fail the task: the batch's report says what broke, with its log."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "request", "overrides")
    ui_color = "#fbeee6"

    def __init__(self, *, request: Any, overrides: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request, self.overrides = request, overrides

    def run(self, context: Context) -> dict[str, object]:
        from updraft.build.batch import build_one
        from updraft.build.requests import BuildRequest

        required(context, self.config_path, "start_gate", option=str(self.request["key"]))
        wanted = BuildRequest.from_json(dict(self.request))
        engine = self.engine(context)
        item = build_one(
            engine,
            wanted,
            _overrides(self.overrides),
            run=f"{context['ti'].run_id}-{wanted.name}",
            on_line=lambda line: self.log.info("%s", line),
        )
        item.link = getattr(context["ti"], "log_url", "") or ""
        self.log.info("%s: %s %s", item.key, item.state, item.error or "")
        return item.to_json()


class BatchReportOperator(MailingOperator):
    """Notification 2 for the whole batch: built, failed (log tail, link), not started."""

    def __init__(self, *, build_task_id: str = "build", **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.build_task_id = build_task_id

    def run(self, context: Context) -> dict[str, object]:
        from updraft.build.batch import BatchItem, batch_report_mail

        items = [
            BatchItem.from_json(raw)
            for raw in _listed(context["ti"].xcom_pull(task_ids=self.build_task_id))
        ]
        if not items:
            raise AirflowSkipException("nothing was built in this batch: no report")
        config = self.config()
        mail = batch_report_mail(config, items)
        self.log.info("builder report:\n%s", mail.get_content())
        self.mail(config, mail)
        return {
            "built": [i.key for i in items if i.built],
            "failed": [i.key for i in items if not i.built],
        }


def to_sign(
    ti: Any,
    config_path: str | None = None,
    gate_task_id: str = "sign_gate",
    build_task_id: str = "build",
) -> list[str]:
    """The build ids the recorded "Sign?" answer chose."""
    decision = required({"ti": ti}, config_path, gate_task_id, option=None)
    if NOGO in decision.chosen:
        raise AirflowSkipException(f"NoGo by {decision.by}: nothing is signed")
    return [
        str(i["build_id"])
        for i in _listed(ti.xcom_pull(task_ids=build_task_id))
        if i.get("state") == "built" and i["key"] in decision.chosen
    ]


class BatchSignOperator(SignOperator):
    """One chosen build signed (mapped over to_sign's build ids, queue `sign`)."""

    def execute(self, context: Context) -> dict[str, object]:
        from updraft.build.package_build import PackageBuild

        if str(self.build_id) not in to_sign(context["ti"], self.config_path, self.gate_task_id):
            raise AirflowFailException(f"{self.build_id} was not chosen at {self.gate_task_id}")
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            build = PackageBuild.resume(engine, str(self.build_id))
            report = build.sign(self._key(), lambda line: self.log.info("%s", line))
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        return {"build_id": str(self.build_id), "signed": [p.name for p in report.signed]}


class BatchLandOperator(BuildLandOperator):
    """Every signed build of the batch into the landing repo, one after the other (pool
    `repo_tree`); the publication steps follow for all of them."""

    def __init__(self, *, sign_task_id: str = "sign", **kwargs: Any) -> None:
        kwargs.setdefault("build_id", "")
        super().__init__(**kwargs)
        self.sign_task_id = sign_task_id

    def execute(self, context: Context) -> list[str]:
        from updraft.build.package_build import PackageBuild

        signed = [
            str(s["build_id"]) for s in _listed(context["ti"].xcom_pull(task_ids=self.sign_task_id))
        ]
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        unpublished: list[str] = []
        summary: dict[str, object] = {}
        for build_id in signed:
            try:
                result = PackageBuild.resume(engine, build_id).land()
            except UpdraftError as exc:
                raise AirflowFailException(f"{build_id}: {exc}") from exc
            for action in result.plan.actions:
                self.log.info("%s", action.detail())
            unpublished += [t.label for t in result.unpublished if t.label not in unpublished]
            if result.report_file or not summary:
                summary = result.summary()
        if not signed:
            raise AirflowSkipException("nothing was signed")
        # `report_file` and `plan_id` by key too: the publication steps read them.
        self.push_summary(context, summary)
        return unpublished

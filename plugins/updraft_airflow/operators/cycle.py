"""RepoPromoteOperator: plan, or plan and apply, an update cycle or one promotion."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from updraft.errors import ConfigError, PackageNotFound, PlanChanged
from updraft_airflow import distribution
from updraft_airflow.gate_record import required

log = logging.getLogger(__name__)


def optional_param(value: object) -> str | None:
    """A templated param: None, "" and "None" all mean "not given"."""
    if value is None or str(value).strip() in ("", "None"):
        return None
    return str(value).strip()


def flag_param(value: object) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1", "yes")


class RepoPromoteOperator(BaseOperator):
    """Plans a cycle of the repository engine; with `apply=True` also applies it.

    Without `package` it is the update cycle (seed 000's script); with `package` and
    `target` it is a promotion (the seed's `cp` into the next repo). Planning changes
    nothing and takes no lock. Applying takes the tree lock, journals every step, marks
    the changed arch dirs for RepodataOperator and writes the Repository Update report.

    Planning returns the cycle's summary (XCom): counts, families, the plan digest and
    a preview of the report. Applying returns the arch dirs (`9/smetest/i386`) whose
    repodata awaits RepodataOperator, so it can be mapped over, and pushes the summary,
    with the report file, as XCom `summary`.

    A promotion into a repo whose config names an `approval` role is applied only on an
    Approve that `gate_task_id` recorded in the ledger for this run (never on its XCom),
    and only if the plan is still the one it showed the approver (its digest). A
    promotion plans and applies its family's actions only: other pending work is left
    to the cycle.
    """

    scoped_promotion = True

    template_fields: Sequence[str] = ("release", "package", "target", "dry_run", "config_path")
    ui_color = "#e8f1fb"

    def __init__(self, *, apply: bool = False, release: str | None = None,
                 package: str | None = None, target: str | None = None,
                 dry_run: bool | str = False, config_path: str | None = None,
                 plan_task_id: str = "plan", gate_task_id: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apply = apply
        self.release = release
        self.package = package
        self.target = target
        self.dry_run = dry_run
        self.config_path = config_path
        self.plan_task_id = plan_task_id
        self.gate_task_id = gate_task_id

    def execute(self, context: Any) -> dict[str, object] | list[str]:
        try:
            return self._cycle(context)
        except (ConfigError, PackageNotFound, PlanChanged) as exc:
            raise AirflowFailException(str(exc)) from exc  # a retry would say the same

    def _cycle(self, context: Any) -> dict[str, object] | list[str]:
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        release = optional_param(self.release)
        releases = [release] if release else None
        intents = self._promotion(engine, context)
        scoped = intents is not None and self.scoped_promotion
        if not self.apply or flag_param(self.dry_run):
            # What a Go would apply: the family's actions, into the gated repo too.
            result = engine.preview(releases, intents, grant=True, scoped=scoped)
            self._log_done(intents)
            self._log(result)
            return result.summary()
        approved, granted = self._authorise(context, engine.config)
        result = engine.apply(releases, intents, approved=approved, grant=granted,
                              scoped=scoped)
        self._log_done(intents)  # a retry: done, its repodata pending
        self._log(result)
        context["ti"].xcom_push(key="summary", value=result.summary())
        return [target.label for target in result.unpublished]

    def _promotion(self, engine: Any, context: Any) -> Any:
        package = optional_param(self.package)
        if package is None:
            return None
        from updraft.engine.promote import Promotion

        target = optional_param(self.target)
        if target is None:
            raise AirflowFailException(f"promoting {package}: no target repo given")
        return Promotion(engine.layout, package, target, optional_param(self.release))

    def _authorise(self, context: Any, config: Any) -> tuple[str | None, bool]:
        """(the digest of the plan a human approved, whether the promotion may enter a
        gated repo), from the decision the gate recorded in the ledger for this run."""
        target = optional_param(self.target)
        if target is None or not config.approvers(target):
            return None, True  # no gated target: nothing needs a Go
        role = config.repos[target].approval
        if self.gate_task_id is None:
            raise AirflowFailException(f"promotion into {target} needs a Go from {role}, and "
                                       f"task {self.task_id} has no gate: nothing was moved")
        decision = required(context, self.config_path, self.gate_task_id)
        self.log.info("approved by %s at %s: plan %s (the ledger's record of %s)",
                      decision.by, decision.at, decision.digest[:12], self.gate_task_id)
        return decision.digest, True

    def _log_done(self, intents: Any) -> None:
        """A promotion found already done says so (other intent sources have no word)."""
        already = getattr(intents, "already", None)
        if already:
            self.log.info("%s", already)

    def _log(self, result: Any) -> None:
        for plan_id in result.resumed:
            self.log.warning("finished plan %s left by an interrupted run", plan_id)
        if result.nothing_to_do:
            self.log.info("nothing to do")
            return
        for action in result.plan.actions:
            self.log.info("%s", action.detail())
        self.log.info("Repository Update report:\n%s", result.report)
        for failure in result.failures:
            self.log.error("not applied: %s", failure)
        if result.unpublished:
            self.log.info("repodata to publish: %s",
                          ", ".join(target.label for target in result.unpublished))


def anything_to_do(ti: Any, params: dict[str, Any], plan_task_id: str = "plan") -> bool:
    """ShortCircuitOperator callable: go on only when the plan has work and is not a dry run."""
    summary = ti.xcom_pull(task_ids=plan_task_id) or {}
    if flag_param(params.get("dry_run", False)):
        log.info("dry run: the plan is in the log of task %s", plan_task_id)
        return False
    if summary.get("nothing_to_do", True):
        log.info("nothing to do: the tree is consistent and every repodata is published")
        return False
    return True


def held_requests(ti: Any, apply_task_id: str = "apply") -> list[dict[str, str]]:
    """PythonOperator callable: one promote run's conf per family the cycle held at a
    gated repo (its Go/NoGo request, answered at that run's gate)."""
    summary = ti.xcom_pull(task_ids=apply_task_id, key="summary") or {}
    requests = [dict(request) for request in summary.get("held") or []]
    for request in requests:
        log.info("held: %s in %s (release %s): asking the promote DAG for a Go",
                 request["package"], request["target"], request["release"])
    return requests


class CycleVerdictOperator(BaseOperator):
    """Fails the run when a family could not be applied, after the rest was published.

    The engine applies what it can (a failed family keeps all its files); this task
    makes the run red so nobody mistakes a partial cycle for a whole one.
    """

    template_fields: Sequence[str] = ("apply_task_id",)

    def __init__(self, *, apply_task_id: str = "apply", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apply_task_id = apply_task_id

    def execute(self, context: Any) -> None:
        summary = context["ti"].xcom_pull(task_ids=self.apply_task_id, key="summary") or {}
        failures = list(summary.get("failures") or [])
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise AirflowFailException(f"not applied: {failures[0]}{more}; those families kept "
                                       "their files and the next cycle tries again")
        self.log.info("applied %s actions, no failures", summary.get("applied", 0))

"""The update cycle and a promotion as two steps: RepoPlanOperator, then RepoApplyOperator."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import params
from updraft_airflow.gate_record import required
from updraft_airflow.operators.base import UpdraftOperator, mapped_errors
from updraft_airflow.operators.cycle_log import log_cycle

if TYPE_CHECKING:
    from updraft.config.dist import DistConfig
    from updraft.engine.cycle import CycleResult, IntentSource
    from updraft.engine.engine import Engine

log = logging.getLogger(__name__)


class _RepoCycleOperator(UpdraftOperator):
    """What both steps decide alike: the release, and the promotion if any.

    Without `package` it is the update cycle (seed 000's script); with `package` and
    `target` it is a promotion (the seed's `cp` into the next repo), which plans and
    applies its family's actions only: other pending work is left to the cycle.
    """

    scoped_promotion = True
    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release", "package",
                                      "target")
    ui_color = "#e8f1fb"

    def __init__(self, *, release: str | None = None, package: str | None = None,
                 target: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release, self.package, self.target = release, package, target

    def _releases(self) -> list[str] | None:
        release = params.optional(self.release, "release")
        return [release] if release else None

    def _promotion(self, engine: Engine, context: Context) -> IntentSource | None:
        package = params.optional(self.package, "package")
        if package is None:
            return None
        from updraft.engine.promote import Promotion

        target = params.optional(self.target, "target")
        if target is None:
            raise AirflowFailException(f"promoting {package}: no target repo given")
        return Promotion(engine.layout, package, target, params.optional(self.release))

    def _preview(self, engine: Engine, intents: IntentSource | None) -> CycleResult:
        # What a Go would apply: the family's actions, into the gated repo too.
        scoped = intents is not None and self.scoped_promotion
        result = engine.preview(self._releases(), intents, grant=True, scoped=scoped)
        _log_already(self, intents)
        log_cycle(self.log, result)
        return result


def _log_already(operator: BaseOperator, intents: object) -> None:
    """A promotion found already done says so (other intent sources have no word)."""
    already = getattr(intents, "already", None)
    if already:
        operator.log.info("%s", already)


class RepoPlanOperator(_RepoCycleOperator):
    """Plans a cycle or a promotion: moves nothing.

    Returns the cycle's summary (XCom): counts, families, the plan digest (what a Go
    approves) and a preview of the report. Every action is in the log with its reason.
    A cycle (not a dry run) that finds a release consistent with no settled mark saying
    so marks it, under the tree lock: the apply step that would is skipped when there
    is nothing to do, and unmarked, the release would be planned in full every cycle.
    """

    def run(self, context: Context) -> dict[str, object]:
        from updraft.errors import LockTimeout

        engine = self.engine(context)
        intents = self._promotion(engine, context)
        result = self._preview(engine, intents)
        dry_run = params.flag((context.get("params") or {}).get("dry_run", False), "dry_run")
        if intents is None and result.unmarked and not dry_run:
            try:
                engine.settle(result.unmarked)
                self.log.info("consistent, now marked settled: release %s",
                              ", ".join(result.unmarked))
            except LockTimeout as exc:  # a writer is at work: it will mark them itself
                self.log.warning("settled marks left to the next cycle: %s", exc)
        return result.summary()


class RepoApplyOperator(_RepoCycleOperator):
    """Applies a cycle or a promotion under the tree lock, journaled; marks the changed
    arch dirs for RepodataOperator and writes the Repository Update report.

    Returns the arch dirs (`9/smetest/i386`) whose repodata awaits RepodataOperator, so
    it can be mapped over, and pushes `summary`, `report_file` and `plan_id` (XCom).
    With `dry_run` it only previews, like RepoPlanOperator.

    A promotion into a repo whose config names an `approval` role is applied only on an
    Approve that `gate_task_id` recorded in the ledger for this run (never on its XCom),
    and only if the plan is still the one it showed the approver (its digest).
    """

    template_fields: Sequence[str] = (*_RepoCycleOperator.template_fields, "plan_only")

    def __init__(self, *, dry_run: bool | str = False, plan_task_id: str = "plan",
                 gate_task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan_only = dry_run  # not `dry_run`: BaseOperator.dry_run() is a method
        self.plan_task_id = plan_task_id
        self.gate_task_id = gate_task_id

    def run(self, context: Context) -> dict[str, object] | list[str]:
        engine = self.engine(context)
        intents = self._promotion(engine, context)
        if params.flag(self.plan_only, "dry_run"):
            return self._preview(engine, intents).summary()
        approved, granted = self._authorise(context, engine.config)
        scoped = intents is not None and self.scoped_promotion
        result = engine.apply(self._releases(), intents, approved=approved, grant=granted,
                              scoped=scoped)
        _log_already(self, intents)  # a retry: done, its repodata pending
        log_cycle(self.log, result)
        return self.push_cycle(context, result)

    def _authorise(self, context: Context, config: DistConfig) -> tuple[str | None, bool]:
        """(the digest of the plan a human approved, whether the promotion may enter a
        gated repo), from the decision the gate recorded in the ledger for this run."""
        target = params.optional(self.target, "target")
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



@mapped_errors
def anything_to_do(ti: Any, params: dict[str, Any], plan_task_id: str = "plan") -> bool:
    """ShortCircuitOperator callable: go on only when the plan has work and is not a dry run."""
    from updraft_airflow.params import flag

    summary = ti.xcom_pull(task_ids=plan_task_id) or {}
    if flag(params.get("dry_run", False), "dry_run"):
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

    def execute(self, context: Context) -> None:
        summary = context["ti"].xcom_pull(task_ids=self.apply_task_id, key="summary") or {}
        failures = list(summary.get("failures") or [])
        if failures:
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise AirflowFailException(f"not applied: {failures[0]}{more}; those families kept "
                                       "their files and the next cycle tries again")
        self.log.info("applied %s actions, no failures", summary.get("applied", 0))


class AskGoOperator(TriggerDagRunOperator):
    """One `promote` run per family the cycle held at a gated repo (mapped over the `held`
    step's confs): each waits at its Go/NoGo, so a `cp` into smeupdates asks and the
    release managers answer."""

    def __init__(self, *, trigger_dag_id: str = "promote", **kwargs: Any) -> None:
        super().__init__(trigger_dag_id=trigger_dag_id, **kwargs)

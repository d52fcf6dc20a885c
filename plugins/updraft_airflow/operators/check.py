"""TreeCheckOperator: `updraft check` at the end of a cycle; red when the tree is unhealthy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import params
from updraft_airflow.operators.base import UpdraftOperator

_SHOWN = 20  # problems named in the failure itself; the log has every one


class TreeCheckOperator(UpdraftOperator):
    """Runs the read-only health check of the tree (updraft/check.py) under the tree lock.

    Every problem goes to the task log, one line each; any problem fails the task at
    once (AirflowFailException: a check says the same until something changes) so the
    run shows red. Only a wait for the tree lock that timed out is retried.
    Returns {"healthy", "files", "problems"} as XCom.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release")
    ui_color = "#f3efe0"

    def __init__(self, *, release: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 2)
        kwargs.setdefault("retry_delay", timedelta(minutes=1))
        super().__init__(**kwargs)
        self.release = release

    def run(self, context: Context) -> dict[str, object]:
        from updraft.engine.check import check

        release = params.optional(self.release, "release")
        health = check(self.engine(context), [release] if release else None)
        for line in health.lines():
            self.log.error("%s", line)
        if not health.healthy:
            lines = health.lines()
            more = f" (and {len(lines) - _SHOWN} more in the log)" if len(lines) > _SHOWN else ""
            raise AirflowFailException(
                f"the tree is unhealthy, {len(lines)} problem(s): " + "; ".join(lines[:_SHOWN])
                + more + ". `updraft check --repair` applies the engine's plan")
        self.log.info("healthy: %d package files checked (%s)", health.files, ", ".join(
            f"{name} {seconds:.3f} s" for name, seconds in health.timings.items()))
        return {"healthy": True, "files": health.files, "problems": []}

"""TreeCheckOperator: `updraft check` at the end of a cycle; red when the tree is unhealthy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import distribution
from updraft_airflow.operators.cycle import optional_param

_SHOWN = 20  # problems named in the failure itself; the log has every one


class TreeCheckOperator(BaseOperator):
    """Runs the read-only health check of the tree (updraft/check.py) under the tree lock.

    Every problem goes to the task log, one line each; any problem fails the task at
    once (AirflowFailException: a check says the same until something changes) so the
    run shows red. Only a wait for the tree lock that timed out is retried.
    Returns {"healthy", "files", "problems"} as XCom.
    """

    template_fields: Sequence[str] = ("release", "config_path")
    ui_color = "#f3efe0"

    def __init__(self, *, release: str | None = None, config_path: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("retries", 2)
        kwargs.setdefault("retry_delay", timedelta(minutes=1))
        super().__init__(**kwargs)
        self.release = release
        self.config_path = config_path

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.engine.check import check

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        release = optional_param(self.release)
        health = check(engine, [release] if release else None)
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

"""MirrorSyncSensor: seed 000's "Wait for the mirrors to sync, and then email the
release notes", deferred to the triggerer (no worker slot is held while waiting)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowSkipException

from updraft_airflow import params
from updraft_airflow.operators.base import UpdraftOperator
from updraft_airflow.triggers import MirrorSyncTrigger


class MirrorSyncSensor(UpdraftOperator, BaseSensorOperator):
    """Waits until every `release.mirrors` URL serves the target repo's repomd.xml
    revision of each arch dir the release changed; fails after `release.mirror_timeout`
    (nothing is announced, no bug is closed: re-run the task once the mirrors caught up)."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release")

    def __init__(self, *, release: str, advisory_task_id: str = "advisory",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.advisory_task_id = advisory_task_id

    def run(self, context: Context) -> None:
        from updraft.release.mirrors import master_revisions

        updates = context["ti"].xcom_pull(task_ids=self.advisory_task_id) or []
        if not updates:
            raise AirflowSkipException("nothing was released")
        engine = self.engine(context)
        settings = engine.config.release
        if not settings.mirrors:
            self.log.info("release.mirrors is empty: no mirror to wait for")
            return
        release = params.required(self.release, "release")
        archdirs = sorted({f["archdir"] for u in updates for f in u["files"]} - {"SRPMS"})
        masters = master_revisions(engine.layout, release, settings.target, archdirs)
        self.log.info("waiting for %d mirrors to carry %s", len(settings.mirrors), masters)
        self.defer(trigger=MirrorSyncTrigger(
            list(settings.mirrors), release, settings.target, masters,
            settings.mirror_poll, time.time() + settings.mirror_timeout,
            config_path=self.config_path, record=True),
            method_name="execute_complete",
            timeout=timedelta(seconds=settings.mirror_timeout + settings.mirror_poll * 2))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[str]:
        for line in event.get("lines", []):
            self.log.info("%s", line)
        if event.get("status") != "synced":
            raise AirflowException("mirrors still behind after release.mirror_timeout: "
                                   + "; ".join(event.get("lines", [])[:3]))
        return list(event.get("lines", []))

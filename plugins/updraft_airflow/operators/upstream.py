"""Operators of upstream_sync: mirror one source (mapped), then land what is newer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from updraft.errors import ConfigError
from updraft_airflow import distribution
from updraft_airflow.operators.cycle import flag_param, optional_param
from updraft_airflow.operators.mail import send


def upstream_sources(params: dict[str, Any], config_path: str | None = None) -> list[dict]:
    """The (release, source) pairs to mirror, as expand_kwargs() wants them."""
    config = distribution.load(config_path)
    release = optional_param(params.get("release"))
    releases = [config.check_release(release)] if release else list(config.releases)
    return [{"release": r, "source": source.name}
            for r in releases for source in config.upstream_sources(r)]


class UpstreamMirrorOperator(BaseOperator):
    """Mirrors one upstream source: metadata, downloads, verification (seed 004 steps 1-2).

    Writes only the source's mirror directory, so every source runs in parallel; the
    tree is changed by UpstreamLandOperator. The source's state is `mirroring` in the
    ledger while this runs. Packages that fail their tests are quarantined, recorded as
    `test failed` and mailed ("md5 or pgp key was corrupted"). A source that cannot be
    synced whole (half-mirrored, unreachable) fails this task; the others land anyway.
    """

    template_fields: Sequence[str] = ("release", "source", "dry_run", "config_path")
    ui_color = "#eef6e8"

    def __init__(self, *, release: str, source: str, dry_run: bool | str = False,
                 config_path: str | None = None, smtp_conn_id: str = "updraft_smtp",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.source = source
        self.dry_run = dry_run
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.upstream.notices import rejection_mail
        from updraft.upstream.sync import UpstreamSync

        try:
            engine = distribution.engine(self.config_path, distribution.run_trigger(context))
            manifest = UpstreamSync(engine).mirror(str(self.release), str(self.source),
                                                   flag_param(self.dry_run))
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from exc
        for line in manifest.planned + manifest.skipped:
            self.log.info("%s", line)
        for rejection in manifest.rejected:
            self.log.error("test failed: %s", rejection.line())
        message = rejection_mail(engine.config, manifest)
        if message is not None and send(engine.config, message, self.smtp_conn_id):
            self.log.info("mailed %r", message["Subject"])
        if not manifest.synced:
            raise AirflowFailException(f"{self.source} ({self.release}): {manifest.status}: "
                                       f"{manifest.reason}")
        return manifest.summary()


class UpstreamLandOperator(BaseOperator):
    """Lands what the synced sources offer, under the tree lock (pool `repo_tree`).

    Decides again against the tree as it is now (priorities across sources, pins,
    local builds, couplings), copies the verified files into smetest / smedev, runs the
    cycle's own plan, links upstream advisories in the ledger and mails "security update
    waiting" for each security advisory landed in smetest. Returns the arch dirs whose
    repodata awaits RepodataOperator and pushes the cycle summary as XCom `summary`.
    """

    template_fields: Sequence[str] = ("release", "dry_run", "config_path")
    ui_color = "#e8f1fb"

    def __init__(self, *, release: str | None = None, dry_run: bool | str = False,
                 config_path: str | None = None, smtp_conn_id: str = "updraft_smtp",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.dry_run = dry_run
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Any) -> list[str]:
        from updraft.upstream.notices import security_mail
        from updraft.upstream.sync import UpstreamSync

        ti = context["ti"]
        if flag_param(self.dry_run):
            self.log.info("dry run: what would land is in the log of each mirror task")
            ti.xcom_push(key="summary", value={"nothing_to_do": True, "dry_run": True})
            return []
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        release = optional_param(self.release)
        landed = UpstreamSync(engine).land([release] if release else None)
        result = landed.result
        for action in result.plan.actions:
            self.log.info("%s", action.detail())
        if result.report_file:
            self.log.info("Repository Update report:\n%s", result.report)
        else:
            self.log.info("nothing to land")
        for failure in result.failures:
            self.log.error("not applied: %s", failure)
        ti.xcom_push(key="summary", value=result.summary())
        ti.xcom_push(key="security", value=[
            {**asdict(link), "at": link.at.isoformat()} for link in landed.security])
        ti.xcom_push(key="requests", value=[r.to_json() | {"key": r.key}
                                             for r in landed.requests])
        for message in security_mail(engine.config, landed.security):
            if send(engine.config, message, self.smtp_conn_id):
                self.log.info("mailed %r", message["Subject"])
        return [target.label for target in result.unpublished]


def every_source_synced(ti: Any, sources_task_id: str = "sources",
                        mirror_task_id: str = "mirror") -> None:
    """The run's last word: red when a source could not be synced whole, after the
    others landed and published (a mirror task's failure alone would not fail the run)."""
    wanted = ti.xcom_pull(task_ids=sources_task_id) or []
    synced = [s for s in ti.xcom_pull(task_ids=mirror_task_id) or [] if s]
    if len(synced) < len(wanted):
        done = {(s["release"], s["source"]) for s in synced}
        missing = [f"{w['source']} ({w['release']})" for w in wanted
                   if (w["release"], w["source"]) not in done]
        raise AirflowFailException(f"not synced this run: {', '.join(missing)}; see the "
                                   "mirror tasks' logs; nothing of them landed")

"""Operators of upstream_sync: mirror one source (mapped), then land what is newer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from updraft_airflow import distribution, params
from updraft_airflow.operators.base import UpdraftOperator, mapped_errors
from updraft_airflow.operators.cycle_log import log_cycle
from updraft_airflow.operators.mail import send


@mapped_errors
def upstream_sources(params: dict[str, Any], config_path: str | None = None) -> list[dict]:
    """The (release, source) pairs to mirror, as expand_kwargs() wants them."""
    from updraft_airflow.params import optional

    config = distribution.load(config_path)
    release = optional(params.get("release"), "release")
    releases = [config.check_release(release)] if release else list(config.releases)
    return [{"release": r, "source": source.name}
            for r in releases for source in config.upstream_sources(r)]


class UpstreamMirrorOperator(UpdraftOperator):
    """Mirrors one upstream source: metadata, downloads, verification (seed 004 steps 1-2).

    Writes only the source's mirror directory, so every source runs in parallel; the
    tree is changed by UpstreamLandOperator. The source's state is `mirroring` in the
    ledger while this runs. Packages that fail their tests are quarantined, recorded as
    `test failed` and mailed ("md5 or pgp key was corrupted"). A source that cannot be
    synced whole (half-mirrored, unreachable) fails this task; the others land anyway.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release", "source",
                                      "plan_only")
    ui_color = "#eef6e8"

    def __init__(self, *, release: str, source: str, dry_run: bool | str = False,
                 smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.source = source
        self.plan_only = dry_run  # not `dry_run`: BaseOperator.dry_run() is a method
        self.smtp_conn_id = smtp_conn_id

    def run(self, context: Context) -> dict[str, object]:
        from updraft.upstream.notices import rejection_mail
        from updraft.upstream.sync import UpstreamSync

        engine = self.engine(context)
        manifest = UpstreamSync(engine).mirror(params.required(self.release, "release"),
                                               params.required(self.source, "source"),
                                               params.flag(self.plan_only, "dry_run"))
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


class UpstreamLandOperator(UpdraftOperator):
    """Lands what the synced sources offer, under the tree lock (pool `repo_tree`).

    Decides again against the tree as it is now (priorities across sources, pins,
    local builds, couplings), copies the verified files into smetest / smedev, runs the
    cycle's own plan, links upstream advisories in the ledger and mails "security update
    waiting" for each security advisory landed in smetest. Returns the arch dirs whose
    repodata awaits RepodataOperator and pushes the cycle summary as XCom `summary`.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release", "plan_only")
    ui_color = "#e8f1fb"

    def __init__(self, *, release: str | None = None, dry_run: bool | str = False,
                 smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.plan_only = dry_run  # not `dry_run`: BaseOperator.dry_run() is a method
        self.smtp_conn_id = smtp_conn_id

    def run(self, context: Context) -> list[str]:
        from updraft.upstream.notices import security_mail
        from updraft.upstream.sync import UpstreamSync

        if params.flag(self.plan_only, "dry_run"):
            self.log.info("dry run: what would land is in the log of each mirror task")
            self.push_summary(context, {"nothing_to_do": True, "dry_run": True})
            return []
        engine = self.engine(context)
        release = params.optional(self.release, "release")
        landed = UpstreamSync(engine).land([release] if release else None)
        log_cycle(self.log, landed.result)
        context["ti"].xcom_push(key="security", value=[
            {**asdict(link), "at": link.at.isoformat()} for link in landed.security])
        context["ti"].xcom_push(key="requests", value=[r.to_json() | {"key": r.key}
                                             for r in landed.requests])
        for message in security_mail(engine.config, landed.security):
            if send(engine.config, message, self.smtp_conn_id):
                self.log.info("mailed %r", message["Subject"])
        return self.push_cycle(context, landed.result)


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

"""Batch: the builds one "Start building?" answer started (issue 17 §2, seed 004
steps 4-5), and their one builder report (notification 2).

`build_one` runs one request through PackageBuild (verify, rebase, every planned arch)
and never raises for a failed build: the batch goes on and the report says what broke.
`batch_report_mail` covers the whole batch: built (waiting for Sign?), failed (with the
log tail and a link to the task's log), not started (refused input, patch no longer
applies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

from jinja2 import StrictUndefined

from updraft.build.builder_report import _recipients
from updraft.build.package_build import PackageBuild
from updraft.build.requests import BuildRequest
from updraft.config.build import BuildOptions
from updraft.config.dist import DistConfig
from updraft.engine.engine import Engine
from updraft.engine.policy import policies_for
from updraft.errors import UpdraftError
from updraft.mail import compose, list_tag
from updraft.markup import environment

_ENV = environment(undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass
class BatchItem:
    """One request's build, as small as an XCom must be."""

    key: str
    name: str
    release: str
    nvr: str = ""
    build_id: str = ""
    state: str = "not started"  # built (unsigned), failed, not started
    rpms: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # arch -> reason
    tail: str = ""  # the end of the first failing build.log
    error: str = ""  # why it did not start
    link: str = ""  # the task's log in the Airflow UI

    @property
    def built(self) -> bool:
        return self.state == "built"

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> BatchItem:
        return cls(**raw)  # type: ignore[arg-type]


def build_one(
    engine: Engine,
    wanted: BuildRequest,
    overrides: BuildOptions | None = None,
    run: str | None = None,
    on_line: object = None,
) -> BatchItem:
    item = BatchItem(wanted.key, wanted.name, wanted.release)
    try:
        build = PackageBuild.start(engine, wanted.nvr, wanted.release, overrides=overrides, run=run)
        item.build_id, item.nvr = build.record.build_id, build.record.nvr
        build.prepare()
        item.nvr = build.record.nvr
        for job in build.plan().jobs:
            build.build_arch(job.archdir, on_line)  # type: ignore[arg-type]
        conclusion = build.conclude()
    except UpdraftError as exc:  # refused input, a patch that no longer applies, ...
        item.error = str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__
        return item
    tail_lines = engine.config.build.log_tail
    if conclusion.ok:
        item.state, item.rpms = "built", [path.name for path in conclusion.rpms]
    else:
        item.state = "failed"
        item.failed = {a: o.reason for a, o in conclusion.outcomes.items() if not o.ok}
        item.failed.update(
            {
                job.archdir: "no result from the builder"
                for job in build.plan().jobs
                if job.archdir not in conclusion.outcomes
            }
        )
        broken = next((o for o in conclusion.outcomes.values() if not o.ok), None)
        item.tail = broken.tail(tail_lines) if broken else ""
    return item


def batch_report_mail(config: DistConfig, items: Sequence[BatchItem]) -> EmailMessage:
    built = [item for item in items if item.built]
    failed = [item for item in items if item.state == "failed"]
    not_started = [item for item in items if item.state == "not started"]
    releases = sorted({item.release for item in items})
    label = ", ".join(f"{config.prefix}{release}" for release in releases)
    body = _ENV.get_template("batch_report.txt.j2").render(
        label=label,
        built=built,
        failed=failed,
        not_started=not_started,
        tail_lines=config.build.log_tail,
        destination=config.landing.upstream_updates,
    )
    verdict = (
        f"{len(built)} built"
        + (f", {len(failed)} FAILED" if failed else "")
        + (f", {len(not_started)} not started" if not_started else "")
    )
    subject = f"{list_tag(config)}Builder report: {verdict} ({label})"
    notify = [
        a for item in items for p in policies_for(config, item.name).matched for a in p.notify
    ]
    return compose(config, subject, body, to=_recipients(config.report.recipients, notify))

"""Notices: the builder report (seed 004, notification 2) and the owners' mail when a
rebase's patch no longer applies (seed 000)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage

from jinja2 import StrictUndefined

from updraft.build.backend import BuildOutcome
from updraft.config.dist import DistConfig
from updraft.mail import compose, list_tag
from updraft.markup import environment

_ENV = environment(undefined=StrictUndefined, keep_trailing_newline=True)


def build_report_mail(config: DistConfig, *, build_id: str, release: str, nvr: str,
                      outcomes: Mapping[str, BuildOutcome], skipped: Sequence[str] = (),
                      notify: Sequence[str] = (), destination: str = "") -> EmailMessage:
    """Success or failure, per arch; a failure quotes the end of its build.log."""
    ok = bool(outcomes) and all(outcome.ok for outcome in outcomes.values())
    label = f"{config.prefix}{release}"
    tail_lines = config.build.log_tail
    rows = {arch: {"ok": outcome.ok, "reason": outcome.reason, "rpms": outcome.rpms,
                   "rpm_names": [path.name for path in outcome.rpms],
                   "tail": "" if outcome.ok else outcome.tail(tail_lines)}
            for arch, outcome in outcomes.items()}
    backend = next((o.backend for o in outcomes.values()), config.build.backend)
    body = _ENV.get_template("build_report.txt.j2").render(
        ok=ok, nvr=nvr, label=label, build_id=build_id, backend=backend, outcomes=rows,
        skipped=skipped, tail_lines=tail_lines,
        destination=destination or config.landing.upstream_updates)
    verdict = "Build succeeded" if ok else "Build FAILED"
    subject = f"{list_tag(config)}{verdict}: {nvr} ({label})"
    return compose(config, subject, body, to=_recipients(config.report.recipients, notify))


def rebase_failed_mail(config: DistConfig, *, release: str, srpm: str, patch: str,
                       hunk: str, log: str, owners: Sequence[str], against: str = "sources",
                       tool: str = "rpmbuild -bp") -> EmailMessage:
    """To the policy's owners (the report's list when the policy names none); `against`
    is "spec" for a spec patch (seed 000's samba.spec.patch)."""
    label = f"{config.prefix}{release}"
    body = _ENV.get_template("rebase_failed.txt.j2").render(
        srpm=srpm, label=label, patch=patch, hunk=hunk.rstrip("\n"), log=log.rstrip("\n"),
        patches_dir=config.resolve_path(config.build.patches_dir), against=against, tool=tool)
    subject = f"{list_tag(config)}Rebase failed: {srpm}: {patch} no longer applies ({label})"
    return compose(config, subject, body, to=list(owners) or list(config.report.recipients))


def _recipients(*groups: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(address for group in groups for address in group))

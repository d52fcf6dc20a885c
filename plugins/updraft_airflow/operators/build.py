"""Operators of build_package: verify and prepare, build per arch, report, sign, land.

Each adapts one step of updraft.build.package_build.PackageBuild; the build's workspace
(under the state dir) carries the files from task to task, XCom only the build id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft.errors import UpdraftError
from updraft_airflow import distribution
from updraft_airflow.gate_record import required
from updraft_airflow.operators.cycle import optional_param
from updraft_airflow.operators.mail import send

if TYPE_CHECKING:
    from updraft.ledger.gates import Decision

BUILD_ID = "{{ ti.xcom_pull(task_ids='verify')['build_id'] }}"


def _list_param(value: object) -> list[str]:
    """A list param, or one given as text ("x86_64, i386")."""
    if value is None or value == "None":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", " ").split() if part.strip()]
    return [str(part) for part in value]  # type: ignore[union-attr]


def _overrides(value: object) -> Any:
    from updraft.config.build import BuildOptions

    if isinstance(value, str):
        value = json.loads(value) if value.strip() not in ("", "None") else {}
    try:
        return BuildOptions.model_validate(value or {})
    except ValueError as exc:
        raise AirflowFailException(f"params.overrides: {exc}".splitlines()[0]) from exc


class BuildInputOperator(BaseOperator):
    """Seed 004 step 2 for a build: find and verify the SRPM, plan the builders, and
    rebase-and-repatch it when a policy says so (seed 000's initscripts/samba/anaconda).

    A patch that no longer applies fails the task (no retry: a human must refresh the
    patch) with the rejected hunk in the log, and mails the policy's owners. Returns
    the build id, the plan and the arch dirs to build.
    """

    template_fields: Sequence[str] = ("package", "release", "arches", "overrides", "bug")
    ui_color = "#fdf2e3"

    def __init__(self, *, package: str, release: str, arches: object = None,
                 overrides: object = None, bug: object = None,
                 config_path: str | None = None, smtp_conn_id: str = "updraft_smtp",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package, self.release, self.arches = package, release, arches
        self.overrides, self.bug = overrides, bug
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.build.builder_report import rebase_failed_mail
        from updraft.build.package_build import PackageBuild
        from updraft.build.rebase import PatchFailed

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            build = PackageBuild.start(
                engine, str(self.package), str(self.release), arches=_list_param(self.arches),
                overrides=_overrides(self.overrides), bug=optional_param(self.bug) or "",
                run=context["ti"].run_id)
            for line in build.record.plan:
                self.log.info("%s", line)
            build.prepare()
        except PatchFailed as exc:
            self.log.error("%s\n--- rejected hunk ---\n%s\n--- %s ---\n%s",
                           exc, exc.hunk, exc.tool, exc.log)
            plan = build.plan()
            message = rebase_failed_mail(
                engine.config, release=build.record.release, srpm=build.srpm.name,
                patch=exc.patch, hunk=exc.hunk, log=exc.log, owners=plan.owners,
                against=exc.against, tool=exc.tool)
            if send(engine.config, message, self.smtp_conn_id):
                self.log.info("mailed %r to %s", message["Subject"], message["To"])
            raise AirflowFailException(str(exc)) from exc
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        plan = build.plan()
        return {"build_id": build.record.build_id, "nvr": build.record.nvr,
                "srpm": build.srpm.name, "plan": build.record.plan,
                "arches": [job.archdir for job in plan.jobs]}


def gated_step(context: Any, config_path: str | None, gate_task_id: str, role: str,
               option: str | None = "Approve") -> Decision | None:
    """Proceed only on the answer the gate recorded in the ledger for this run (a role
    listing nobody is not asked: the gate let the build through without a question)."""
    if not getattr(distribution.load(config_path).roles, role):
        return None
    return required(context, config_path, gate_task_id, option)


class MockBuildOperator(BaseOperator):
    """One arch's build, on that arch's builder queue (`build-x86_64`) and pool; skipped
    when the run does not build that arch (not asked for, ExclusiveArch, noarch).

    Runs the configured backend (mock on production builders, rpmbuild where mock
    cannot run), streaming its output into this task's log. A failed build fails the
    task (red on the arch that broke); the report task mails it either way.
    """

    template_fields: Sequence[str] = ("build_id",)
    ui_color = "#fbeee6"

    def __init__(self, *, build_id: str, archdir: str, input_task_id: str = "verify",
                 gate_task_id: str = "build_gate", config_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.build_id, self.archdir = build_id, archdir
        self.input_task_id, self.gate_task_id = input_task_id, gate_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.build.package_build import PackageBuild

        planned = (context["ti"].xcom_pull(task_ids=self.input_task_id) or {}).get("arches")
        if self.archdir not in (planned or []):
            raise AirflowSkipException(f"this run builds {', '.join(planned or []) or 'nothing'}"
                                       f", not {self.archdir}")
        gated_step(context, self.config_path, self.gate_task_id, "packagers")
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            build = PackageBuild.resume(engine, str(self.build_id))
            outcome = build.build_arch(str(self.archdir), lambda line: self.log.info("%s", line))
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        self.log.info("%s: %s", " ".join(outcome.command), "ok" if outcome.ok else outcome.reason)
        if not outcome.ok:
            raise AirflowFailException(f"{self.archdir}: {outcome.reason}")
        for path in outcome.rpms:
            self.log.info("built %s", path.name)
        return outcome.to_dict()


class BuildReportOperator(BaseOperator):
    """Seed 004 step 5 / notification 2: the builder report, success or failure with the
    log tail, after every builder finished; fails the run when a build failed."""

    template_fields: Sequence[str] = ("build_id",)

    def __init__(self, *, build_id: str, gate_task_id: str = "build_gate",
                 config_path: str | None = None, smtp_conn_id: str = "updraft_smtp",
                 **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.build_id, self.gate_task_id = build_id, gate_task_id
        self.config_path = config_path
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.build.package_build import PackageBuild

        decision = gated_step(context, self.config_path, self.gate_task_id, "packagers",
                              option=None)
        if decision is not None and "Approve" not in decision.chosen:
            raise AirflowSkipException("the build was not approved: nothing to report")
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        build = PackageBuild.resume(engine, str(self.build_id))
        conclusion = build.conclude()
        self.log.info("builder report:\n%s", conclusion.mail.get_content())
        if send(engine.config, conclusion.mail, self.smtp_conn_id):
            self.log.info("mailed %r to %s", conclusion.mail["Subject"], conclusion.mail["To"])
        if not conclusion.ok:
            broken = [f"{arch}: {o.reason}" for arch, o in conclusion.outcomes.items() if not o.ok]
            raise AirflowFailException("build failed: " + ("; ".join(broken) or
                                                           "no builder reported a result"))
        return {"build_id": build.record.build_id, "rpms": [p.name for p in conclusion.rpms]}


class SignOperator(BaseOperator):
    """Seed 004 step 6: rpmsign every package with the key of the `updraft_gpg`
    connection (login: key id or fingerprint; password: the passphrase; extra:
    `gnupghome` or `secret_key`), then rpmkeys verifies each one. Runs on the `sign`
    queue: only the signing host holds the key. The passphrase is never logged."""

    template_fields: Sequence[str] = ("build_id",)
    ui_color = "#eae6fb"

    def __init__(self, *, build_id: str, gpg_conn_id: str = "updraft_gpg",
                 gate_task_id: str = "sign_gate", config_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.build_id, self.gpg_conn_id = build_id, gpg_conn_id
        self.gate_task_id = gate_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> dict[str, object]:
        from updraft.build.package_build import PackageBuild

        gated_step(context, self.config_path, self.gate_task_id, "signers")
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            build = PackageBuild.resume(engine, str(self.build_id))
            report = build.sign(self._key(), lambda line: self.log.info("%s", line))
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        for path in report.signed:
            self.log.info("signed and verified %s (key %s)", path.name, report.key_id)
        return {"fingerprint": report.fingerprint, "signed": [p.name for p in report.signed]}

    def _key(self) -> Any:
        from pathlib import Path

        from updraft.build.signing import SigningKey

        connection = BaseHook.get_connection(self.gpg_conn_id)
        extra = connection.extra_dejson
        if not connection.login:
            raise AirflowFailException(f"connection {self.gpg_conn_id}: set the login to the "
                                       "signing key's id or fingerprint")
        home = extra.get("gnupghome")
        return SigningKey(key_id=connection.login, passphrase=connection.password or "",
                          gnupghome=Path(home) if home else None,
                          secret_key=extra.get("secret_key"))


class BuildLandOperator(BaseOperator):
    """Seed 004 step 7: the signed packages into smetest (`signed/untested`), or smedev
    for a name never shipped and for subpackages we do not ship; the engine's own plan
    (retention, stage) follows under the same tree lock (pool `repo_tree`). Returns the
    arch dirs whose repodata awaits RepodataOperator, the summary as XCom `summary`."""

    template_fields: Sequence[str] = ("build_id",)
    ui_color = "#e8f1fb"

    def __init__(self, *, build_id: str, gate_task_id: str = "sign_gate",
                 config_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.build_id, self.gate_task_id = build_id, gate_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> list[str]:
        from updraft.build.package_build import PackageBuild

        gated_step(context, self.config_path, self.gate_task_id, "signers")
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            result = PackageBuild.resume(engine, str(self.build_id)).land()
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        for action in result.plan.actions:
            self.log.info("%s", action.detail())
        for failure in result.failures:
            self.log.error("not applied: %s", failure)
        context["ti"].xcom_push(key="summary", value=result.summary())
        return [target.label for target in result.unpublished]

"""Operators of build_package: verify and prepare, build per arch, report, sign, land.

Each adapts one step of updraft.build.package_build.PackageBuild; the build's workspace
(under the state dir) carries the files from task to task, XCom only the build id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft_airflow import params
from updraft_airflow.gate_record import required
from updraft_airflow.operators.base import UpdraftOperator
from updraft_airflow.operators.cycle_log import log_cycle
from updraft_airflow.operators.mail import send

if TYPE_CHECKING:
    from updraft.build.package_build import PackageBuild
    from updraft.build.signing import SigningKey
    from updraft.config.build import BuildOptions
    from updraft.ledger.gates import Decision


def _overrides(value: object) -> BuildOptions:
    from updraft.config.build import BuildOptions

    try:
        return BuildOptions.model_validate(params.json_object(value, "overrides"))
    except ValueError as exc:
        raise params.ParamError(f"param overrides: {exc}".splitlines()[0]) from exc


class BuildInputOperator(UpdraftOperator):
    """Seed 004 step 2 for a build: find and verify the SRPM, plan the builders, and
    rebase-and-repatch it when a policy says so (seed 000's initscripts/samba/anaconda).

    A patch that no longer applies fails the task (no retry: a human must refresh the
    patch) with the rejected hunk in the log, and mails the policy's owners. Returns
    the build id, the plan and the arch dirs to build.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "package", "release",
                                      "arches", "overrides", "bug")
    ui_color = "#fdf2e3"

    def __init__(self, *, package: str, release: str, arches: object = None,
                 overrides: object = None, bug: object = None,
                 smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package, self.release, self.arches = package, release, arches
        self.overrides, self.bug = overrides, bug
        self.smtp_conn_id = smtp_conn_id

    def run(self, context: Context) -> dict[str, object]:
        from updraft.build.builder_report import rebase_failed_mail
        from updraft.build.package_build import PackageBuild
        from updraft.build.rebase import PatchFailed

        engine = self.engine(context)
        try:
            build = PackageBuild.start(
                engine, params.required(self.package, "package"),
                params.required(self.release, "release"),
                arches=params.text_list(self.arches, "arches"),
                overrides=_overrides(self.overrides), bug=params.optional(self.bug, "bug") or "",
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
            raise
        plan = build.plan()
        # The build id by key too: the later steps take it as verify.output["build_id"].
        context["ti"].xcom_push(key="build_id", value=build.record.build_id)
        return {"build_id": build.record.build_id, "nvr": build.record.nvr,
                "srpm": build.srpm.name, "plan": build.record.plan,
                "arches": [job.archdir for job in plan.jobs]}


class _BuildStep(UpdraftOperator):
    """A step after verify: it resumes the build `build_id` behind the gate `gate_task_id`."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "build_id")

    def __init__(self, *, build_id: object, gate_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.build_id, self.gate_task_id = build_id, gate_task_id

    def gated(self, context: Context, role: str,
              option: str | None = "Approve") -> Decision | None:
        """Proceed only on the answer the gate recorded in the ledger for this run (a role
        listing nobody is not asked: the gate let the build through without a question)."""
        if not getattr(self.config().roles, role):
            return None
        return required(context, self.config_path, self.gate_task_id, option)

    def build(self, context: Context) -> PackageBuild:
        from updraft.build.package_build import PackageBuild

        return PackageBuild.resume(self.engine(context), params.required(self.build_id,
                                                                         "build_id"))


class MockBuildOperator(_BuildStep):
    """One arch's build, on that arch's builder queue (`build-x86_64`) and pool; skipped
    when the run does not build that arch (not asked for, ExclusiveArch, noarch).

    Runs the configured backend (mock on production builders, rpmbuild where mock
    cannot run), streaming its output into this task's log. A failed build fails the
    task (red on the arch that broke); the report task mails it either way.
    """

    ui_color = "#fbeee6"

    def __init__(self, *, archdir: str, input_task_id: str = "verify",
                 gate_task_id: str = "build_gate", **kwargs: Any) -> None:
        super().__init__(gate_task_id=gate_task_id, **kwargs)
        self.archdir, self.input_task_id = archdir, input_task_id

    def run(self, context: Context) -> dict[str, object]:
        planned = (context["ti"].xcom_pull(task_ids=self.input_task_id) or {}).get("arches")
        if self.archdir not in (planned or []):
            raise AirflowSkipException(f"this run builds {', '.join(planned or []) or 'nothing'}"
                                       f", not {self.archdir}")
        self.gated(context, "packagers")
        outcome = self.build(context).build_arch(self.archdir,
                                                 lambda line: self.log.info("%s", line))
        self.log.info("%s: %s", " ".join(outcome.command), "ok" if outcome.ok else outcome.reason)
        if not outcome.ok:
            raise AirflowFailException(f"{self.archdir}: {outcome.reason}")
        for path in outcome.rpms:
            self.log.info("built %s", path.name)
        return outcome.to_dict()


class BuildReportOperator(_BuildStep):
    """Seed 004 step 5 / notification 2: the builder report, success or failure with the
    log tail, after every builder finished; fails the run when a build failed."""

    def __init__(self, *, gate_task_id: str = "build_gate", smtp_conn_id: str = "updraft_smtp",
                 **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(gate_task_id=gate_task_id, **kwargs)
        self.smtp_conn_id = smtp_conn_id

    def run(self, context: Context) -> dict[str, object]:
        decision = self.gated(context, "packagers", option=None)
        if decision is not None and "Approve" not in decision.chosen:
            raise AirflowSkipException("the build was not approved: nothing to report")
        build = self.build(context)
        conclusion = build.conclude()
        self.log.info("builder report:\n%s", conclusion.mail.get_content())
        if send(build.engine.config, conclusion.mail, self.smtp_conn_id):
            self.log.info("mailed %r to %s", conclusion.mail["Subject"], conclusion.mail["To"])
        if not conclusion.ok:
            broken = [f"{arch}: {o.reason}" for arch, o in conclusion.outcomes.items() if not o.ok]
            raise AirflowFailException("build failed: " + ("; ".join(broken) or
                                                           "no builder reported a result"))
        return {"build_id": build.record.build_id, "rpms": [p.name for p in conclusion.rpms]}


class SignOperator(_BuildStep):
    """Seed 004 step 6: rpmsign every package with the key of the `updraft_gpg`
    connection (login: key id or fingerprint; password: the passphrase; extra:
    `gnupghome` or `secret_key`), then rpmkeys verifies each one. Runs on the `sign`
    queue: only the signing host holds the key. The passphrase is never logged."""

    ui_color = "#eae6fb"

    def __init__(self, *, gpg_conn_id: str = "updraft_gpg", gate_task_id: str = "sign_gate",
                 **kwargs: Any) -> None:
        super().__init__(gate_task_id=gate_task_id, **kwargs)
        self.gpg_conn_id = gpg_conn_id

    def run(self, context: Context) -> dict[str, object]:
        self.gated(context, "signers")
        report = self.build(context).sign(self._key(), lambda line: self.log.info("%s", line))
        for path in report.signed:
            self.log.info("signed and verified %s (key %s)", path.name, report.key_id)
        return {"fingerprint": report.fingerprint, "signed": [p.name for p in report.signed]}

    def _key(self) -> SigningKey:
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


class BuildLandOperator(_BuildStep):
    """Seed 004 step 7: the signed packages into smetest (`signed/untested`), or smedev
    for a name never shipped and for subpackages we do not ship; the engine's own plan
    (retention, stage) follows under the same tree lock (pool `repo_tree`). Returns the
    arch dirs whose repodata awaits RepodataOperator, the summary as XCom `summary`."""

    ui_color = "#e8f1fb"

    def __init__(self, *, gate_task_id: str = "sign_gate", **kwargs: Any) -> None:
        super().__init__(gate_task_id=gate_task_id, **kwargs)

    def run(self, context: Context) -> list[str]:
        self.gated(context, "signers")
        result = self.build(context).land()
        log_cycle(self.log, result)
        return self.push_cycle(context, result)

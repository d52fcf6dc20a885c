"""Operators of build_iso (seed 002): freeze, stage, preflight, the mock chroot steps,
publish and thaw. Each adapts one step of updraft.iso.run.IsoRun; the ISO tree and the
images stay on disk, XCom carries summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft_airflow import params
from updraft_airflow.gate_record import required
from updraft_airflow.operators.base import UpdraftOperator
from updraft_airflow.operators.cycle_log import log_cycle

if TYPE_CHECKING:
    from updraft.iso.run import IsoRun


class IsoStepOperator(UpdraftOperator):
    """Base: which ISO (release, version, arches) this run builds; a step implements
    `step(run, context)` over the IsoRun of the library."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release", "version",
                                      "arches")
    ui_color = "#e8f0fe"

    def __init__(self, *, release: str = "{{ params.release }}",
                 version: str = "{{ params.version }}", arches: object = "{{ params.arches }}",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release, self.version, self.arches = release, version, arches

    def iso_run(self, context: Context) -> IsoRun:
        from updraft.iso.run import IsoRun

        return IsoRun.of(self.engine(context), params.required(self.release, "release"),
                         params.required(self.version, "version"),
                         params.text_list(self.arches, "arches"))

    def run(self, context: Context) -> Any:
        return self.step(self.iso_run(context), context)

    def step(self, run: IsoRun, context: Context) -> Any:
        raise NotImplementedError


class IsoFreezeOperator(IsoStepOperator):
    """Seed 002: hold promotions into smeupdates-testing while the ISO builds."""

    def step(self, run: IsoRun, context: Context) -> dict[str, object]:
        flag = run.freeze()
        self.log.info("%s", flag.reason())
        return {"repos": list(flag.repos), "holder": flag.holder, "since": flag.since}


class IsoThawOperator(IsoStepOperator):
    """Lift the freeze, whatever the run's outcome (a teardown task)."""

    def step(self, run: IsoRun, context: Context) -> dict[str, object]:
        lifted = run.thaw()
        self.log.info("freeze %s", "lifted" if lifted else "was not set")
        return {"lifted": lifted is not None}


class IsoStageOperator(IsoStepOperator):
    """The engine refreshes the stage; the ISO tree is laid out from it."""

    def step(self, run: IsoRun, context: Context) -> dict[str, object]:
        cycle, summary = run.stage()
        log_cycle(self.log, cycle)
        for line in summary.lines():
            self.log.info("%s", line)
        if not cycle.ok:
            raise AirflowFailException(f"the stage refresh could not apply: {cycle.failures[0]}")
        return summary.to_dict()


class IsoPreflightOperator(IsoStepOperator):
    """Every check of seed 002 at once; fails with the full list of problems."""

    def step(self, run: IsoRun, context: Context) -> dict[str, object]:
        report = run.preflight()
        for line in report.lines():
            self.log.info("%s", line)
        if not report.ok:
            raise AirflowFailException(
                f"preflight found {len(report.problems)} problems:\n"
                + "\n".join(f.line() for f in report.problems))
        return report.to_dict()


class MockChrootOperator(IsoStepOperator):
    """A build step in the release's ISO mock chroot (`mock -r <release>-<arch>-iso
    --init`, then `--chroot` the step with `--cwd` the stage), or on this host with the
    local backend. The installer step skips itself when anaconda and the cdrom.image
    content are unchanged since the last installer (content hash)."""

    template_fields: Sequence[str] = (*IsoStepOperator.template_fields, "force")

    def __init__(self, *, build_step: str, backend: str | None = None, mock: str = "mock",
                 force: object = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if build_step not in ("installer", "iso"):
            raise ValueError(f"build_step {build_step!r}: installer or iso")
        self.build_step, self.backend, self.mock, self.force = build_step, backend, mock, force

    def step(self, run: IsoRun, context: Context) -> Any:
        def sink(line: str) -> None:
            self.log.info("%s", line)

        if self.build_step == "installer":
            decisions = run.installer_decisions(params.flag(self.force, "force_installer"))
            for decision in decisions:
                self.log.info("installer %s: %s (%s)", decision.arch,
                              "rebuild" if decision.rebuild else "unchanged", decision.reason)
            run.build_installer(decisions, sink, self.backend, self.mock)
            if not any(decision.rebuild for decision in decisions):
                raise AirflowSkipException("installer inputs unchanged: only the ISO is built")
            return [decision.to_dict() for decision in decisions]
        return [image.to_dict() for image in run.build_iso(sink, self.backend, self.mock)]


class IsoPublishOperator(IsoStepOperator):
    """Seed 002's "Dev access to release ISO", every step in the ledger (the release
    manager's approval first)."""

    def __init__(self, *, approve_task_id: str = "approve", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.approve_task_id = approve_task_id

    def step(self, run: IsoRun, context: Context) -> list[str]:
        # The answer the gate recorded in the ledger for this run, never its XCom.
        decision = required(context, self.config_path, self.approve_task_id)
        run.record("approve", detail=f"{', '.join(decision.chosen)} by {decision.by} at "
                                     f"{decision.at.isoformat()}")
        steps = run.publish(lambda line: self.log.info("%s", line))
        return [step.line() for step in steps]

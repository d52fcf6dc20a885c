"""One ISO build's steps, shared by `updraft iso ...` and the build_iso DAG's operators.

Every step is recorded in the ledger (iso_steps) with how it went.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.iso import chroot, freeze, installer, publish
from updraft.iso.freeze import Freeze
from updraft.iso.image import Image
from updraft.iso.preflight import PreflightReport, preflight
from updraft.iso.stage import StageSummary, compose
from updraft.iso.target import IsoTarget
from updraft.ledger.isos import record_step

LineSink = Callable[[str], None]


def _quiet(line: str) -> None:
    return None


@dataclass
class IsoRun:
    engine: Engine
    target: IsoTarget

    @classmethod
    def of(cls, engine: Engine, release: str, version: str,
           arches: Sequence[str] | None = None) -> IsoRun:
        return cls(engine, IsoTarget.of(engine.layout, str(release), str(version),
                                        list(arches) if arches else None))

    def record(self, step: str, outcome: str = "done", detail: str = "") -> None:
        record_step(self.engine.layout.ledger_url, self.target.release, self.target.version,
                    self.engine.trigger, step, outcome, detail)

    def freeze(self) -> Freeze:
        flag = freeze.freeze(self.engine.layout, self.target.release, self.target.version,
                             self.engine.trigger)
        self.record("freeze", detail=", ".join(flag.repos))
        return flag

    def thaw(self, outcome: str = "done") -> Freeze | None:
        lifted = freeze.thaw(self.engine.layout, self.target.release)
        self.record("thaw", outcome, "lifted" if lifted else "no freeze was set")
        return lifted

    def stage(self) -> tuple[CycleResult, StageSummary]:
        """The engine refreshes the stage (one update cycle of the release), then the ISO
        tree is laid out from it."""
        cycle = self.engine.update_repos([self.target.release])
        summary = compose(self.target)
        self.record("stage", detail="; ".join(summary.lines()))
        return cycle, summary

    def preflight(self) -> PreflightReport:
        report = preflight(self.target)
        self.record("preflight", "done" if report.ok else "failed",
                     "\n".join(report.lines()))
        return report

    def installer_decisions(self, force: bool = False) -> list[installer.InstallerDecision]:
        return [installer.decide(self.target, arch, force) for arch in self.target.arches]

    def build_installer(self, decisions: list[installer.InstallerDecision], sink: LineSink,
                        backend: str | None = None, mock: str = "mock") -> None:
        wanted = [d for d in decisions if d.rebuild]
        for decision in decisions:
            if not decision.rebuild:
                self.record(f"installer:{decision.arch}", "skipped", decision.reason)
        if not wanted:
            return
        try:
            chroot.run_step(self.target, "installer", sink, backend, wanted, mock)
        except Exception as exc:
            self.record("installer", "failed", str(exc))
            raise
        for decision in wanted:
            self.record(f"installer:{decision.arch}", detail=decision.reason)

    def build_iso(self, sink: LineSink, backend: str | None = None,
                  mock: str = "mock") -> list[Image]:
        try:
            images = chroot.run_step(self.target, "iso", sink, backend, mock=mock)
        except Exception as exc:
            self.record("iso", "failed", str(exc))
            raise
        self.record("iso", detail="; ".join(f"{i.iso.name} sha256 {i.sha256}" for i in images))
        return images

    def publish_plan(self) -> list[publish.PublishStep]:
        return publish.plan_publish(self.target)

    def publish(self, sink: LineSink = _quiet) -> list[publish.PublishStep]:
        """Under the tree lock: nothing else writes the tree while versions switch."""
        from updraft.engine.lock import tree_lock

        layout = self.engine.layout
        with tree_lock(layout.state_dir, layout.config.lock_timeout, self.engine.trigger):
            steps = publish.plan_publish(self.target)
            publish.apply_publish(self.target, steps, self.engine.trigger, sink)
        return steps

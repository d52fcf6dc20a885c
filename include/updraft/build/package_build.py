"""PackageBuild: one SRPM through seed 004's steps 2-7, for the CLI and the DAG alike.

start (verify the input, plan) -> prepare (rebase-and-repatch when a policy says so) ->
build_arch (one builder each) -> conclude (states, report mail) -> sign -> land. Each
step reads and writes the build's workspace, so steps may run in different processes
and on different hosts sharing the state dir.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from updraft.build.backend import BuildJob, BuildOutcome, backend_for
from updraft.build.builder_report import build_report_mail
from updraft.build.destination import deduplicated, land_build
from updraft.build.rebase import BuildRoot, RebaseRecipe, rebase
from updraft.build.signing import Signer, SigningKey, SignReport
from updraft.build.source import (
    BuildPlan,
    SourcePackage,
    find_srpm,
    plan_build,
    read_source,
)
from updraft.build.workspace import BuildRecord, Workspace, build_id_for
from updraft.config.build import BuildOptions
from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.errors import UpdraftError
from updraft.ledger.builds import BuildStates

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Conclusion:
    ok: bool
    outcomes: dict[str, BuildOutcome]
    rpms: list[Path]  # deduplicated, when ok
    mail: EmailMessage


class PackageBuild:
    def __init__(self, engine: Engine, workspace: Workspace, record: BuildRecord) -> None:
        self.engine = engine
        self.workspace = workspace
        self.record = record
        self._source: SourcePackage | None = None  # read once per SRPM and process

    @classmethod
    def start(cls, engine: Engine, requested: str, release: str, *,
              arches: Sequence[str] = (), overrides: BuildOptions | None = None,
              bug: str = "", run: str | None = None) -> PackageBuild:
        """Find and verify the SRPM, take a private copy, plan, record `waiting`."""
        release = engine.config.check_release(release)
        found = find_srpm(requested, engine.layout, release)
        source = read_source(found)
        options = overrides or BuildOptions()
        plan_build(source, engine.config, release, arches, options)  # refuse early
        workspace = Workspace.create(engine.layout, build_id_for(source.nvr, run))
        record = BuildRecord(
            build_id=workspace.root.name, release=release, requested=requested,
            srpm=str(workspace.take_input(found)), nvr=source.nvr, arches=list(arches),
            overrides=options.model_dump(by_alias=True), bug=bug)
        build = cls(engine, workspace, record)
        build._source = replace(source, path=Path(record.srpm))  # the copy: same bytes
        record.plan = build.plan().lines()
        workspace.save(record)
        BuildStates(engine.layout, release, source).waiting()
        return build

    @classmethod
    def resume(cls, engine: Engine, build_id: str) -> PackageBuild:
        workspace = Workspace.open(engine.layout, build_id)
        return cls(engine, workspace, workspace.load())

    @property
    def srpm(self) -> Path:
        return Path(self.record.srpm)

    def plan(self) -> BuildPlan:
        """Pure once the SRPM is read: every step asks, the SRPM is hashed once."""
        if self._source is None or self._source.path != self.srpm:
            self._source = read_source(self.srpm)
        options = BuildOptions.model_validate(self.record.overrides)
        return plan_build(self._source, self.engine.config, self.record.release,
                          self.record.arches, options)

    def prepare(self, when: date | None = None) -> Path:
        """Seed 000's rebase-and-repatch when a policy asks for it; PatchFailed if one
        of our patches no longer applies (the caller mails the owners)."""
        plan = self.plan()
        if plan.rebase is None or self.srpm.parent == self.workspace.rebase_dir / "out":
            return self.srpm
        config = self.engine.config
        recipe = RebaseRecipe.from_settings(
            plan.rebase, config.resolve_path(config.build.patches_dir), config.build.packager,
            config.build.bug_label)
        # mock: -bs/-bp in the release's build root (an el6 spec needs el6's rpm)
        root = BuildRoot(plan.jobs[0].mock_config if config.build.backend == "mock" else None)
        rebased = rebase(self.srpm, recipe, self.workspace.rebase_dir, bug=self.record.bug or None,
                         when=when, dist=config.build.dist.get(self.record.release, ""),
                         root=root)
        log.info("rebased %s as %s", self.srpm.name, rebased.srpm.name)
        for note in rebased.notes:
            log.info("%s", note)
        self.record.srpm, self.record.nvr = str(rebased.srpm), rebased.srpm.name[:-8]
        self.record.plan = self.plan().lines() + [f"  rebase: {n}" for n in rebased.notes]
        self.workspace.save(self.record)
        return rebased.srpm

    def build_arch(self, archdir: str, on_line: Progress | None = None) -> BuildOutcome:
        plan = self.plan()
        job = next((job for job in plan.jobs if job.archdir == archdir), None)
        if job is None:
            raise UpdraftError(f"build {self.record.build_id} plans no build for {archdir} "
                               f"(it plans {', '.join(j.archdir for j in plan.jobs)})")
        config = self.engine.config
        states = BuildStates(self.engine.layout, self.record.release, plan.source)
        states.being_built(archdir)
        outcome = backend_for(config.build.backend).build(BuildJob(
            srpm=self.srpm, release=self.record.release, archdir=archdir, target=job.target,
            resultdir=self.workspace.result_dir(archdir), options=plan.options,
            mock_config=job.mock_config, dist=config.build.dist.get(self.record.release, ""),
            timeout=config.build.timeout, nodeps=config.build.nodeps), on_line)
        if not outcome.ok:
            states.build_failed(archdir, outcome.reason)
        self.workspace.outcome_file(archdir).write_text(json.dumps(outcome.to_dict()))
        return outcome

    def outcomes(self) -> dict[str, BuildOutcome]:
        """Every planned arch's outcome, in plan order; a missing one counts as failed."""
        found = {}
        for job in self.plan().jobs:
            path = self.workspace.outcome_file(job.archdir)
            if path.is_file():
                found[job.archdir] = BuildOutcome.from_dict(json.loads(path.read_text()))
        return found

    def conclude(self) -> Conclusion:
        """After every builder: the states and the builder report, success or failure."""
        plan = self.plan()
        outcomes = self.outcomes()
        missing = [job.archdir for job in plan.jobs if job.archdir not in outcomes]
        ok = not missing and all(outcome.ok for outcome in outcomes.values())
        rpms = deduplicated(o.rpms for o in outcomes.values()) if ok else []
        states = BuildStates(self.engine.layout, self.record.release, plan.source)
        if ok:
            states.unsigned(rpms)
        elif missing:
            states.build_failed(",".join(missing), "no result from the builder")
        self.record.state = "unsigned" if ok else "build failed"
        self.record.outcomes = {arch: o.to_dict() for arch, o in outcomes.items()}
        self.workspace.save(self.record)
        skipped = list(plan.skipped) + [f"{arch}: no result from the builder" for arch in missing]
        mail = build_report_mail(
            self.engine.config, build_id=self.record.build_id, release=self.record.release,
            nvr=self.record.nvr, outcomes=outcomes, skipped=skipped, notify=plan.notify,
            destination=plan.destination or "")
        return Conclusion(ok, outcomes, rpms, mail)

    def built(self) -> list[Path]:
        if self.record.state not in ("unsigned", "signed"):
            raise UpdraftError(f"build {self.record.build_id} is {self.record.state}: only "
                               "a successful build can be signed or landed")
        outcomes = [BuildOutcome.from_dict(raw) for raw in self.record.outcomes.values()]
        return deduplicated(o.rpms for o in outcomes)

    def sign(self, key: SigningKey, on_progress: Progress | None = None) -> SignReport:
        """rpmsign every built package and the SRPM; rpmkeys verifies each one after."""
        files = [*self.built(), self.srpm]
        with Signer(key, self.workspace.root / "sign") as signer:
            report = signer.sign(files, on_progress)
        self.record.state, self.record.signed_by = "signed", report.fingerprint
        self.workspace.save(self.record)
        return report

    def land(self) -> CycleResult:
        if self.record.state != "signed":
            raise UpdraftError(f"build {self.record.build_id} is {self.record.state}: sign "
                               f"it first (`updraft sign {self.record.build_id}`)")
        result = land_build(self.engine, self.record.release, self.srpm, self.built(),
                            self.plan().destination)
        self.record.landed_plan = result.plan_id or ""
        self.workspace.save(self.record)
        return result

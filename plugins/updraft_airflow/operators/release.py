"""Operators of release_updates: analyse, promote the chosen families, advisories, release
notes, bug closing and the final record (seed 000's release, seed 004 steps 8-10).

Each adapts one step of updraft.release.run.ReleaseRun (the facade `updraft release`
shares): the run keeps its analysis, the released families and the updates in its own
directory; XCom carries the analysis' path, the options and small summaries. Bugzilla
(python-bugzilla), rpm and createrepo_c are imported when a task runs, never when the
DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from updraft_airflow import run_note
from updraft_airflow.gate_record import required
from updraft_airflow.operators.base import UpdraftOperator
from updraft_airflow.operators.cycle import RepoApplyOperator
from updraft_airflow.operators.mail import send

if TYPE_CHECKING:
    from updraft.config.dist import DistConfig
    from updraft.engine.cycle import IntentSource
    from updraft.engine.engine import Engine
    from updraft.release.run import ReleaseRun
    from updraft.release.tracker import BugTracker

ANALYSE = "analyse"
GATE = "go_nogo"


def _tracker(conn_id: str) -> BugTracker:
    from updraft_airflow.hooks.bugzilla_hook import BugzillaHook  # python-bugzilla: task time only

    return BugzillaHook(conn_id).get_tracker()


def release_run(operator: UpdraftOperator, context: Context, release: str) -> ReleaseRun:
    """This DAG run's ReleaseRun: its files under state/release/runs/<dag>-<run>."""
    from updraft.release.run import ReleaseRun

    ti = context["ti"]
    return ReleaseRun.of(operator.engine(context), str(release), f"{ti.dag_id}-{ti.run_id}")


class ReleaseAnalysisOperator(UpdraftOperator):
    """Rnotes, computed: reads the tree and asks Bugzilla (one request per 500 bugs), then
    decides what may be released (soft dependencies, libsolv's hard dependencies).

    Keeps the analysis for this run (JSON) and returns the options for the Go/NoGo. If
    Bugzilla cannot be asked, the release board says so and the task fails: nothing is
    offered, nothing is released.
    """

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release")
    ui_color = "#eef7ee"

    def __init__(self, *, release: str, bugzilla_conn_id: str = "updraft_bugzilla",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.bugzilla_conn_id = bugzilla_conn_id

    def run(self, context: Context) -> dict[str, Any]:
        from updraft.release.choice import units

        run = release_run(self, context, self.release)
        analysis = run.analyse(_tracker(self.bugzilla_conn_id))
        if not analysis.tracker.reachable:
            # Fail closed, and loudly: a release manager re-runs once Bugzilla answers.
            raise AirflowFailException(f"Bugzilla could not be asked: "
                                       f"{analysis.tracker.error}; nothing is offered for "
                                       "release")
        # A coupled unit's families side by side, offered together (all or none).
        grouped = units(run.engine.config, analysis)
        offered = [name for unit in grouped for name in unit]
        self.log.info("%d of %d packages releasable; %d Bugzilla request(s) for %d bugs",
                      len(offered), len(analysis.packages), analysis.tracker.requests,
                      analysis.tracker.asked)
        return {"release": run.release, "analysis": str(run.analysis_file),
                "report": str(run.report_file), "options": offered,
                "units": [unit for unit in grouped if len(unit) > 1],
                "held": [{"name": p.name, "candidate": p.candidate, "releasable": p.releasable,
                          "why": [b.reason for b in p.blocked_by][:5],
                          "kinds": sorted({b.kind for b in p.blocked_by})}
                         for p in analysis.packages if p.releasable != p.candidate],
                "requests": analysis.tracker.requests}


class ReleaseReportOperator(UpdraftOperator):
    """The analysis as Rnotes: its text in this task's log, its HTML on the release board
    (the Go/NoGo links to it), and seed 004's `tested` in the ledger for every version
    whose bugs are all verified."""

    ui_color = "#eef7ee"

    def __init__(self, *, analysis_task_id: str = ANALYSE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.analysis_task_id = analysis_task_id

    def run(self, context: Context) -> dict[str, Any]:
        from updraft.release.rnotes import render

        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        run = release_run(self, context, analysed["release"])
        analysis = run.analysis()
        reported = run.report(analysis)
        self.log.info("release analysis:\n%s", render(analysis, "text", run.dist_name))
        self.log.info("%d packages newly `tested` (their bugs are verified); the report: "
                      "/updraft/release/%s (%s)", reported.tested, run.release,
                      reported.board["html"])
        return {"page": f"/updraft/release/{run.release}", "report": analysed["report"],
                "tested": reported.tested}


class ReleasePromoteOperator(RepoApplyOperator):
    """Moves the families the Go/NoGo chose into smeupdates through the engine (tree lock,
    journal, ledger: state `released`), as one plan; returns the arch dirs whose repodata
    awaits publishing. An answer that splits a fix between a chosen and an unchosen
    package releases nothing (updraft.release.choice)."""

    scoped_promotion = False  # the release moves what the gate chose, as one plan

    def __init__(self, *, gate_task_id: str = GATE, **kwargs: Any) -> None:
        super().__init__(gate_task_id=gate_task_id, **kwargs)

    def _promotion(self, engine: Engine, context: Context) -> IntentSource | None:
        # The answer the gate recorded in the ledger, never its XCom (issue 15).
        decision = required(context, self.config_path, self.gate_task_id or GATE, option=None)
        if decision.nogo or not decision.chosen:
            raise AirflowSkipException("the Go/NoGo was NoGo: nothing is released")
        from updraft.markup import md_text
        from updraft.release.choice import ChoiceError

        run = release_run(self, context, str(self.release))
        try:
            packages = run.decide(run.analysis(), list(decision.chosen), decision.by,
                                  str(self.gate_task_id))
        except ChoiceError as exc:  # a split fix or coupled unit: the run says why
            run_note.push(context, f"Nothing released: {md_text(str(exc))}")
            raise
        self.log.info("Go from %s for: %s", decision.by, ", ".join(decision.chosen))
        return run.intents(packages)

    def _authorise(self, context: Context, config: DistConfig) -> tuple[str | None, bool]:
        # The gate chose families, not a plan: each is resolved afresh. _promotion read
        # the recorded decision already (it runs first): the chosen families may enter.
        return None, True


class ReleaseStepOperator(UpdraftOperator):
    """A step after the promotion, on what this run's Go released. A missing record of
    an earlier step fails at once (a retry would say the same); Bugzilla or a repodata
    lock that did not answer is retried (updraft.errors.Transient)."""

    template_fields: Sequence[str] = (*UpdraftOperator.template_fields, "release")

    def __init__(self, *, release: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release

    def run(self, context: Context) -> Any:
        return self.step(release_run(self, context, self.release))

    def step(self, run: ReleaseRun) -> Any:
        raise NotImplementedError


class AdvisoryOperator(ReleaseStepOperator):
    """Seed 004 step 10: an advisory per released update (`SME-2026:7`, type from the
    bugs' keywords) in the ledger and in smeupdates' updateinfo, merged atomically."""

    def step(self, run: ReleaseRun) -> list[dict[str, Any]]:
        from updraft.release.run import ReleaseStepError

        try:
            packages = run.released()
        except ReleaseStepError:
            packages = []
        if not packages:
            raise AirflowSkipException("nothing was released")
        updates = run.advise(packages, run.analysis().bugs)
        for update in updates:
            self.log.info("%s %s (%s%s): %d files", update.advisory, update.nvr, update.type,
                          f", {update.severity}" if update.severity else "", len(update.files))
        return [update.to_json() for update in updates]  # the mirror sensor reads them


class ReleaseNotesOperator(ReleaseStepOperator):
    """Seed 000's release notes: one mail per update with bugs, one digest of the upstream
    packages, to `release.announce.to` through the `updraft_smtp` connection. A retry
    mails only what the ledger does not record as sent."""

    def __init__(self, *, smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.smtp_conn_id = smtp_conn_id

    def step(self, run: ReleaseRun) -> list[str]:
        config = run.engine.config
        subjects = run.announce(run.updates(),
                                lambda message: send(config, message, self.smtp_conn_id))
        for subject in subjects:
            self.log.info("mailed %r", subject)
        return subjects


class CloseBugsOperator(ReleaseStepOperator):
    """Seed 000's "Closing all bugs associated with released packages", with a comment
    naming the release and the advisory; a bug already closed is left alone."""

    def __init__(self, *, bugzilla_conn_id: str = "updraft_bugzilla", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bugzilla_conn_id = bugzilla_conn_id

    def step(self, run: ReleaseRun) -> list[int]:
        closed = run.close_bugs(run.updates(), _tracker(self.bugzilla_conn_id))
        self.log.info("closed %d bugs: %s", len(closed), ", ".join(map(str, closed)) or "none")
        return closed


class ReleaseRecordOperator(ReleaseStepOperator):
    """The ledger's last word: every released package is `released` in the target repo,
    and the upstream security advisories of the released families no longer wait."""

    def step(self, run: ReleaseRun) -> dict[str, Any]:
        recorded = run.record(run.updates())
        self.log.info("%d packages of %d updates released: %s", recorded.packages,
                      len(recorded.advisories), ", ".join(recorded.advisories))
        return {"advisories": recorded.advisories, "packages": recorded.packages}

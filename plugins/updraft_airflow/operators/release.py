"""Operators of release_updates: analyse, promote the chosen families, advisories, release
notes, bug closing and the final record (seed 000's release, seed 004 steps 8-10).

Each adapts one function of updraft.release; the analysis travels as a file in the
state dir (it can be large), XCom carries its path, the options and small summaries.
Bugzilla (python-bugzilla), rpm and createrepo_c are imported when a task runs, never
when the DAG file is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from updraft.errors import UpdraftError
from updraft_airflow import distribution
from updraft_airflow.gate_record import required
from updraft_airflow.operators.cycle import RepoPromoteOperator
from updraft_airflow.operators.mail import send

ANALYSE = "analyse"
GATE = "go_nogo"


def _tracker(conn_id: str) -> Any:
    from updraft_airflow.hooks.bugzilla_hook import BugzillaHook  # python-bugzilla: task time only

    return BugzillaHook(conn_id).get_tracker()


def load_analysis(path: str) -> Any:
    from updraft.release.analysis import Analysis

    return Analysis.from_json(json.loads(Path(path).read_text()))


def _run_dir(layout: Any, context: Any) -> Path:
    ti = context["ti"]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ti.run_id)
    return layout.state_dir / "release" / "runs" / f"{ti.dag_id}-{safe}"


class ReleaseAnalysisOperator(BaseOperator):
    """Rnotes, computed: reads the tree and asks Bugzilla (one request per 500 bugs), then
    decides what may be released (soft dependencies, libsolv's hard dependencies).

    Keeps the analysis for this run (JSON) and returns the options for the Go/NoGo. If
    Bugzilla cannot be asked, the release board says so and the task fails: nothing is
    offered, nothing is released.
    """

    template_fields: Sequence[str] = ("release", "config_path")
    ui_color = "#eef7ee"

    def __init__(self, *, release: str, config_path: str | None = None,
                 bugzilla_conn_id: str = "updraft_bugzilla", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.config_path = config_path
        self.bugzilla_conn_id = bugzilla_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from updraft.release.analysis import analyse
        from updraft.release.choice import options
        from updraft.release.rnotes import store

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        config = engine.config
        try:
            release = config.check_release(self.release)
            analysis = analyse(engine.layout, release, _tracker(self.bugzilla_conn_id))
        except UpdraftError as exc:
            raise AirflowFailException(str(exc)) from exc
        mine = store(analysis, _run_dir(engine.layout, context), config.name)
        if not analysis.tracker["reachable"]:
            store(analysis, engine.layout.state_dir / "release", config.name)  # the board
            # Fail closed, and loudly: a release manager re-runs once Bugzilla answers.
            raise AirflowFailException(f"Bugzilla could not be asked: "
                                       f"{analysis.tracker['error']}; nothing is offered for "
                                       "release")
        offered = options(analysis)
        self.log.info("%d of %d packages releasable; %d Bugzilla request(s) for %d bugs",
                      len(offered), len(analysis.packages), analysis.tracker["requests"],
                      analysis.tracker["asked"])
        return {"release": release, "analysis": str(mine["json"]), "report": str(mine["html"]),
                "options": offered,
                "held": [{"name": p["name"], "candidate": p["candidate"],
                          "releasable": p["releasable"],
                          "why": [b["reason"] for b in p["blocked_by"]][:5]}
                         for p in analysis.packages if p["releasable"] != p["candidate"]],
                "requests": analysis.tracker["requests"]}


class ReleaseReportOperator(BaseOperator):
    """The analysis as Rnotes: its text in this task's log, its HTML on the release board
    (the Go/NoGo links to it), and seed 004's `tested` in the ledger for every version
    whose bugs are all verified."""

    template_fields: Sequence[str] = ("config_path",)
    ui_color = "#eef7ee"

    def __init__(self, *, analysis_task_id: str = ANALYSE, config_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.analysis_task_id = analysis_task_id
        self.config_path = config_path

    def execute(self, context: Any) -> dict[str, Any]:
        from updraft.release.rnotes import render, store
        from updraft.release.verification import record_tested

        analysed = context["ti"].xcom_pull(task_ids=self.analysis_task_id) or {}
        analysis = load_analysis(analysed["analysis"])
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        board = store(analysis, engine.layout.state_dir / "release", engine.config.name)
        self.log.info("release analysis:\n%s", render(analysis, "text", engine.config.name))
        tested = record_tested(engine.layout, analysis)
        self.log.info("%d packages newly `tested` (their bugs are verified); the report: "
                      "/updraft/release/%s (%s)", tested, analysis.release, board["html"])
        return {"page": f"/updraft/release/{analysis.release}", "report": analysed["report"],
                "tested": tested}


class ReleasePromoteOperator(RepoPromoteOperator):
    """Moves the families the Go/NoGo chose into smeupdates through the engine (tree lock,
    journal, ledger: state `released`), as one plan; returns the arch dirs whose repodata
    awaits publishing. An answer that splits a fix between a chosen and an unchosen
    package releases nothing (updraft.release.choice)."""

    def __init__(self, *, analysis_task_id: str = ANALYSE, gate_task_id: str = GATE,
                 **kwargs: Any) -> None:
        super().__init__(apply=True, gate_task_id=gate_task_id, **kwargs)
        self.analysis_task_id = analysis_task_id

    def _promotion(self, engine: Any) -> Any:
        from updraft.ledger import Ledger
        from updraft.ledger.release import ReleaseRecords
        from updraft.release.choice import ReleaseIntents, resolve

        ti = self._context["ti"]
        analysed = ti.xcom_pull(task_ids=self.analysis_task_id) or {}
        # The answer the gate recorded in the ledger, never its XCom (issue 15).
        decision = required(self._context, self.config_path, self.gate_task_id, option=None)
        chosen = list(decision.chosen)
        if not chosen:
            raise AirflowSkipException("the Go/NoGo chose nothing: nothing is released")
        packages = resolve(load_analysis(analysed["analysis"]), chosen)
        who = decision.by
        ledger = Ledger.open(engine.layout.ledger_url)
        try:
            ReleaseRecords(ledger).record_decision(
                distribution.run_trigger(self._context), self.gate_task_id,
                analysed["release"], chosen, who, datetime.now(UTC))
        finally:
            ledger.close()
        self.log.info("Go from %s for: %s", who, ", ".join(chosen))
        ti.xcom_push(key="released", value=packages)
        return ReleaseIntents(engine.layout, analysed["release"], packages)

    def execute(self, context: Any) -> Any:
        self._context = context
        from updraft.release.choice import ChoiceError

        try:
            return super().execute(context)
        except ChoiceError as exc:
            raise AirflowFailException(str(exc)) from exc

    scoped_promotion = False  # the release moves what the gate chose, as one plan

    def _authorise(self, context: Any, config: Any) -> tuple[str | None, bool]:
        # The gate chose families, not a plan: each is resolved afresh. _promotion read
        # the recorded decision already (it runs first): the chosen families may enter.
        return None, True


class ReleaseStepOperator(BaseOperator):
    """A step after the promotion: it reads the updates the advisory step described."""

    template_fields: Sequence[str] = ("release", "config_path")

    def __init__(self, *, release: str, advisory_task_id: str = "advisory",
                 config_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release
        self.advisory_task_id = advisory_task_id
        self.config_path = config_path


class AdvisoryOperator(ReleaseStepOperator):
    """Seed 004 step 10: an advisory per released update (`SME-2026:7`, type from the
    bugs' keywords) in the ledger and in smeupdates' updateinfo, merged atomically."""

    def __init__(self, *, promote_task_id: str = "promote", analysis_task_id: str = ANALYSE,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.promote_task_id = promote_task_id
        self.analysis_task_id = analysis_task_id

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from updraft.release.advisory import issue

        ti = context["ti"]
        packages = ti.xcom_pull(task_ids=self.promote_task_id, key="released") or []
        if not packages:
            raise AirflowSkipException("nothing was released")
        analysis = load_analysis(ti.xcom_pull(task_ids=self.analysis_task_id)["analysis"])
        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        try:
            updates = issue(engine.layout, analysis.release, packages, analysis.bugs,
                            distribution.run_trigger(context))
        except UpdraftError as exc:
            raise AirflowException(str(exc)) from exc
        for update in updates:
            self.log.info("%s %s (%s%s): %d files", update.advisory, update.nvr, update.type,
                          f", {update.severity}" if update.severity else "", len(update.files))
        return [update.to_json() for update in updates]


def _updates(context: Any, task_id: str) -> list[Any]:
    from updraft.release.updates import Update

    return [Update.from_json(raw) for raw in
            context["ti"].xcom_pull(task_ids=task_id) or []]


def _mark(config_path: str | None, context: Any, ids: list[str], field: str) -> None:
    from updraft.ledger import Ledger
    from updraft.ledger.release import ReleaseRecords

    engine = distribution.engine(config_path, distribution.run_trigger(context))
    ledger = Ledger.open(engine.layout.ledger_url)
    try:
        ReleaseRecords(ledger).mark(ids, field, datetime.now(UTC))
    finally:
        ledger.close()


class ReleaseNotesOperator(ReleaseStepOperator):
    """Seed 000's release notes: one mail per update with bugs, one digest of the upstream
    packages, to `release.announce.to` through the `updraft_smtp` connection."""

    def __init__(self, *, smtp_conn_id: str = "updraft_smtp", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context: Any) -> list[str]:
        from updraft.release.notes import announcements

        config = distribution.load(self.config_path)
        updates = _updates(context, self.advisory_task_id)
        messages = announcements(config, config.check_release(self.release), updates)
        if not config.release.announce.to:
            self.log.warning("release.announce.to is empty: no release notes mailed")
            return []
        for message in messages:
            send(config, message, self.smtp_conn_id)
            self.log.info("mailed %r", message["Subject"])
        _mark(self.config_path, context, [u.advisory for u in updates], "notes_sent")
        return [str(message["Subject"]) for message in messages]


class CloseBugsOperator(ReleaseStepOperator):
    """Seed 000's "Closing all bugs associated with released packages", with a comment
    naming the release and the advisory; a bug already closed is left alone."""

    def __init__(self, *, bugzilla_conn_id: str = "updraft_bugzilla", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bugzilla_conn_id = bugzilla_conn_id

    def execute(self, context: Any) -> list[int]:
        from updraft.release.closing import close_bugs

        config = distribution.load(self.config_path)
        updates = _updates(context, self.advisory_task_id)
        try:
            closed = close_bugs(_tracker(self.bugzilla_conn_id), config,
                                config.check_release(self.release), updates)
        except UpdraftError as exc:
            raise AirflowException(str(exc)) from exc  # Bugzilla down: retried
        self.log.info("closed %d bugs: %s", len(closed), ", ".join(map(str, closed)) or "none")
        _mark(self.config_path, context, [u.advisory for u in updates if u.bugs],
              "bugs_closed")
        return closed


class ReleaseRecordOperator(ReleaseStepOperator):
    """The ledger's last word: every released package is `released` in the target repo,
    and the upstream security advisories of the released families no longer wait."""

    def execute(self, context: Any) -> dict[str, Any]:
        from updraft.ledger import Ledger
        from updraft.ledger.release import ReleaseRecords

        engine = distribution.engine(self.config_path, distribution.run_trigger(context))
        target = engine.config.release.target
        updates = _updates(context, self.advisory_task_id)
        ledger = Ledger.open(engine.layout.ledger_url)
        try:
            ReleaseRecords(ledger).released(str(self.release), [
                (u.name, u.label) for u in updates])
            states = {change.package: change.state for change in ledger.states(str(self.release))
                      if change.repo == target}
        finally:
            ledger.close()
        files = [f.filename for u in updates for f in u.files]
        missing = [name for name in files if states.get(name) != "released"]
        if missing:
            raise AirflowFailException(f"not recorded as released in {target}: "
                                       f"{', '.join(missing[:5])}")
        self.log.info("%d packages of %d updates released: %s", len(files), len(updates),
                      ", ".join(u.advisory for u in updates))
        return {"advisories": [u.advisory for u in updates], "packages": len(files)}

"""One release's steps, shared by `updraft release ...` and release_updates' operators.

analyse → report → decide (the Go) → intents (the promotion, applied by the engine) →
advise → announce → close bugs → record. Each step may be retried: what the ledger
records as done for an advisory (its number, `notes_sent`, `bugs_closed`) is not done
again, so a retried announcement mails only what was not mailed yet.

A run keeps its files in its own directory (`state/release/runs/<run>/`): the analysis
as the Go/NoGo saw it, the families the Go released and the updates the advisories
describe, so each later step, in a task or a shell, reads what the earlier one decided.
The facade opens the ledger itself, one `with` block per step.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.errors import UpdraftError
from updraft.ledger.release import ReleaseRecords
from updraft.release import closing, notes, rnotes
from updraft.release.analysis import Analysis, Tracker, analyse
from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate
from updraft.release.choice import ReleaseIntents, resolve
from updraft.release.updates import Update

log = logging.getLogger(__name__)

NOTES_SENT = "notes_sent"
BUGS_CLOSED = "bugs_closed"
RELEASED_FILE = "released.json"
UPDATES_FILE = "updates.json"
Send = Callable[[EmailMessage], object]


class ReleaseStepError(UpdraftError):
    """A release step cannot run: an earlier step's record is missing or disagrees."""


def run_dir_name(name: str) -> str:
    """A run's directory name from any run id (an Airflow run id has `:` and `+`)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


@dataclass(frozen=True)
class Reported:
    board: dict[str, Path]  # the release board's JSON and HTML
    tested: int  # files newly `tested` in the ledger


@dataclass(frozen=True)
class Recorded:
    advisories: list[str]
    packages: int


@dataclass
class ReleaseRun:
    engine: Engine
    release: str
    directory: Path  # this run's files
    run: str  # who acts, for the ledger: `airflow:<dag>/<run>`, `cli:<user>`

    @classmethod
    def of(cls, engine: Engine, release: str, name: str, run: str | None = None) -> ReleaseRun:
        checked = engine.config.check_release(str(release))
        directory = engine.layout.state_dir / "release" / "runs" / run_dir_name(name)
        return cls(engine, checked, directory, run or engine.trigger)

    @property
    def board_dir(self) -> Path:
        return self.engine.layout.state_dir / "release"

    @property
    def dist_name(self) -> str:
        return self.engine.config.name

    @contextmanager
    def _records(self) -> Iterator[ReleaseRecords]:
        from updraft.ledger import Ledger

        with Ledger.open(self.engine.layout.ledger_url) as ledger:
            yield ReleaseRecords(ledger)

    # -- analyse, report ------------------------------------------------------------------

    def analyse(self, tracker: Tracker, store: bool = True) -> Analysis:
        """Rnotes, computed; kept for this run (and on the board when the tracker could
        not be asked, so the board says why nothing is offered)."""
        analysis = analyse(self.engine.layout, self.release, tracker)
        if store:
            rnotes.store(analysis, self.directory, self.dist_name)
            if not analysis.tracker.reachable:
                rnotes.store(analysis, self.board_dir, self.dist_name)
        return analysis

    @property
    def analysis_file(self) -> Path:
        return self.directory / f"release-{self.release}.json"

    @property
    def report_file(self) -> Path:
        return self.directory / f"release-{self.release}.html"

    def analysis(self) -> Analysis:
        """The analysis this run made (what its Go/NoGo offered)."""
        found = rnotes.load(self.directory, self.release)
        if found is None:
            raise ReleaseStepError(f"no analysis of release {self.release} in {self.directory}: "
                                   "analyse first")
        return found

    def report(self, analysis: Analysis) -> Reported:
        """The board's copy, and seed 004's `tested` for every verified version."""
        from updraft.release.verification import record_tested

        board = rnotes.store(analysis, self.board_dir, self.dist_name)
        return Reported(board, record_tested(self.engine.layout, analysis))

    # -- the Go, the promotion -------------------------------------------------------------

    def choose(self, analysis: Analysis, chosen: Sequence[str]) -> list[ReleaseCandidate]:
        """The packages a Go names, without recording anything (ChoiceError if split)."""
        return resolve(analysis, chosen)

    def decide(self, analysis: Analysis, chosen: Sequence[str], by: str, gate: str,
               at: datetime | None = None) -> list[ReleaseCandidate]:
        """Record the Go (once per run and gate: a retry keeps the first record) and keep
        the packages it releases for the steps after the promotion."""
        packages = self.choose(analysis, chosen)
        with self._records() as records:
            records.record_decision(self.run, gate, self.release, list(chosen), by,
                                    at or datetime.now(UTC))
        self._write(RELEASED_FILE, [package.to_json() for package in packages])
        return packages

    def released(self) -> list[ReleaseCandidate]:
        """The packages this run's Go released."""
        return [ReleaseCandidate.from_json(raw) for raw in self._read(RELEASED_FILE, "go")]

    def intents(self, packages: list[ReleaseCandidate]) -> ReleaseIntents:
        return ReleaseIntents(self.engine.layout, self.release, packages)

    def preview(self, packages: list[ReleaseCandidate]) -> CycleResult:
        return self.engine.preview([self.release], self.intents(packages), grant=True)

    def promote(self, packages: list[ReleaseCandidate]) -> CycleResult:
        """The promotion and its repodata in one call (the DAG publishes in its own tasks)."""
        return self.engine.update_repos([self.release], intents=self.intents(packages),
                                        grant=True)

    # -- advise ----------------------------------------------------------------------------

    def advise(self, packages: list[ReleaseCandidate],
               bugs: dict[int, BugFacts]) -> list[Update]:
        """An advisory per update, in the ledger (once: a retry finds the same number)
        and in the target repo's updateinfo."""
        from updraft.release.advisory import issue  # createrepo_c: only when advising

        updates = issue(self.engine.layout, self.release, packages, bugs, self.run)
        self._write(UPDATES_FILE, [update.to_json() for update in updates])
        return updates

    def planned_advisories(self, packages: list[ReleaseCandidate],
                           bugs: dict[int, BugFacts]) -> list[Update]:
        """What `advise` would issue, changing nothing: an advisory issued before keeps
        its number, a new one shows none."""
        from updraft.release.updates import describe

        updates = describe(self.engine.layout, self.release, packages, bugs)
        with self._records() as records:
            for update in updates:
                found = records.advisory(self.release, update.name, update.label)
                update.advisory = found.id if found else ""
        return updates

    def updates(self) -> list[Update]:
        """The updates this run's advisories describe."""
        return [Update.from_json(raw) for raw in self._read(UPDATES_FILE, "advise")]

    # -- announce, close bugs --------------------------------------------------------------

    def pending(self, updates: list[Update], done: str) -> list[Update]:
        """The updates whose advisory the ledger does not record as `done` yet."""
        with self._records() as records:
            recorded = {a.id: a for a in records.advisories(self.release)}
        return [u for u in updates if u.advisory not in recorded
                or getattr(recorded[u.advisory], done) is None]

    def announcements(self, updates: list[Update]) -> list[tuple[EmailMessage, list[str]]]:
        """The mails not sent yet, each with the advisories it announces: one release
        note per update with bugs, one digest of the upstream ones."""
        config = self.engine.config
        waiting = self.pending(updates, NOTES_SENT)
        mails = [(notes.release_mail(config, self.release, update), [update.advisory])
                 for update in waiting if update.kind == "sme"]
        upstream = [update for update in waiting if update.kind != "sme"]
        if upstream:
            mails.append((notes.upstream_digest(config, self.release, upstream),
                          [update.advisory for update in upstream]))
        return mails

    def announce(self, updates: list[Update], send: Send) -> list[str]:
        """Mail what is not mailed yet; each mail is recorded as sent as soon as it went,
        so a retry after a failure part way mails only the rest."""
        if not self.engine.config.release.announce.to:
            log.warning("release.announce.to is empty: no release notes mailed")
            return []
        sent = []
        for message, advisories in self.announcements(updates):
            send(message)
            self._mark(advisories, NOTES_SENT)
            sent.append(str(message["Subject"]))
        return sent

    def bugs_to_close(self, updates: list[Update]) -> dict[int, str]:
        """bug -> the comment closing it, for the updates whose bugs are not closed yet."""
        waiting = [u for u in self.pending(updates, BUGS_CLOSED) if u.bugs]
        return closing.comments(self.engine.config, self.release, waiting)

    def close_bugs(self, updates: list[Update], tracker: closing.Closer) -> list[int]:
        """Close the released bugs (a bug closed already is left alone by the tracker);
        recorded per advisory once its bugs are closed."""
        waiting = [u for u in self.pending(updates, BUGS_CLOSED) if u.bugs]
        closed = closing.close_bugs(tracker, self.engine.config, self.release, waiting)
        self._mark([u.advisory for u in waiting], BUGS_CLOSED)
        return closed

    # -- record ----------------------------------------------------------------------------

    def record(self, updates: list[Update]) -> Recorded:
        """The ledger's last word: every released file `released` in the target repo, and
        the upstream security advisories of the released families no longer wait."""
        target = self.engine.config.release.target
        with self._records() as records:
            records.released(self.release, [(u.name, u.label) for u in updates])
            states = {change.package: change.state
                      for change in records.ledger.states(self.release)
                      if change.repo == target}
        files = [f.filename for u in updates for f in u.files]
        missing = [name for name in files if states.get(name) != "released"]
        if missing:
            raise ReleaseStepError(f"not recorded as released in {target}: "
                                   f"{', '.join(missing[:5])}")
        return Recorded([u.advisory for u in updates], len(files))

    # -- this run's files, the ledger's marks ----------------------------------------------

    def _mark(self, advisories: list[str], field: str) -> None:
        if advisories:
            with self._records() as records:
                records.mark(advisories, field, datetime.now(UTC))

    def _write(self, name: str, value: object) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / name
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(value, indent=1))
        os.replace(temporary, target)

    def _read(self, name: str, step: str) -> list[dict[str, Any]]:
        try:
            found = json.loads((self.directory / name).read_text())
        except FileNotFoundError:
            raise ReleaseStepError(f"release {self.release}: no {name} in {self.directory}: "
                                   f"run the `{step}` step first") from None
        if not isinstance(found, list):
            raise ReleaseStepError(f"{self.directory / name}: not a list")
        return found

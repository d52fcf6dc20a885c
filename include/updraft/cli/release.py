"""`updraft releasability` (Rnotes from a shell) and `updraft release ...` (release_updates'
steps by hand, on the same ReleaseRun facade the DAG's operators use).

The tracker is `bugzilla.url` of the config, or $UPDRAFT_BUGZILLA_URL, with the API key
from $UPDRAFT_BUGZILLA_API_KEY; mail goes through $UPDRAFT_SMTP (host:port). The shell's
release keeps its files in state/release/runs/cli-<release>/: `analyse` writes the
analysis `go` chooses from, `go` the families `advise` describes, `advise` the updates
`announce` and `close` read. Every step takes --dry-run: it prints what would happen and
changes nothing (no file, no ledger row, no mail, no tracker change).

releasability: exit 0 when the analysis could be made, 1 when the tracker could not be
asked (everything is then reported not releasable).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from updraft.engine.engine import Engine
    from updraft.release.findings import Analysis
    from updraft.release.run import ReleaseRun

STEPS = ("analyse", "go", "advise", "announce", "close")
HELPS = {
    "analyse": "the analysis (Rnotes): what may be released, and why not",
    "go": "release the chosen families into the target repo (a recorded gate override)",
    "advise": "issue an advisory per released update, merged into updateinfo",
    "announce": "mail the release notes not mailed yet",
    "close": "close the released bugs not closed yet, then record the release",
}
GATE = "release go"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("releasability",
                                 help="what may be released from smeupdates-testing, and why not")
    parser.add_argument("--release", required=True)
    parser.add_argument("--format", choices=("text", "json", "html"), default="text")
    release = commands.add_parser("release", help="release_updates' steps by hand (seed 000)")
    steps = release.add_subparsers(dest="release_step", required=True)
    for name in STEPS:
        step = steps.add_parser(name, help=HELPS[name])
        step.add_argument("--release", required=True)
        step.add_argument("--dry-run", action="store_true",
                          help="print what would happen, change nothing")
        if name == "analyse":
            step.add_argument("--format", choices=("text", "json", "html"), default="text")
        if name == "go":
            chosen = step.add_mutually_exclusive_group(required=True)
            chosen.add_argument("--family", action="append", default=[],
                                help="a releasable family, by name or name-version-release "
                                     "(repeatable)")
            chosen.add_argument("--all", action="store_true",
                                help="every family the analysis offers")
            step.add_argument("--reason", default="",
                              help="why this goes without the DAG's Go/NoGo (recorded, mailed)")


def releasability_command(engine: Engine, args: argparse.Namespace) -> int:
    from updraft.release.rnotes import render, store
    from updraft.release.tracker import tracker_from_env

    run = _run(engine, args.release)
    analysis = run.analyse(tracker_from_env(engine.config.bugzilla.url), store=False)
    if analysis.tracker.reachable:
        run.report(analysis)  # the board's copy, and `tested`
    else:
        store(analysis, run.board_dir, run.dist_name)  # the board says why
    sys.stdout.write(render(analysis, args.format, run.dist_name))
    return 0 if analysis.tracker.reachable else 1


def release_command(engine: Engine, args: argparse.Namespace) -> int:
    run = _run(engine, args.release)
    step = {"analyse": _analyse, "go": _go, "advise": _advise, "announce": _announce,
            "close": _close}[args.release_step]
    code = step(run, args)
    if args.dry_run:
        print("(dry run: nothing changed)", file=sys.stderr)
    return code


def _run(engine: Engine, release: str, stamp: str = "") -> ReleaseRun:
    from updraft.gate import os_user
    from updraft.release.run import ReleaseRun

    checked = engine.config.check_release(release)
    return ReleaseRun.of(engine, checked, f"cli-{checked}", f"cli:{os_user()}{stamp}")


def _analyse(run: ReleaseRun, args: argparse.Namespace) -> int:
    from updraft.release.rnotes import render
    from updraft.release.tracker import tracker_from_env

    analysis = run.analyse(tracker_from_env(run.engine.config.bugzilla.url),
                           store=not args.dry_run)
    if analysis.tracker.reachable and not args.dry_run:
        run.report(analysis)
    sys.stdout.write(render(analysis, args.format, run.dist_name))
    return 0 if analysis.tracker.reachable else 1


def _chosen(analysis: Analysis, families: list[str], everything: bool) -> list[str]:
    """The options the shell names: a family name or its full option."""
    from updraft.release.choice import ChoiceError

    offered = {package.name: package.option for package in analysis.releasable()}
    if everything:
        return list(offered.values())
    chosen = [offered.get(name, name) for name in families]
    if not chosen:
        raise ChoiceError("nothing chosen: name --family NAME or --all")
    return chosen


def _go(run: ReleaseRun, args: argparse.Namespace) -> int:
    from updraft import gate

    analysis = run.analysis()
    chosen = _chosen(analysis, args.family, args.all)
    packages = run.choose(analysis, chosen)  # a split fix or an unknown family: refused
    if args.dry_run:
        print(run.preview(packages).report, end="")
        return 0
    config = run.engine.config
    target = config.release.target
    if config.approvers(target):  # the shell has no Go/NoGo: an override, recorded, mailed
        gate.override(config, run.engine.layout.ledger_url, ", ".join(chosen), target,
                      run.release, args.reason, task=GATE)
    # One record per shell Go: a later Go of the same user is a decision of its own.
    stamped = _run(run.engine, run.release, f"@{datetime.now(UTC):%Y%m%dT%H%M%S.%f}")
    stamped.decide(analysis, chosen, gate.os_user(), GATE)
    result = run.promote(packages)
    print(result.report, end="")
    for failure in result.failures:
        print(f"updraft: not applied: {failure}", file=sys.stderr)
    return 1 if result.failures else 0


def _advise(run: ReleaseRun, args: argparse.Namespace) -> int:
    packages = run.released()
    bugs = run.analysis().bugs
    if args.dry_run:
        for update in run.planned_advisories(packages, bugs):
            print(f"{update.advisory or '(new advisory)'} {update.nvr} ({update.type}): "
                  f"{len(update.files)} files")
        return 0
    for update in run.advise(packages, bugs):
        print(f"{update.advisory} {update.nvr} ({update.type}): {len(update.files)} files")
    return 0


def _announce(run: ReleaseRun, args: argparse.Namespace) -> int:
    from updraft.mail import send_direct

    updates = run.updates()
    if args.dry_run:
        for message, advisories in run.announcements(updates):
            print(f"would mail {message['Subject']!r} to {message['To']} "
                  f"({', '.join(advisories)})")
        return 0
    config = run.engine.config
    for subject in run.announce(updates, lambda message: send_direct(config, message)):
        print(f"mailed {subject!r}")
    return 0


def _close(run: ReleaseRun, args: argparse.Namespace) -> int:
    from updraft.release.tracker import tracker_from_env

    updates = run.updates()
    if args.dry_run:
        for bug, comment in run.bugs_to_close(updates).items():
            print(f"would close bug {bug}: {comment}")
        print(f"would record {sum(len(u.files) for u in updates)} files of "
              f"{len(updates)} updates as released")
        return 0
    closed = run.close_bugs(updates, tracker_from_env(run.engine.config.bugzilla.url))
    print(f"closed {len(closed)} bugs: {', '.join(map(str, closed)) or 'none'}")
    recorded = run.record(updates)
    print(f"{recorded.packages} packages of {len(recorded.advisories)} updates released: "
          f"{', '.join(recorded.advisories)}")
    return 0

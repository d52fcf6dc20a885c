"""The `updraft releasability` command: Rnotes from a shell.

The tracker is `bugzilla.url` of the config, or $UPDRAFT_BUGZILLA_URL, with the API key
from $UPDRAFT_BUGZILLA_API_KEY. Exit 0 when the analysis could be made, 1 when the
tracker could not be asked (everything is then reported not releasable).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from updraft.engine.engine import Engine


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("releasability",
                                 help="what may be released from smeupdates-testing, and why not")
    parser.add_argument("--release", required=True)
    parser.add_argument("--format", choices=("text", "json", "html"), default="text")


def releasability_command(engine: Engine, args: argparse.Namespace) -> int:
    from updraft.release.analysis import analyse  # libsolv, python-bugzilla: only here
    from updraft.release.rnotes import render, store
    from updraft.release.tracker import tracker_from_env

    config = engine.config
    release = config.check_release(args.release)
    tracker = tracker_from_env(config.bugzilla.url)
    analysis = analyse(engine.layout, release, tracker)
    store(analysis, engine.layout.state_dir / "release", config.name)
    if analysis.tracker["reachable"]:
        from updraft.release.verification import record_tested

        record_tested(engine.layout, analysis)
    sys.stdout.write(render(analysis, args.format, config.name))
    return 0 if analysis.tracker["reachable"] else 1

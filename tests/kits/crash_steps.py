"""Library steps a crash run calls as `module:function` (kit.Command.call): what the
release DAG's operators do, with JSON arguments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from updraft.config.dist import load_config
from updraft.engine.engine import Engine
from updraft.release import advisory
from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate
from updraft.release.choice import ReleaseIntents


def release_promote(root: str, config: str, chosen: list[dict[str, Any]]) -> int:
    """ReleasePromoteOperator: the chosen families into smeupdates (the Go recorded)."""
    engine = Engine(load_config(Path(config)), Path(root))
    packages = [ReleaseCandidate.from_json(package) for package in chosen]
    result = engine.update_repos(["9"], intents=ReleaseIntents(engine.layout, "9", packages),
                                 grant=True)
    return 0 if result.ok else 1


def release_advise(root: str, config: str, chosen: list[dict[str, Any]],
                   bugs: dict[str, dict[str, Any]], at: str) -> int:
    """AdvisoryOperator: an advisory per update, in the ledger and merged into updateinfo."""
    engine = Engine(load_config(Path(config)), Path(root))
    advisory.issue(engine.layout, "9", [ReleaseCandidate.from_json(p) for p in chosen],
                   {int(k): BugFacts.from_json(v) for k, v in bugs.items()},
                   run="crash", at=datetime.fromisoformat(at))
    return 0


def release(root: str, config: str, chosen: list[dict[str, Any]],
            bugs: dict[str, dict[str, Any]], at: str) -> int:
    """Both steps, as a retried DAG run does them."""
    return release_promote(root, config, chosen) or release_advise(root, config, chosen,
                                                                   bugs, at)

"""The ISO freeze (seed 002: "During the ISO release schedule ... we hold moving
packages to updates-testing until the ISO is built").

While an ISO of a release builds, a flag file in the state dir says so; the update cycle
then holds every family that would move into a frozen repo (smeupdates-testing) or,
having just arrived there, into the stage. Held families keep their files where they
are and the report says why; the next cycle after the freeze is lifted moves them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from updraft.engine.action import Action, Plan, Touched
from updraft.engine.layout import Layout


@dataclass(frozen=True)
class Freeze:
    release: str
    version: str
    holder: str  # who froze: "airflow:build_iso/<run>", "cli"
    since: str
    repos: tuple[str, ...]

    def reason(self) -> str:
        return (f"held: ISO {self.version} is being built ({self.holder}, since "
                f"{self.since}); {', '.join(self.repos)} frozen")


def flag_file(layout: Layout, release: str) -> Path:
    return layout.state_dir / "iso" / release / "freeze.json"


def freeze(layout: Layout, release: str, version: str, holder: str) -> Freeze:
    """Set the flag (replacing one a dead run left behind)."""
    flag = Freeze(release, version, holder, datetime.now(UTC).isoformat(timespec="seconds"),
                  tuple(layout.config.iso.freeze_repos))
    path = flag_file(layout, release)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(flag.__dict__))
    os.replace(temporary, path)
    return flag


def thaw(layout: Layout, release: str) -> Freeze | None:
    """Lift the flag; the freeze that was lifted, if any."""
    current = frozen(layout, release)
    flag_file(layout, release).unlink(missing_ok=True)
    return current


def frozen(layout: Layout, release: str) -> Freeze | None:
    try:
        raw = json.loads(flag_file(layout, release).read_text())
    except (OSError, ValueError):
        return None
    return Freeze(raw["release"], raw["version"], raw["holder"], raw["since"],
                  tuple(raw["repos"]))


def hold_for_iso(layout: Layout, release: str, plan: Plan) -> bool:
    """Drop from `plan` (in place) every family the release's freeze holds; True when
    something was held (the release is then not settled: it must be planned again)."""
    flag = frozen(layout, release)
    if flag is None or not plan.actions:
        return False
    stage = layout.config.stage_repo
    repos = set(flag.repos)
    held_keys = {(a.family, a.family_evr) for a in plan.actions if _enters(a, repos, stage)}
    if not held_keys:
        return False
    kept = [a for a in plan.actions if (a.family, a.family_evr) not in held_keys]
    dropped = [a for a in plan.actions if (a.family, a.family_evr) in held_keys]
    kept_dirs = _dirs(kept)
    held_dirs = _dirs(dropped) - kept_dirs
    plan.actions = kept
    plan.touched = [t for t in plan.touched if t not in held_dirs]
    plan.warnings += [f"{family}-{evr} {flag.reason()}" for family, evr in sorted(held_keys)]
    return True


def _enters(action: Action, repos: set[str], stage: str | None) -> bool:
    if action.verb not in ("move", "copy"):
        return False
    # A family copied by hand into the frozen repo shows up as its copy into the stage.
    return action.to_repo in repos or (action.to_repo == stage and action.from_repo in repos)


def _dirs(actions: list[Action]) -> set[Touched]:
    return {Touched(a.release, repo, a.archdir) for a in actions
            for repo in (a.from_repo, a.to_repo) if repo and a.archdir}

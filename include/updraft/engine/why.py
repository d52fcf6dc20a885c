"""Why: the reason each planned action happens, in the words of the rule that made it.

The planner decides per repo and family (a promotion, a family pull-up, retention, a
stray copy undone); the differ turns that into file actions without knowing why. The
planner notes its rule per (repo, family) here, and `explain` gives every action of
the plan its `why`, so a task log or a dry run says why a file moves (issue 18 §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from updraft.config.dist import DistConfig
from updraft.engine.action import PHASE_LEAVE, PHASE_STAGE, Action
from updraft.engine.family import Family
from updraft.engine.layout import SOURCE_DIR

_Where = tuple[str, str, str]  # repo, family name, family version-release


@dataclass
class Reasons:
    arrivals: dict[_Where, str] = field(default_factory=dict)
    departures: dict[_Where, str] = field(default_factory=dict)

    def arrive(self, repo: str, family: Family, why: str) -> None:
        self.arrivals.setdefault((repo, family.name, family.label), why)

    def depart(self, repo: str, family: Family, why: str) -> None:
        self.departures.setdefault((repo, family.name, family.label), why)

    def explain(self, actions: list[Action], config: DistConfig) -> list[Action]:
        """The actions, each with why it happens."""
        moved_to: dict[tuple[str, str], str] = {}
        for action in actions:
            if action.verb in ("move", "copy") and action.phase != PHASE_STAGE:
                moved_to.setdefault((action.family, action.family_evr), action.to_repo or "")
        return [replace(action, why=self._why(action, config, moved_to)) for action in actions]

    def _why(self, action: Action, config: DistConfig,
             moved_to: dict[tuple[str, str], str]) -> str:
        label = f"{action.family}-{action.family_evr}"
        if action.phase == PHASE_STAGE:
            if action.verb == "copy":
                return f"stage mirror: the newest {action.family} of {action.from_repo}"
            return f"stage mirror: {label} is no longer the newest {action.family} fed to it"
        if action.verb == "place":
            return f"normalised into the layout of {action.to_repo}"
        if action.verb in ("move", "copy"):
            where = (action.to_repo or "", action.family, action.family_evr)
            if where in self.arrivals:
                return self.arrivals[where]
            if action.archdir == SOURCE_DIR:
                return f"its binaries are in {action.to_repo}: a family keeps its SRPM"
            return ""
        if action.verb == "delete":
            where = (action.from_repo or "", action.family, action.family_evr)
            if where in self.departures:
                return self.departures[where]
            target = moved_to.get((action.family, action.family_evr))
            if action.phase == PHASE_LEAVE and target:
                return f"{label} moved to {target}"
        return ""


def retention_reason(repo: str, config: DistConfig) -> str:
    settings = config.repos[repo]
    return (f"retention: {repo} keeps the newest {settings.max_versions} version(s), "
            f"{settings.max_releases} release(s) of each")

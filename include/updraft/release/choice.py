"""Choice: what the Go/NoGo offers, and what the release manager's answer releases.

The gate offers the releasable version of every package (the analysis' verdicts) and
proposes all of them. A release manager may hold some back; but a package may not go
without the others that hold part of the fix for one of its bugs (seed 000's soft
dependencies): such a split answer releases nothing and says which to add or remove.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from updraft.engine.layout import Layout
from updraft.engine.plan import Intent
from updraft.engine.promote import Promotion
from updraft.engine.tree import Tree
from updraft.errors import UpdraftError
from updraft.release.candidate import ReleaseCandidate
from updraft.release.findings import Analysis


class ChoiceError(UpdraftError):
    """The gate's answer cannot be released as it stands."""


def option(package: ReleaseCandidate) -> str:
    return package.option


def options(analysis: Analysis) -> list[str]:
    return [option(package) for package in analysis.releasable()]


def resolve(analysis: Analysis, chosen: Iterable[str]) -> list[ReleaseCandidate]:
    """The analysis' packages the answer names; ChoiceError on an unknown option or a
    bug split between a chosen and an unchosen package."""
    offered = {option(package): package for package in analysis.releasable()}
    picked = list(dict.fromkeys(chosen))
    unknown = [name for name in picked if name not in offered]
    if unknown:
        raise ChoiceError(f"not offered for release: {', '.join(unknown)} (the analysis "
                          f"offered {', '.join(offered) or 'nothing'})")
    taken = [offered[name] for name in picked]
    held = [package for name, package in offered.items() if name not in picked]
    splits = []
    for package in taken:
        for other in held:
            shared = package.release_bugs & other.release_bugs
            if shared:
                splits.append(f"{option(package)} and {option(other)} share bug "
                              f"{', '.join(map(str, sorted(shared)))}")
    if splits:
        raise ChoiceError("a fix would be released in part: " + "; ".join(splits)
                          + ": choose both or neither; nothing was released")
    return taken


class ReleaseIntents:
    """The promotion of every chosen family into the target repo, as one plan."""

    def __init__(self, layout: Layout, release: str, packages: list[ReleaseCandidate]) -> None:
        target = layout.config.release.target
        self.promotions = [Promotion(layout, package.option, target, release)
                           for package in packages]

    def source_names(self, rows: Mapping[str, tuple]) -> set[str] | None:
        """Every promotion's names (see NamedIntents); None if one cannot tell."""
        names: set[str] = set()
        for promotion in self.promotions:
            found = promotion.source_names(rows)
            if found is None:
                return None
            names |= found
        return names

    def __call__(self, tree: Tree) -> dict[str, list[Intent]]:
        intents: dict[str, list[Intent]] = {}
        for promotion in self.promotions:
            for release, found in promotion(tree).items():
                intents.setdefault(release, []).extend(found)
        return intents

"""Choice: what the Go/NoGo offers, and what the release manager's answer releases.

The gate offers the releasable version of every package (the analysis' verdicts) and
proposes all of them. A release manager may hold some back; but a package may not go
without the others that hold part of the fix for one of its bugs (seed 000's soft
dependencies): such a split answer releases nothing and says which to add or remove.
Coupled families (a policy's `coupled_with`: libtevent with samba) are offered as one
unit, all or none (updraft.engine.coupling): an answer taking part of a unit releases
nothing either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from updraft.config.dist import DistConfig
from updraft.engine.coupling import SplitUnit, check_choice, release_units
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


# Why a candidate is held back, by Blocker kind (updraft.release.releasability), in the
# words of a run's note; a candidate counts once per kind.
_HELD_FOR = {"unverified": "with unverified bugs",
             "unknown": "with bugs the tracker does not know",
             "soft": "sharing a bug with a held-back package",
             "requires": "with unmet Requires",
             "coupled": "waiting for a coupled partner"}


def nothing_releasable(held: Iterable[Iterable[str]], target: str) -> str:
    """The run's note when the Go/NoGo offers nothing: "Nothing releasable: 3 candidates
    held back (3 with unverified bugs), see the release board". `held` holds each held-back
    candidate's blocker kinds."""
    kinds = [set(map(str, blockers)) for blockers in held]
    if not kinds:
        return (f"Nothing releasable: no candidate newer than {target}; nobody was asked, "
                "nothing was released")
    counts = [f"{sum(kind in found for found in kinds)} {words}"
              for kind, words in _HELD_FOR.items() if any(kind in found for found in kinds)]
    reasons = f" ({', '.join(counts)})" if counts else ""
    many = "candidate" if len(kinds) == 1 else "candidates"
    return (f"Nothing releasable: {len(kinds)} {many} held back{reasons}, see the release "
            "board; nobody was asked, nothing was released")


def units(config: DistConfig, analysis: Analysis) -> list[list[str]]:
    """The offered options grouped as a release takes them: a coupled family with its
    offered partners, every other alone; a unit's members next to each other."""
    offered = {package.name: option(package) for package in analysis.releasable()}
    return [[offered[name] for name in unit.names]
            for unit in release_units(config, list(offered))]


def resolve(analysis: Analysis, chosen: Iterable[str],
            config: DistConfig | None = None) -> list[ReleaseCandidate]:
    """The analysis' packages the answer names; ChoiceError on an unknown option, a
    bug split between a chosen and an unchosen package, or (given the config) a
    coupled unit taken in part."""
    offered = {option(package): package for package in analysis.releasable()}
    picked = list(dict.fromkeys(chosen))
    unknown = [name for name in picked if name not in offered]
    if unknown:
        raise ChoiceError(f"not offered for release: {', '.join(unknown)} (the analysis "
                          f"offered {', '.join(offered) or 'nothing'})")
    taken = [offered[name] for name in picked]
    if config is not None:
        _check_units(config, list(offered.values()), taken)
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


def _check_units(config: DistConfig, offered: list[ReleaseCandidate],
                 taken: list[ReleaseCandidate]) -> None:
    try:
        check_choice(release_units(config, [package.name for package in offered]),
                     [package.name for package in taken])
    except SplitUnit as exc:
        raise ChoiceError(f"{exc}: coupled families are released whole or not at all "
                          "(one advisory lists every package); nothing was released") from exc


class ReleaseIntents:
    """The promotion of every chosen family into the target repo, as one plan."""

    def __init__(self, layout: Layout, release: str, packages: list[ReleaseCandidate]) -> None:
        target = layout.config.release.target
        self.release: str | None = release
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

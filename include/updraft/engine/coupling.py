"""Coupling: families that move together (issue 17 §3, seed 000's "rebuild samba
locally before pushing libtevent").

A policy's `coupled_with` names the partners a family is built against (libtevent and
python-tevent are coupled with samba). Three rules follow, each a pure function here:
- a coupled family is held below the release candidates' repo (smeupdates-testing)
  until every partner has been rebuilt after the family arrived (`hold_reason`,
  applied to a plan by `hold_coupled`);
- its landing requests the partners' rebuilds (updraft.build.requests);
- a release offers it and its partners as one unit, all or none (`release_units`,
  `check_choice`), with one advisory listing every package
  (updraft.release.coupling).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from updraft.config.dist import DistConfig
from updraft.engine.action import Plan, Touched
from updraft.engine.policy import policies_for


@dataclass(frozen=True)
class Coupling:
    family: str  # libtevent
    partners: tuple[str, ...]  # samba
    hold_at: str  # the repo it may not enter before the rebuilds (smeupdates-testing)


def coupling_of(config: DistConfig, name: str) -> Coupling | None:
    partners = tuple(
        dict.fromkeys(
            p
            for policy in policies_for(config, name).couplings
            for p in policy.coupled_with
            if p != name
        )
    )
    return Coupling(name, partners, config.release.candidates) if partners else None


@dataclass(frozen=True)
class Rebuilt:
    """A finished build of a partner (from the ledger's `unsigned` states)."""

    partner: str
    label: str
    at: datetime


def hold_reason(
    coupling: Coupling, label: str, arrived: datetime | None, rebuilds: Iterable[Rebuilt]
) -> str:
    """Why the family at `label` may not move up yet, or "" when every partner was
    rebuilt after it arrived (a family the ledger never saw arrive: any rebuild)."""
    done = [r for r in rebuilds if arrived is None or r.at >= arrived]
    missing = [p for p in coupling.partners if not any(r.partner == p for r in done)]
    if not missing:
        return ""
    return (
        f"{coupling.family}-{label} is coupled with {', '.join(coupling.partners)}: "
        f"held below {coupling.hold_at} until {', '.join(missing)} has been rebuilt "
        'against it (its landing requested the rebuild: "Start building?")'
    )


Facts = Callable[[str, str], str]  # (family, label) -> hold reason ("" lets it through)


def hold_coupled(config: DistConfig, plan: Plan, reason_for: Facts) -> bool:
    """Drop from `plan` (in place) every move or copy of a coupled family from below its
    hold repo into it or above, with the reason as a warning; True when something was
    held. A family already at the hold has passed it: its release is never held (that
    would release its unit in part)."""
    if not plan.actions:
        return False
    tiers = {name: repo.tier for name, repo in config.repos.items() if not repo.stage}
    reasons: dict[tuple[str, str], str] = {}
    for action in plan.actions:
        key = (action.family, action.family_evr)
        if key in reasons or action.verb not in ("move", "copy") or action.to_repo not in tiers:
            continue
        coupling = coupling_of(config, action.family)
        if coupling is None or coupling.hold_at not in tiers:
            continue
        if action.from_repo in tiers and tiers[action.from_repo] >= tiers[coupling.hold_at]:
            continue  # past the hold already (a release from the candidates)
        if tiers[action.to_repo] >= tiers[coupling.hold_at]:
            reasons[key] = reason_for(*key)
    held = {key: reason for key, reason in reasons.items() if reason}
    if not held:
        return False
    kept = [a for a in plan.actions if (a.family, a.family_evr) not in held]
    kept_dirs = {
        Touched(a.release, r, a.archdir)
        for a in kept
        for r in (a.from_repo, a.to_repo)
        if r and a.archdir
    }
    dropped = {
        Touched(a.release, r, a.archdir)
        for a in plan.actions
        if a not in kept
        for r in (a.from_repo, a.to_repo)
        if r and a.archdir
    }
    plan.actions = kept
    plan.touched = [t for t in plan.touched if t not in dropped - kept_dirs]
    plan.warnings += [held[key] for key in sorted(held)]
    return True


@dataclass(frozen=True)
class Unit:
    """Families a release offers together: all or none."""

    names: tuple[str, ...]

    @property
    def label(self) -> str:
        return " + ".join(self.names)


def release_units(config: DistConfig, names: Sequence[str]) -> list[Unit]:
    """The offered names grouped: a coupled family with its partners (when offered
    too), every other name alone; in the order first offered."""
    offered = list(dict.fromkeys(names))
    group: dict[str, str] = {name: name for name in offered}

    def root(name: str) -> str:
        while group[name] != name:
            name = group[name]
        return name

    for name in offered:
        coupling = coupling_of(config, name)
        for partner in coupling.partners if coupling else ():
            if partner in group:
                group[root(name)] = root(partner)
    units: dict[str, list[str]] = {}
    for name in offered:
        units.setdefault(root(name), []).append(name)
    return [Unit(tuple(members)) for members in units.values()]


class SplitUnit(ValueError):
    """A choice takes part of a coupled unit."""


def check_choice(units: Sequence[Unit], chosen: Iterable[str]) -> list[str]:
    """The chosen names when every unit is taken whole or not at all; SplitUnit names
    the units split (a release then releases nothing, like a shared bug left out)."""
    picked = set(chosen)
    split = [unit for unit in units if picked & set(unit.names) and not set(unit.names) <= picked]
    if split:
        raise SplitUnit(
            "; ".join(
                f"{unit.label} go together (coupled): chosen "
                f"{', '.join(sorted(picked & set(unit.names)))} without "
                f"{', '.join(n for n in unit.names if n not in picked)}"
                for unit in split
            )
        )
    return [name for unit in units for name in unit.names if name in picked]


def ledger_reasons(config: DistConfig, ledger_url: str, release: str) -> Facts:
    """`hold_coupled`'s facts from the ledger (opened only when a coupled family is
    about to move up)."""

    def reason_for(family: str, label: str) -> str:
        from updraft.ledger import Ledger
        from updraft.ledger.build_events import BuildEvents

        coupling = coupling_of(config, family)
        if coupling is None:
            return ""
        with Ledger.open(ledger_url) as ledger:
            events = BuildEvents(ledger)
            arrived = events.arrived(release, family, label)
            rebuilds = [
                Rebuilt(partner, built, at)
                for partner in coupling.partners
                for built, at in events.built(release, partner)
            ]
        return hold_reason(coupling, label, arrived, rebuilds)

    return reason_for

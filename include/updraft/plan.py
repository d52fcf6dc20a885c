"""Plan: the pure function from a scanned tree to the actions that make it consistent.

Seed 000's update script, as rules:
- a family member found in a higher tier than the rest of its family pulls the whole
  family up (all arches + SRPM) and removes it from the lower tier;
- a family is never left without its SRPM;
- retention keeps the newest max_versions versions, max_releases releases of each;
- the stage mirrors the repos that feed it (copy in, delete the superseded);
- stray files are normalised into the repo's layout;
- nothing is ever deleted from a frozen repo (smeos).
Planning reads nothing from disk: the same tree always gives the same plan.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

from updraft.action import Plan, Touched
from updraft.config import DistConfig
from updraft.conflict import find_conflicts
from updraft.evr import DistTag
from updraft.family import Family, FamilyKey, Slot, group_families
from updraft.hold import GateView
from updraft.layout import Layout
from updraft.placement import Holdings, diff_placements
from updraft.retention import retained
from updraft.tree import ReleaseTree


@dataclass(frozen=True)
class Intent:
    """A packager's `cp`, made explicit: these members of a family are wanted in repo."""

    repo: str
    family: FamilyKey
    slots: frozenset[Slot]


Pulled = dict[tuple[str, FamilyKey], dict[str, set[Slot]]]


def plan_release(tree: ReleaseTree, layout: Layout, intents: Sequence[Intent] = (),
                 gate: GateView | None = None) -> Plan:
    missing = [Touched(tree.release, repo, archdir) for repo, archdir in tree.without_repodata]
    if tree.unchanged and not intents:
        return Plan(touched=sorted(set(missing), key=lambda t: (t.repo, t.archdir)))
    config = layout.config
    families = group_families(tree.files, DistTag(config.dist_tag_pattern))
    conflicts = find_conflicts(families)
    tree.held = [conflict.line(str(layout.root) + os.sep) for conflict in conflicts]
    if conflicts:
        # A held family is invisible to the plan: none of its files moves or goes.
        held_files = {id(p) for c in conflicts for m in c.family.members.values()
                      for p in m.files}
        for conflict in conflicts:
            families.pop(conflict.family.key, None)
        tree = replace(tree, files=[p for p in tree.files if id(p) not in held_files])
    current = current_holdings(families)
    stage = config.stage_repo
    wanted: Holdings = {
        repo: {key: set(slots) for key, slots in held.items()}
        for repo, held in current.items()
        if repo != stage
    }
    gate = gate or GateView()
    for intent in intents:
        if not gate.allows(intent.repo, intent.family):
            continue  # a promotion into a gated repo without a Go (the engine refuses it)
        wanted.setdefault(intent.repo, {}).setdefault(intent.family, set()).update(intent.slots)
    warnings: list[str] = []
    pulled = _pull_up(wanted, config)
    _undo_pulls_retention_rejects(wanted, pulled, config, families, warnings)
    _apply_retention(wanted, config, families)
    _add_sources(wanted, config, families)
    stage_home: dict[FamilyKey, str] = {}
    if stage is not None:
        wanted[stage] = _stage_holdings(wanted, current.get(stage, {}), config, families,
                                        stage_home)
    plan = diff_placements(tree, layout, families, wanted, stage_home)
    plan.warnings[:0] = tree.held + warnings
    plan.touched = sorted(set(plan.touched) | set(missing),
                          key=lambda t: (t.release, t.repo, t.archdir))
    return plan


def current_holdings(families: dict[FamilyKey, Family]) -> Holdings:
    holdings: Holdings = {}
    for key, family in families.items():
        for member in family.members.values():
            for package in member.files:
                holdings.setdefault(package.repo, {}).setdefault(key, set()).add(member.slot)
    return holdings


def _moving_slots(held: set[Slot], target_slots: set[Slot], unit: str) -> set[Slot]:
    if unit == "family":
        return set(held)
    # Package unit (smedev): only the packages the target already wants leave; the SRPM
    # leaves with the last binary.
    names = {slot.name for slot in target_slots if not slot.source}
    moving = {slot for slot in held if not slot.source and slot.name in names}
    if moving and all(slot.source for slot in held - moving):
        moving |= held
    return moving


def _pull_up(wanted: Holdings, config: DistConfig) -> Pulled:
    pulled: Pulled = {}
    for target in config.repo_order():  # highest tier first: it takes from all below
        # A family in a gated repo here is admitted (arrivals without a Go were held
        # before planning, intents without one dropped above): completing it is no entry.
        for key in list(wanted.get(target, {})):
            for source in config.repos[target].pulls_from:
                held = wanted.get(source, {}).get(key)
                if not held:
                    continue
                source_config = config.repos[source]
                moving = _moving_slots(held, wanted[target][key], source_config.promote_unit)
                if not moving:
                    continue
                wanted[target][key] |= moving
                if not source_config.frozen:
                    held -= moving
                    if not held:
                        del wanted[source][key]
                pulled.setdefault((target, key), {})[source] = moving
    return pulled


def _undo_pulls_retention_rejects(
    wanted: Holdings,
    pulled: Pulled,
    config: DistConfig,
    families: dict[FamilyKey, Family],
    warnings: list[str],
) -> None:
    """A family pulled into a repo that keeps newer versions would be deleted at once:
    leave it where it was and drop only the stray copy."""
    # Retention ranks the families of one source name only, so each pull is judged
    # against its name's families in the target (kept in the holdings' own order, as
    # the target changes): linear in the pulls, not pulls x families.
    names: dict[str, dict[str, list[FamilyKey]]] = {}

    def same_name(repo: str, name: str) -> list[FamilyKey]:
        index = names.get(repo)
        if index is None:
            index = names[repo] = {}
            for key in wanted.get(repo, {}):
                index.setdefault(key.name, []).append(key)
        return index.setdefault(name, [])

    for (target, key), sources in pulled.items():
        repo = config.repos[target]
        rivals = same_name(target, key.name)
        keep = retained((families[k] for k in rivals), repo.max_versions, repo.max_releases)
        if key in keep:
            continue
        del wanted[target][key]
        rivals.remove(key)
        for source, slots in sources.items():
            held = wanted.setdefault(source, {})
            if key not in held and source in names:
                same_name(source, key.name).append(key)
            held.setdefault(key, set()).update(slots)
        family = families[key]
        warnings.append(
            f"{family.name}-{family.label}: not promoted to {target}, which keeps newer versions"
        )


def _apply_retention(
    wanted: Holdings, config: DistConfig, families: dict[FamilyKey, Family]
) -> None:
    for repo, held in wanted.items():
        settings = config.repos[repo]
        if settings.frozen:
            continue
        keep = retained((families[key] for key in held), settings.max_versions,
                        settings.max_releases)
        for key in [key for key in held if key not in keep]:
            del held[key]


def _add_sources(wanted: Holdings, config: DistConfig, families: dict[FamilyKey, Family]) -> None:
    """Every repo holding binaries of a family holds its SRPM too (when one exists)."""
    for repo, held in wanted.items():
        if config.repos[repo].frozen:
            continue
        for key, slots in held.items():
            source = families[key].source_slot
            if source is not None and any(not slot.source for slot in slots):
                slots.add(source)


def _stage_holdings(
    wanted: Holdings,
    stage_now: dict[FamilyKey, set[Slot]],
    config: DistConfig,
    families: dict[FamilyKey, Family],
    stage_home: dict[FamilyKey, str],
) -> dict[FamilyKey, set[Slot]]:
    """The stage holds the newest family of every name the feeding repos hold; names
    nobody feeds (placed there by an ISO build) are left alone."""
    candidates: dict[FamilyKey, set[Slot]] = {}
    for repo in config.repo_order():  # highest tier first names the 'copy from' repo
        if not config.repos[repo].feeds_stage:
            continue
        for key, slots in wanted.get(repo, {}).items():
            candidates.setdefault(key, set()).update(slots)
            stage_home.setdefault(key, repo)
    stage = config.repos[config.stage_repo or ""]
    keep = retained((families[key] for key in candidates), stage.max_versions,
                    stage.max_releases)
    holdings = {key: candidates[key] for key in keep}
    fed_names = {key.name for key in candidates}
    for key, slots in stage_now.items():
        if key.name not in fed_names:
            holdings[key] = set(slots)
    return holdings

"""Placement: where a signed build lands (seed 000, seed 004 step 7).

A family we ship goes to the landing repo for updates (smetest, or the policy's
destination), except its subpackages we do not ship, which go to smedev like php's; a
package never seen before goes whole to smedev. The SRPM goes with each group. The copies
are applied by the repository engine, so the Repository Update report reads
`copy from buildsys to smetest (...)` and the ledger records `signed/untested`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from updraft.engine.action import Plan, Touched
from updraft.engine.conflict import other_builds
from updraft.engine.cycle import CycleResult
from updraft.engine.engine import Engine
from updraft.engine.evr import DistTag
from updraft.engine.package import BadPackage, PackageFacts, read_facts
from updraft.engine.tree import scan
from updraft.errors import UpdraftError
from updraft.upstream.landing import Inventory, arrival_actions, split_targets, take_inventory

ORIGIN = "buildsys"  # seed 000's name for the build system in the report


def deduplicated(rpms_per_arch: Iterable[Sequence[Path]]) -> list[Path]:
    """Every arch's build makes the same noarch packages: keep the first builder's."""
    chosen: dict[str, Path] = {}
    for rpms in rpms_per_arch:
        for path in rpms:
            chosen.setdefault(path.name, path)
    return list(chosen.values())


def placement_plan(engine: Engine, inventory: Inventory, srpm: Path, rpms: Sequence[Path],
                   destination: str | None = None) -> Plan:
    config, layout, release = engine.config, engine.layout, inventory.release
    facts = {path: _facts(path) for path in (srpm, *rpms)}
    source = facts[srpm]
    if not source.is_source:
        raise UpdraftError(f"{srpm}: not a source package")
    known = inventory.known.get(source.name)
    dev = config.landing.new_packages
    test = config.check_repo(destination) if destination else config.landing.upstream_updates
    packages = list(facts.values())
    if known is None:  # never shipped: the whole family waits in smedev
        targets = tuple((package, dev) for package in packages)
    else:
        targets = split_targets(packages, known.shipped, test, dev)
    paths = {facts[path].filename: str(path) for path in facts}
    touched: set[Touched] = set()
    label = f"{source.version}-{source.release}"
    plan = Plan()
    plan.actions = arrival_actions(layout, release, source.name, label, ORIGIN, targets,
                                   paths, touched, _note(source, dev if known is None else ""))
    plan.touched = sorted(touched, key=lambda t: (t.release, t.repo, t.archdir))
    return plan


def land_build(engine: Engine, release: str, srpm: Path, rpms: Sequence[Path],
               destination: str | None = None) -> CycleResult:
    """Plan against a fresh scan and apply under the tree lock, with retention after.

    A build of a name-version-release the release already holds as another build is
    refused before anything lands: beside the released one it would be a content
    conflict, and the family its binaries and its SRPM name would be ambiguous."""
    release = engine.config.check_release(release)
    tree = scan(engine.layout, [release]).releases[release]
    rebuilt = other_builds((_facts(path) for path in (srpm, *rpms)), tree.files,
                           DistTag(engine.config.dist_tag_pattern),
                           str(engine.layout.root) + os.sep)
    if rebuilt:
        more = f" (and {len(rebuilt) - 1} more)" if len(rebuilt) > 1 else ""
        raise UpdraftError(f"{rebuilt[0]}{more}: a rebuild of a version the release holds "
                           "needs a new release number (bump Release in the spec and build again); "
                           "nothing was landed")
    plan = placement_plan(engine, take_inventory(tree, engine.config), srpm, rpms, destination)
    return engine.land(plan, [release])


def _facts(path: Path) -> PackageFacts:
    try:
        facts = read_facts(path)
    except BadPackage as exc:
        raise UpdraftError(f"{path}: {exc}: build it again") from exc
    if path.name != facts.filename:
        raise UpdraftError(f"{path}: its header says {facts.filename}; the build result "
                           "was renamed")
    return facts


def _note(source: PackageFacts, dev: str) -> str:
    return f"{source.name}: never shipped before, the build waits in {dev}" if dev else ""

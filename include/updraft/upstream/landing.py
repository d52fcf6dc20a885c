"""Landing: which upstream packages go where (seed 000's rules), as a pure function.

- A family whose name we ship (in the upstream landing repo, smetest, or any repo above
  it) is landed as a family when an upstream source has a newer EVR; the source with the
  highest priority that carries the name decides. Its binaries we ship go to smetest;
  those we do not (seed 000's php subpackages) go to smedev; the SRPM goes with them.
- A name first seen upstream since the source's previous sync lands whole in smedev.
- Policies: a pinned name never lands above its pin, a locally built one never lands,
  a coupled one lands with a note saying what must be rebuilt first.
Nothing here reads the disk: the same inventory and catalogs give the same decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from updraft.build.requests import rebuilt
from updraft.config.dist import DistConfig
from updraft.engine.action import PHASE_ARRIVE, Action, Plan, Touched
from updraft.engine.evr import EVR, DistTag, compare, evr_key, split_sourcerpm
from updraft.engine.family import group_families
from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.policy import policies_for, within_pin
from updraft.engine.tree import ReleaseTree
from updraft.safepath import contained, plain_name
from updraft.upstream.metadata import RemotePackage

P = TypeVar("P", bound="Arriving")


@dataclass
class KnownName:
    """What the release holds of one source name."""

    evr: EVR  # the newest family anywhere in the release (dist tag stripped)
    label: str  # its version-release as the SRPM names it
    shipped: set[str] = field(default_factory=set)  # binaries at or above the landing repo


@dataclass
class Inventory:
    release: str
    known: dict[str, KnownName] = field(default_factory=dict)  # names we ship
    seen: set[str] = field(default_factory=set)  # every source name in the release


def take_inventory(tree: ReleaseTree, config: DistConfig) -> Inventory:
    """The release's names, from a full scan (every repo but the stage)."""
    landing_tier = config.repos[config.landing.upstream_updates].tier
    stage = config.stage_repo
    files = [package for package in tree.files if package.repo != stage]
    families = list(group_families(files, DistTag(config.dist_tag_pattern)).values())
    high = {family.name for family in families
            if any(config.repos[package.repo].tier >= landing_tier
                   for member in family.members.values() for package in member.files)}
    inventory = Inventory(tree.release, seen={family.name for family in families})
    for family in families:  # every family of a shipped name, smedev's too: the newest counts
        if family.name not in high:
            continue
        known = inventory.known.setdefault(family.name, KnownName(family.evr, family.label))
        if compare(family.evr, known.evr) > 0:
            known.evr, known.label = family.evr, family.label
        known.shipped |= {
            member.facts.name
            for member in family.members.values() if not member.facts.is_source
            for package in member.files if config.repos[package.repo].tier >= landing_tier
        }
    return inventory


@dataclass
class UpstreamFamily:
    """An SRPM and its binaries as one upstream source publishes them."""

    origin: str  # the upstream source's name, e.g. "centos"
    name: str
    evr: EVR  # dist tag stripped, comparable with the tree's families
    label: str  # version-release as upstream names it
    packages: list[RemotePackage] = field(default_factory=list)


@dataclass
class Catalog:
    """What one upstream source offers this run, cut down to what could matter."""

    origin: str
    priority: int
    families: list[UpstreamFamily]  # families of known or new names only
    carries: set[str]  # known names the source has any version of
    new_names: set[str] = field(default_factory=set)  # names first seen upstream this run
    land_new: bool = True


def group_upstream(origin: str, packages: Iterable[RemotePackage],
                   dist: DistTag) -> list[UpstreamFamily]:
    families: dict[tuple[str, str, str], UpstreamFamily] = {}
    keys: dict[str, tuple[str, str, str, str]] = {}  # SOURCERPM -> its family key, release
    seen: set[str] = set()
    for package in packages:
        filename = package.filename
        if filename in seen:  # a noarch package is in every arch's repo
            continue
        seen.add(filename)
        if package.is_source or not package.sourcerpm:
            name, version, release = package.name, package.version, package.release
            key = (name, version, dist.strip(release))
        else:
            cached = keys.get(package.sourcerpm)
            if cached is None:
                name, version, release = split_sourcerpm(package.sourcerpm)
                cached = keys[package.sourcerpm] = (name, version, dist.strip(release), release)
            name, version, release = cached[0], cached[1], cached[3]
            key = cached[:3]
        family = families.get(key)
        if family is None:
            family = families[key] = UpstreamFamily(
                origin, name, EVR(package.epoch, version, key[2]), f"{version}-{release}")
        if package.is_source:
            family.label = f"{version}-{release}"
            family.evr = EVR(package.epoch, version, key[2])
        family.packages.append(package)
    return list(families.values())


@dataclass(frozen=True)
class Landing:
    origin: str
    family: UpstreamFamily
    targets: tuple[tuple[RemotePackage, str], ...]  # (package, repo it lands in)
    note: str = ""
    new: bool = False  # a name never seen before (whole family to smedev)


@dataclass(frozen=True)
class Skip:
    origin: str
    name: str
    label: str
    reason: str

    def line(self) -> str:
        return f"{self.name}-{self.label} from {self.origin} not landed: {self.reason}"


@dataclass(frozen=True)
class Rebuild:
    """A family we rebuild from its upstream SRPM: only the SRPM is fetched, and it
    becomes a build request (updraft.build.requests) instead of landing."""

    origin: str
    family: UpstreamFamily
    srpm: RemotePackage


@dataclass
class Decision:
    landings: list[Landing] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    rebuilds: list[Rebuild] = field(default_factory=list)

    def wanted_files(self) -> set[str]:
        return {package.filename for landing in self.landings for package, _ in landing.targets}


def decide(inventory: Inventory, catalogs: Sequence[Catalog], config: DistConfig,
           blocked: Mapping[str, str] | None = None) -> Decision:
    """`blocked`: file name -> why it must not land (quarantined earlier, not verified)."""
    blocked = blocked or {}
    ordered = sorted(catalogs, key=lambda catalog: catalog.priority)
    by_name = [_by_name(catalog.families) for catalog in ordered]  # once, not once per name
    decision = Decision()
    claimed = {n for catalog in ordered for n in catalog.carries}
    # Only names some catalog has candidate families of can land: the rest (most of a
    # big repo) are not even looked at.
    for name in sorted(claimed & set().union(*by_name)):
        known = inventory.known.get(name)
        winner = next((i for i, c in enumerate(ordered) if name in c.carries), None)
        if known is None or winner is None or name not in by_name[winner]:
            continue
        _decide_known(name, known, ordered[winner], by_name[winner][name], config,
                      blocked, decision, inventory.release)
    for catalog, families in zip(ordered, by_name, strict=True):
        if not catalog.land_new:
            continue
        for name in sorted(catalog.new_names - inventory.seen - claimed):
            claimed.add(name)
            _decide_new(name, catalog, families.get(name, []), config, blocked, decision,
                        inventory.release)
    return decision


def _by_name(families: Iterable[UpstreamFamily]) -> dict[str, list[UpstreamFamily]]:
    index: dict[str, list[UpstreamFamily]] = {}
    for family in families:
        index.setdefault(family.name, []).append(family)
    return index


def _newest(families: Iterable[UpstreamFamily]) -> list[UpstreamFamily]:
    return sorted(families, key=lambda family: evr_key(family.evr), reverse=True)


def _decide_known(name: str, known: KnownName, catalog: Catalog,
                  families: list[UpstreamFamily], config: DistConfig,
                  blocked: Mapping[str, str], decision: Decision, release: str = "") -> None:
    newer = [f for f in _newest(families) if compare(f.evr, known.evr) > 0]
    if not newer:
        return
    binaries = {p.name for f in newer for p in f.packages if not p.is_source}
    policies = policies_for(config, name, binaries)
    local = policies.local_build
    if rebuilt(config, release, name, binaries) and policies.pin is None:
        why = local or policies.rebuild
        _decide_rebuild(name, newer[0], catalog, blocked, decision, why.note if why else "")
        return
    if local is not None:
        reason = "built locally from the upstream SRPM, never taken from upstream"
        decision.skips.append(Skip(catalog.origin, name, newer[0].label,
                                   f"{reason} ({local.note})" if local.note else reason))
        return
    pin = policies.pin
    if pin is not None and pin.pin:
        allowed = [f for f in newer if within_pin(f.evr, pin.pin)]
        for family in newer:
            if family not in allowed:
                reason = f"pinned at {pin.pin}" + (f" ({pin.note})" if pin.note else "")
                decision.skips.append(Skip(catalog.origin, name, family.label, reason))
                break  # one line is enough: every newer one is refused for the same reason
        newer = allowed
    if not newer:
        return
    family = newer[0]
    reason = _blocked_reason(family, blocked)
    if reason:
        decision.skips.append(Skip(catalog.origin, name, family.label, reason))
        return
    notes = [f"{name}-{family.label} landed, coupled with {', '.join(p.coupled_with)}: "
             + (p.note or f"rebuild {', '.join(p.coupled_with)} locally before pushing it")
             for p in policies.couplings]
    decision.landings.append(Landing(
        catalog.origin, family, _targets(family, known.shipped, config), "; ".join(notes)))


def _decide_rebuild(name: str, family: UpstreamFamily, catalog: Catalog,
                    blocked: Mapping[str, str], decision: Decision, note: str = "") -> None:
    """Upstream's binaries never land; its SRPM is fetched for our builders."""
    srpm = next((p for p in family.packages if p.is_source), None)
    reason = "built locally from the upstream SRPM, never taken from upstream: a build request"
    if srpm is None:
        reason = "built locally from the upstream SRPM, but the source publishes none"
    elif blocked.get(srpm.filename):
        reason = f"{srpm.filename}: {blocked[srpm.filename]}"
    else:
        decision.rebuilds.append(Rebuild(catalog.origin, family, srpm))
    if note:
        reason += f" ({note})"
    decision.skips.append(Skip(catalog.origin, name, family.label, reason))


def _decide_new(name: str, catalog: Catalog, families: list[UpstreamFamily],
                config: DistConfig, blocked: Mapping[str, str], decision: Decision,
                release: str = "") -> None:
    candidates = _newest(families)
    if not candidates:
        return
    family = candidates[0]
    binaries = {p.name for p in family.packages if not p.is_source}
    policies = policies_for(config, name, binaries)
    rebuilds = rebuilt(config, release, name, binaries) and policies.pin is None
    has_srpm = any(p.is_source for p in family.packages)
    if rebuilds and (has_srpm or policies.local_build is None):
        # New to us or not, a family we rebuild never lands from upstream: its SRPM is
        # a build request (seed 000's initscripts, first seen on a new upstream).
        why = policies.local_build or policies.rebuild
        _decide_rebuild(name, family, catalog, blocked, decision, why.note if why else "")
        return
    if policies.local_build is not None:
        return  # a locally built name has no business in smedev from upstream
    reason = _blocked_reason(family, blocked)
    if reason:
        decision.skips.append(Skip(catalog.origin, name, family.label, reason))
        return
    dev = config.landing.new_packages
    targets = tuple((package, dev) for package in family.packages)
    decision.landings.append(Landing(catalog.origin, family, targets, new=True))


def _blocked_reason(family: UpstreamFamily, blocked: Mapping[str, str]) -> str:
    for package in family.packages:
        reason = blocked.get(package.filename)
        if reason:
            return f"{package.filename}: {reason}"
    return ""


def _targets(family: UpstreamFamily, shipped: set[str],
             config: DistConfig) -> tuple[tuple[RemotePackage, str], ...]:
    return split_targets(family.packages, shipped, config.landing.upstream_updates,
                         config.landing.new_packages)


class Arriving(Protocol):
    """What placing a file in the tree needs of it (an upstream or a built package);
    read-only, so frozen dataclasses qualify."""

    @property
    def name(self) -> str: ...

    @property
    def arch(self) -> str: ...

    @property
    def filename(self) -> str: ...

    @property
    def is_source(self) -> bool: ...


def split_targets(packages: Sequence[P], shipped: set[str], test: str,
                  dev: str) -> tuple[tuple[P, str], ...]:
    """Shipped binaries (all, if we ship none by name yet) to `test`, the rest to `dev`;
    the SRPM goes with every group so no repo holds binaries without their source."""
    binaries = [p for p in packages if not p.is_source]
    sources = [p for p in packages if p.is_source]
    wanted = {p.name for p in binaries} & shipped or {p.name for p in binaries}
    targets = [(p, test if p.name in wanted else dev) for p in binaries]
    for repo in dict.fromkeys(repo for _, repo in targets) or [test]:
        targets += [(source, repo) for source in sources]
    return tuple(targets)


def landing_plan(decision: Decision, layout: Layout, release: str,
                 mirror_paths: Mapping[str, str]) -> Plan:
    """Copy actions bringing each landing's files from the mirror into the tree; the
    report reads them as seed 000 does: `copy from centos to smetest (tzdata-...rpm)`."""
    plan = Plan(warnings=[skip.line() for skip in decision.skips])
    touched: set[Touched] = set()
    for landing in decision.landings:
        if landing.note:
            plan.warnings.append(landing.note)
        family = landing.family
        plan.actions += arrival_actions(layout, release, family.name, family.label,
                                        landing.origin, landing.targets, mirror_paths,
                                        touched, landing.note)
    plan.touched = sorted(touched, key=lambda t: (t.release, t.repo, t.archdir))
    return plan


def arrival_actions(layout: Layout, release: str, name: str, label: str, origin: str,
                    targets: Iterable[tuple[Arriving, str]], paths: Mapping[str, str],
                    touched: set[Touched], note: str = "") -> list[Action]:
    """One copy per file and arch dir it belongs in (a noarch package goes to each);
    `touched` collects the arch dirs whose repodata must be rebuilt."""
    actions = []
    for package, repo in sorted(targets, key=lambda item: item[0].filename):
        archdirs = [SOURCE_DIR] if package.is_source else layout.archdirs_for(
            release, package.arch)
        for archdir in archdirs:
            # the one place a file name from outside becomes a path in the tree
            target = contained(layout.package_dir(release, repo, archdir),
                               plain_name(package.filename, f"{origin}: file name"),
                               f"{origin}: file name")
            actions.append(Action(
                verb="copy", release=release, family=name, family_evr=label,
                package=package.name, filename=package.filename, archdir=archdir,
                src=paths[package.filename], dst=layout.relative(target),
                from_repo=origin, to_repo=repo, phase=PHASE_ARRIVE,
                remove_src=False, reason=note,
            ))
            settings = layout.config.repos[repo]
            if archdir != SOURCE_DIR and settings.repodata and not settings.stage:
                touched.add(Touched(release, repo, archdir))
    return actions

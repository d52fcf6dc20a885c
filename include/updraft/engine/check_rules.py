"""The rules `updraft check` verifies on a scanned tree, each a pure function of the scan
(and, for the ledger, of the actions it recorded): problems as (kind, where, text)."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import String, create_engine, make_url, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError

from updraft.engine.conflict import find_conflicts
from updraft.engine.evr import DistTag
from updraft.engine.family import Family, FamilyKey, Slot, group_families
from updraft.engine.layout import Layout
from updraft.engine.retention import retained
from updraft.engine.tree import Tree

Found = tuple[str, str, str]  # (kind, where, text)


def signature_problems(layout: Layout, tree: Tree) -> list[Found]:
    """Every package of a repo with `signed_by` is signed by one of those keys (rpmkeys
    against a throwaway keyring: the check writes nothing of its own)."""
    from updraft.upstream.keyring import Keyring

    config = layout.config
    wanting = {name: repo.signed_by for name, repo in config.repos.items() if repo.signed_by}
    if not wanting:
        return []
    root = str(layout.root) + os.sep
    problems: list[Found] = []
    for repo, keys in sorted(wanting.items()):
        paths = [Path(p.path) for release_tree in tree.releases.values()
                 for p in release_tree.files if p.repo == repo]
        if not paths:
            continue
        with tempfile.TemporaryDirectory(prefix="updraft-check-") as home:
            keyring = Keyring(Path(home))
            keyring.load([config.resolve_path(key) for key in keys])
            for path, verdict in sorted(keyring.check_packages(paths).items()):
                if not verdict.ok:
                    shown = str(path).removeprefix(root)
                    problems.append(("unsigned", shown, f"{shown}: {verdict.reason} (repos."
                                     f"{repo}.signed_by wants it signed: updraft sign)"))
    return problems


def family_problems(layout: Layout, tree: Tree) -> list[Found]:
    config = layout.config
    found: list[Found] = []
    for release, release_tree in tree.releases.items():
        families = group_families(release_tree.files, DistTag(config.dist_tag_pattern))
        # A content conflict is held as it is (nothing moves until a person acts): it is
        # reported as what it is, not as the tiers or retention it keeps unresolved.
        for conflict in find_conflicts(families):
            families.pop(conflict.family.key, None)
            found.append(("conflict", f"{release}/{conflict.nevra}",
                          conflict.line(str(layout.root) + os.sep)))
        held: dict[str, dict[FamilyKey, set[Slot]]] = defaultdict(dict)
        for key, family in families.items():
            for member in family.members.values():
                for package in member.files:
                    held[package.repo].setdefault(key, set()).add(member.slot)
        for repo, holdings in sorted(held.items()):
            if config.repos[repo].frozen:
                continue  # frozen as released: nothing there is ever changed
            found += _incomplete(release, repo, holdings, families)
            found += _beyond_retention(release, repo, holdings, families, layout)
        found += _two_tiers(release, held, families, layout)
    return found


def _incomplete(release: str, repo: str, holdings: dict[FamilyKey, set[Slot]],
                families: dict[FamilyKey, Family]) -> list[Found]:
    """Binaries without the SRPM they name, in the same repo."""
    found = []
    for key, slots in sorted(holdings.items()):
        if any(slot.source for slot in slots) or not slots:
            continue
        family = families[key]
        named = sorted({m.facts.sourcerpm or "" for m in family.members.values()
                        if not m.facts.is_source} - {""})
        where = "in no repo of the release" if family.source_slot is None else \
            f"not in {repo}"
        found.append(("family", f"{release}/{repo}/{family.name}",
                      f"{family.name}-{family.label} ({release}, {repo}): its binaries name "
                      f"{', '.join(named) or 'no SRPM'}, {where}"))
    return found


def _beyond_retention(release: str, repo: str, holdings: dict[FamilyKey, set[Slot]],
                      families: dict[FamilyKey, Family], layout: Layout) -> list[Found]:
    settings = layout.config.repos[repo]
    keep = retained((families[key] for key in holdings), settings.max_versions,
                    settings.max_releases)
    return [("retention", f"{release}/{repo}/{families[key].name}",
             f"{families[key].name}-{families[key].label} ({release}) is in {repo}, which "
             f"keeps {settings.max_versions} version(s) x {settings.max_releases} "
             "release(s) and newer ones")
            for key in sorted(holdings) if key not in keep]


def _two_tiers(release: str, held: dict[str, dict[FamilyKey, set[Slot]]],
               families: dict[FamilyKey, Family], layout: Layout) -> list[Found]:
    """A family in a repo and in one it takes families from (retention permitting)."""
    config = layout.config
    found = []
    for upper in config.repo_order():
        for lower in config.repos[upper].pulls_from:
            if config.repos[lower].frozen:
                continue
            family_unit = config.repos[lower].promote_unit == "family"
            for key, slots in sorted(held.get(upper, {}).items()):
                below = held.get(lower, {}).get(key, set())
                both = below if family_unit else {s for s in below & slots if not s.source}
                if both:
                    family = families[key]
                    found.append(("tiers", f"{release}/{lower}/{family.name}",
                                  f"{family.name}-{family.label} ({release}) is in {upper} "
                                  f"and still in {lower}, which {upper} takes it from"))
    return found


def ledger_problems(layout: Layout, tree: Tree) -> list[Found]:
    """Every location the ledger last recorded a file arriving at holds it; every one it
    last recorded the file leaving does not (unless the file came back after)."""
    url = layout.ledger_url
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and \
            not os.path.exists(parsed.database):
        return []  # nothing recorded yet (and a check creates no ledger)
    from updraft.ledger.models import Action

    last: dict[tuple[str, str, str, str], tuple[str, datetime | str, str]] = {}
    # The time as stored (text in SQLite): parsed only for the rare row that needs it.
    query = select(Action.release, Action.verb, Action.from_repo, Action.to_repo,
                   Action.archdir, Action.filename, type_coerce(Action.at, String),
                   Action.plan_id) \
        .where(Action.release.in_(list(tree.releases))) \
        .order_by(Action.at, Action.plan_id, Action.seq)
    # A plain connection, not Ledger.open: a check migrates nothing.
    database = create_engine(url)
    try:
        with database.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        return [("ledger", "ledger", f"the ledger cannot be read ({type(exc).__name__}); "
                 "run any cycle to bring its schema up to date")]
    finally:
        database.dispose()
    for release, verb, source, target, archdir, name, at, plan_id in rows:
        if verb in ("delete", "quarantine", "move") and source:
            last[(release, source, archdir, name)] = ("left", at, plan_id)
        if verb in ("move", "copy", "place") and target:
            last[(release, target, archdir, name)] = ("arrived", at, plan_id)
    present = {(package.release, package.repo, package.archdir or "",
                package.path.rpartition(os.sep)[2]): package.path
               for release_tree in tree.releases.values() for package in release_tree.files}
    found: list[Found] = []
    for (release, repo, archdir, name), (event, when, plan_id) in sorted(last.items()):
        path = present.get((release, repo, archdir, name))
        where = f"{release}/{repo}/{archdir}/{name}"
        if event == "arrived" and path is None:
            found.append(("ledger", where, f"{name}: the ledger has it in {repo} ({archdir}, "
                          f"plan {plan_id[:8]}), but it is not there"))
        elif event == "left" and path is not None and _changed_before(path, when):
            found.append(("ledger", where, f"{name}: the ledger has it gone from {repo} "
                          f"({archdir}, plan {plan_id[:8]}), but it is still there"))
    return found


def _changed_before(path: str, at: datetime | str) -> bool:
    """Whether the file is older than the record (not a packager's copy made since)."""
    try:
        changed = os.stat(path).st_ctime
    except OSError:
        return False
    return datetime.fromtimestamp(changed, UTC) < _aware(at)


def _aware(at: datetime | str) -> datetime:
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)

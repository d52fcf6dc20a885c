"""Sync: mirror one upstream source, verify what it offers, and land what is newer.

Two steps, so Airflow can run the first once per source in parallel:
- `mirror` (no tree lock: it writes only <state>/mirror/<release>/<source>/): metadata,
  the landing decision against the tree as it is, downloads, verification,
  quarantine, the source's manifest;
- `land` (tree lock): decides again from every source's manifest against the tree as
  it is now, copies verified files in, runs the cycle's own plan, links advisories.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from updraft.build.requests import BuildRequest
from updraft.config.upstream import UpstreamSource
from updraft.engine.action import Plan
from updraft.engine.cycle import CycleResult
from updraft.engine.durable import temporary_for
from updraft.engine.engine import Engine
from updraft.engine.evr import DistTag
from updraft.engine.faults import checkpoint
from updraft.engine.journal import Journal
from updraft.engine.lock import hold
from updraft.engine.tree import scan
from updraft.errors import ConfigError, LockTimeout, UpstreamError
from updraft.ledger import Ledger, StateChange
from updraft.ledger.upstream import AdvisoryLink, UpstreamRecords
from updraft.safepath import UnsafePath, contained
from updraft.upstream.download import ChecksumMismatch, Deadline, DownloadError, Oversize, fetch
from updraft.upstream.errata import UpstreamAdvisory, read_updateinfo
from updraft.upstream.handover import handover
from updraft.upstream.inspection import verify_packages
from updraft.upstream.keyring import Keyring
from updraft.upstream.keys import key_files
from updraft.upstream.landing import (
    Catalog,
    Decision,
    Inventory,
    decide,
    group_upstream,
    landing_plan,
    take_inventory,
)
from updraft.upstream.links import PendingLinks, planned
from updraft.upstream.manifest import Manifest, Rejection
from updraft.upstream.metadata import (
    HalfMirrored,
    RemotePackage,
    Snapshot,
    fetch_snapshot,
    read_primary,
    still_current,
)
from updraft.upstream.quarantine import UpstreamQuarantine

log = logging.getLogger(__name__)


@dataclass
class Landed:
    """What a landing step did, for the report, the mails and the ledger."""

    result: CycleResult
    decisions: dict[str, Decision] = field(default_factory=dict)  # per release
    security: list[AdvisoryLink] = field(default_factory=list)  # waiting in smetest
    requests: list[BuildRequest] = field(default_factory=list)  # new ones, for the builders


def _now() -> datetime:
    return datetime.now(UTC)


class UpstreamSync:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config = engine.config
        self.layout = engine.layout

    def sources(self, releases: Sequence[str] | None = None) -> list[tuple[str, str]]:
        chosen = [self.config.check_release(r) for r in releases or self.config.releases]
        return [(release, source.name) for release in chosen
                for source in self.config.upstream_sources(release)]

    def mirror_dir(self, release: str, origin: str) -> Path:
        return self.layout.state_dir / "mirror" / release / origin

    def manifest_path(self, release: str, origin: str) -> Path:
        return self.mirror_dir(release, origin) / "manifest.json"

    # -- step 1: mirror ------------------------------------------------------------------

    def mirror(self, release: str, origin: str, dry_run: bool = False) -> Manifest:
        source = self.config.upstream_source(release, origin)
        manifest = Manifest(release, origin, source.priority, source.land_new,
                            started=_now().isoformat(), dry_run=dry_run)
        with ExitStack() as stack:
            ledger = None if dry_run else stack.enter_context(
                Ledger.open(self.layout.ledger_url))
            records = UpstreamRecords(ledger) if ledger else None
            sync_id = records.begin_sync(release, origin, _now()) if records else 0
            log.info("%s (release %s): mirroring %s", origin, release,
                     ", ".join(source.repo_urls().values()))
            try:
                # Two syncs of one source (the DAG and a CLI run) must not share .part files.
                directory = self.mirror_dir(release, origin)
                directory.mkdir(parents=True, exist_ok=True)
                with hold(directory / ".lock", f"the mirror of {origin} ({release})",
                          self.config.lock_timeout, self.engine.trigger):
                    self._mirror(source, manifest)
                manifest.status = "synced"
            except HalfMirrored as exc:
                manifest.status, manifest.reason = "half-mirrored", str(exc)
            except DownloadError as exc:
                manifest.status = "unreachable" if exc.unreachable else "failed"
                manifest.reason = str(exc)
            except (UpstreamError, ConfigError, LockTimeout) as exc:
                manifest.status, manifest.reason = "failed", str(exc)
            finally:
                manifest.finished = _now().isoformat()
                if records is not None and ledger is not None:
                    state = manifest.status if manifest.status != "mirroring" else "failed"
                    records.end_sync(sync_id, state, _now(), manifest.revision, manifest.reason)
                    self._record_states(ledger, manifest)
                if not dry_run:
                    manifest.save(self.manifest_path(release, origin))
            if manifest.synced:
                log.info("%s: synced: %d packages listed, %d candidates, %d verified, %d rejected",
                         origin, manifest.packages_listed, len(manifest.families),
                         len(manifest.verified), len(manifest.rejected))
            else:
                log.error("%s: %s: %s; nothing from it lands this run", origin, manifest.status,
                          manifest.reason)
        return manifest

    def _mirror(self, source: UpstreamSource, manifest: Manifest) -> None:
        release, origin = manifest.release, source.name
        tree = scan(self.layout, [release]).releases[release]
        inventory = take_inventory(tree, self.config)
        keyring = self._keyring(release, source) if source.gpgkeys else None
        names_file = self.mirror_dir(release, origin) / "names.json"
        previous = _load_names(names_file)
        deadline = Deadline(source.source_deadline, f"source_deadline of {origin}")
        snapshots = [
            fetch_snapshot(key, url, self.mirror_dir(release, origin) / key,
                           keyring if source.signed_metadata else None,
                           deadline, source.metadata_cap)
            for key, url in source.repo_urls().items()
        ]
        manifest.revision = ",".join(s.revision for s in snapshots)
        names, listed, packages = read_catalog(snapshots, inventory, previous)
        # An arch no arch dir of the release takes (multilib i686 in an x86_64 repo, for
        # a release without i386) is not offered: it must not fail its whole family.
        accepted = {a for archs in self.config.releases[release].arches.values() for a in archs}
        packages = [p for p in packages if p.is_source or p.arch in accepted]
        manifest.packages_listed = listed
        new_names = names - previous - inventory.seen if previous is not None else set()
        catalog = Catalog(origin, source.priority,
                          group_upstream(origin, packages, DistTag(self.config.dist_tag_pattern)),
                          names & inventory.known.keys(), new_names, source.land_new)
        manifest.carries, manifest.new_names = sorted(catalog.carries), sorted(new_names)
        quarantine = UpstreamQuarantine(self.layout.quarantine_dir(release) / "upstream" / origin,
                                        source.quarantine_cap)
        refused = {p.filename: p.refused for f in catalog.families for p in f.packages
                   if p.refused}
        decision = decide(inventory, [catalog], self.config, quarantine.blocked(
            p for f in catalog.families for p in f.packages) | refused)
        self._refuse(manifest, catalog, decision)
        manifest.families = [landing.family for landing in decision.landings]
        manifest.rebuilds = [{"name": r.family.name, "label": r.family.label,
                              "srpm": r.srpm.filename} for r in decision.rebuilds]
        manifest.skipped = [skip.line() for skip in decision.skips]
        manifest.advisories = _advisories(snapshots, decision)
        if manifest.dry_run:
            plan = landing_plan(decision, self.layout, release,
                                {p.filename: p.url for f in manifest.families for p in f.packages})
            manifest.planned = list(dict.fromkeys(a.describe() for a in plan.actions))
            return
        downloads = self._download(decision, manifest, quarantine, source, deadline)
        for verdict in verify_packages(downloads, source, keyring, self.config, release):
            if verdict.ok:
                manifest.verified[verdict.package.filename] = str(verdict.path)
            else:
                self._reject(manifest, quarantine, verdict.package, verdict.reason, verdict.path)
        for snapshot in snapshots:
            if not still_current(snapshot, deadline):
                raise HalfMirrored(f"{snapshot.url}: repomd.xml changed during the sync (the "
                                   "mirror is being updated): nothing landed from it this run")
        checkpoint("sync: downloads verified")
        _save_names(names_file, names)
        # A landing killed midway left a journal whose copies come from this mirror: the
        # next land finishes it first, so its sources stay even if no longer candidates.
        journaled = {action.src for journal in Journal.pending(self.engine.journal_dir)
                     for action in journal.plan.actions}
        _prune(self.mirror_dir(release, origin), set(manifest.verified.values()) | journaled)

    def _refuse(self, manifest: Manifest, catalog: Catalog, decision: Decision) -> None:
        """Entries whose location or name is refused: `test failed`, one line each; their
        family is held (decide skipped it), the source's other families go on."""
        held = {(skip.name, skip.label) for skip in decision.skips}
        for family in catalog.families:
            if (family.name, family.label) not in held:
                continue
            for package in family.packages:
                if package.refused:
                    log.error("%s from %s: test failed: %s", package.filename,
                              manifest.origin, package.refused)
                    manifest.rejected.append(Rejection(package.filename, family.name,
                                                       family.label, package.refused,
                                                       refused=True))

    def _download(self, decision: Decision, manifest: Manifest, quarantine: UpstreamQuarantine,
                  source: UpstreamSource, deadline: Deadline) -> list[tuple[RemotePackage, Path]]:
        downloads = []
        base = self.mirror_dir(manifest.release, manifest.origin)
        wanted = [(package, landing.family) for landing in decision.landings
                  for package in dict.fromkeys(p for p, _ in landing.targets)]
        wanted += [(rebuild.srpm, rebuild.family) for rebuild in decision.rebuilds]
        for package, family in wanted:
            try:
                target = contained(base / package.repo_key, package.location,
                                   f"{manifest.origin} {package.repo_key} location")
            except UnsafePath as exc:
                self._reject(manifest, quarantine, package, str(exc), None)
                continue
            limit = deadline.within(max(source.file_deadline,
                                        package.size / source.min_rate),
                                    f"file_deadline of {manifest.origin}")
            try:
                fetch(package.url, target, size=package.size or None,
                      checksum=(package.checksum_type, package.checksum),
                      deadline=limit, cap=source.size_cap)
            except Oversize as exc:
                self._reject(manifest, quarantine, package, str(exc), exc.path)
                continue
            except ChecksumMismatch as exc:
                self._reject(manifest, quarantine, package,
                             f"md5/sha checksum does not match the repo metadata ({exc})",
                             exc.path)
                continue
            except DownloadError as exc:
                if exc.missing:
                    raise HalfMirrored(f"{package.url}: listed in primary but missing: "
                                       "half-mirrored, nothing landed from it this run"
                                       ) from exc
                if exc.unreachable:
                    raise
                manifest.rejected.append(Rejection(
                    package.filename, family.name, family.label, str(exc)))
                continue
            downloads.append((package, target))
        return downloads

    def _reject(self, manifest: Manifest, quarantine: UpstreamQuarantine,
                package: RemotePackage, reason: str, path: Path | None) -> None:
        """Test failed: the bytes (if any arrived) to quarantine, one line, the manifest."""
        family = next((f for f in manifest.families if package in f.packages), None)
        where = quarantine.put(path, package, reason)
        log.error("%s from %s: test failed: %s (quarantined in %s)", package.filename,
                  manifest.origin, reason, where)
        manifest.rejected.append(Rejection(
            package.filename, family.name if family else package.name,
            family.label if family else f"{package.version}-{package.release}",
            reason, str(where), refused=path is None))

    def _keyring(self, release: str, source: UpstreamSource) -> Keyring:
        home = self.layout.state_dir / "keyrings" / release / source.name
        keyring = Keyring(home)
        keyring.load(key_files(self.config, source, home / "fetched"), source.fingerprints)
        return keyring

    def _record_states(self, ledger: Ledger, manifest: Manifest) -> None:
        now = _now()
        labels = {p.filename: (f.name, f.label) for f in manifest.families for p in f.packages}
        labels.update({r["srpm"]: (r["name"], r["label"]) for r in manifest.rebuilds})
        changes = [StateChange(manifest.release, *labels[name], name, None, "waiting", now,
                               note=f"verified from {manifest.origin}")
                   for name in manifest.verified if name in labels]
        changes += [StateChange(manifest.release, r.family, r.label, r.filename, None,
                                "test failed", now, note=f"{manifest.origin}: {r.reason}")
                    for r in manifest.rejected if r.test_failed]
        if changes:
            ledger.set_states(changes)

    # -- step 2: land --------------------------------------------------------------------

    def manifests(self, release: str) -> list[Manifest]:
        found = []
        for source in self.config.upstream_sources(release):
            manifest = Manifest.load(self.manifest_path(release, source.name))
            if manifest is not None and manifest.synced:
                found.append(manifest)
        return found

    def _decide(self, release: str, manifests: list[Manifest]) -> Decision:
        """The landing decision from the sources' manifests against the tree now."""
        inventory = take_inventory(scan(self.layout, [release]).releases[release], self.config)
        blocked: dict[str, str] = {}
        for manifest in manifests:
            blocked.update(manifest.blocked())
        return decide(inventory, [m.catalog() for m in manifests], self.config, blocked)

    def land(self, releases: Sequence[str] | None = None) -> Landed:
        chosen = [self.config.check_release(r) for r in releases or self.config.releases]
        manifests = {release: self.manifests(release) for release in chosen}
        decisions: dict[str, Decision] = {}
        combined = Plan()
        for release in chosen:
            decision = decisions[release] = self._decide(release, manifests[release])
            paths = {name: path for m in manifests[release] for name, path in m.verified.items()}
            part = landing_plan(decision, self.layout, release, paths)
            # Pins and local builds were decided by the mirror step (nothing to fetch).
            part.warnings += [line for m in manifests[release] for line in m.skipped
                              if line not in part.warnings]
            combined.extend(part)
        test = self.config.landing.upstream_updates
        pending = PendingLinks(self.layout, test)
        waiting = pending.load()
        for release in chosen:
            advisories = {m.origin: m.advisories for m in manifests[release]}
            for landing in decisions[release].landings:
                waiting += planned(release, landing, advisories.get(landing.origin, []), test)
        if waiting:
            pending.save(waiting)
        result = self.engine.land(combined, chosen)
        landed = Landed(result, decisions)
        checkpoint("landing: applied, advisories not linked")
        made = pending.make(waiting, result.plan_id) if waiting else []
        landed.security = [link for link in made if link.security_waiting]
        landed.requests = handover(self.layout, chosen, manifests, decisions)
        return landed


def read_catalog(snapshots: list[Snapshot], inventory: Inventory,
                 previous: set[str] | None) -> tuple[set[str], int, list[RemotePackage]]:
    """Every source name the snapshots list, how many packages they list, and the
    packages of names that could land: known ones, and names new since the previous sync.

    A known name's packages built from the very SRPM the release ships as its newest are
    not kept: that family is not newer, `decide` could never land it, and it is most of
    a big repo.
    """
    known, seen = inventory.known, inventory.seen
    names: set[str] = set()
    verdicts: dict[str, bool] = {}  # SOURCERPM -> keep its packages?

    def judge(sourcerpm: str) -> bool:
        nvr = sourcerpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
        name = nvr.rsplit("-", 2)[0]
        names.add(name)
        ours = known.get(name)
        if ours is not None:
            return nvr != f"{name}-{ours.label}"
        return previous is not None and name not in previous and name not in seen

    packages: list[RemotePackage] = []
    listed = 0
    for snapshot in snapshots:
        kept, count = read_primary(snapshot, judge, verdicts)
        packages += kept
        listed += count
    return names, listed, packages


def _advisories(snapshots: list[Snapshot], decision: Decision) -> list[UpstreamAdvisory]:
    wanted = {p.name for landing in decision.landings for p in landing.family.packages}
    wanted |= {landing.family.name for landing in decision.landings}
    found: dict[str, UpstreamAdvisory] = {}
    for snapshot in snapshots:
        path = snapshot.files.get("updateinfo")
        if path is not None and wanted:
            for advisory in read_updateinfo(path, wanted):
                found.setdefault(advisory.id, advisory)
    return list(found.values())


def _load_names(path: Path) -> set[str] | None:
    try:
        return set(json.loads(path.read_text()))
    except FileNotFoundError:
        return None


def _save_names(path: Path, names: set[str]) -> None:
    temporary = temporary_for(path)
    temporary.write_text(json.dumps(sorted(names)))
    checkpoint("sync: names written, not yet renamed")
    os.replace(temporary, path)


def _prune(directory: Path, keep: set[str]) -> None:
    """Drop mirrored packages no candidate needs any more (metadata stays). Symlinks are
    never followed: whatever one points to is not the mirror's to delete."""
    for top, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "repodata"]
        for name in files:
            entry = Path(top, name)
            if entry.is_symlink():
                continue
            if (name.endswith(".rpm") and str(entry) not in keep) or name.endswith(".rpm.bad"):
                entry.unlink(missing_ok=True)  # .bad: quarantined already, or superseded

"""Engine: one run of the update cycle — scan, plan, apply, ledger, repodata, report.

Planning is pure and printable (dry run); applying is journaled so a run that dies is
finished by the next one before it plans anything new. The Engine orders the steps; its
nouns live beside it: the settled marks (settled.py), the gates a plan is made under
(gating.py), a plan carried out through its journal (runner.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.engine.action import Action, Plan, Touched
from updraft.engine.apply import Scanned
from updraft.engine.coupling import hold_coupled, ledger_reasons
from updraft.engine.cycle import (
    CycleResult,
    IntentSource,
    NamedIntents,
    Planned,
    plan_digest,
    union,
)
from updraft.engine.durable import write_atomically
from updraft.engine.gating import Gates, arrivals_held
from updraft.engine.guard import check_publish_dir, check_state_dir, storage_errors
from updraft.engine.header_cache import HeaderCache
from updraft.engine.hold import bar_entries, bind_builds, scope_plan, touched_by
from updraft.engine.journal import Journal
from updraft.engine.layout import Layout
from updraft.engine.listing import Listings, add_stale
from updraft.engine.lock import tree_lock
from updraft.engine.placed import Placed
from updraft.engine.plan import plan_release
from updraft.engine.publisher import Publisher
from updraft.engine.repodata import PendingRepodata
from updraft.engine.rewalk import changed, rewalk
from updraft.engine.runner import PlanRunner
from updraft.engine.settled import SettledMarks
from updraft.engine.tree import scan
from updraft.engine.walk import Walk
from updraft.errors import PlanChanged
from updraft.iso.freeze import frozen, hold_for_iso
from updraft.report import render

log = logging.getLogger(__name__)

# A plan moving more files than this is followed by whole walks, not rewalks: finding
# the dirs it changed would cost more than walking (a first cycle places 17,000 links).
_REWALKED_AT_MOST = 5000


def _intent_names(intents: IntentSource | None, cache: HeaderCache,
                  releases: Iterable[str]) -> dict[str, set[str]] | None:
    """Release -> the source names a promotion can concern there (None: plan its
    releases in full)."""
    if isinstance(intents, NamedIntents):
        names = intents.source_names(cache.view())
        if names is not None:
            return {release: names for release in releases
                    if intents.release in (None, release)}
    return None


class Engine:
    """The repository engine over one tree; every writer goes through the tree lock.

    `update_repos` is the whole cycle in one process (the CLI). Airflow runs its halves
    as separate tasks: `preview` (dry run), `apply` (under the tree lock) and `publish`
    (createrepo_c, one arch dir per task).
    """

    def __init__(self, config: DistConfig, root: Path, trigger: str = "cli") -> None:
        self.config = config
        self.layout = Layout(config, root)
        self.trigger = trigger
        self.repodata = PendingRepodata(self.layout, command=trigger)
        # settled.json, written in one order with the header cache (SettledMarks.settle)
        self._marks = SettledMarks(self.layout)
        # Journals written, applied, recorded; it marks the dirs it changed pending in
        # the very `repodata` the engine publishes from.
        self._runner = PlanRunner(config, self.layout, trigger, self.repodata)
        self._held: set[str] = set()  # releases the last plan held actions of (ISO freeze)
        # The header cache of the last plan under the current tree lock: the plan right
        # after an apply shares its rows rather than loading the file a second time.
        self._cache: HeaderCache | None = None
        # Releases the last plan found consistent: an apply of that plan changed none
        # of their files, so the plan after it need not scan them again.
        self._quiet: set[str] = set()
        # The last plan's walks of the releases it may change: the scan after its apply
        # reads again only the dirs the apply changed (updraft.engine.rewalk).
        self._walks: dict[str, Walk] = {}

    @property
    def journal_dir(self) -> Path:
        return self._runner.journal_dir

    @property
    def settled_file(self) -> Path:
        return self._marks.file

    @property
    def reports_dir(self) -> Path:
        return self.layout.state_dir / "reports"

    def plan(self, releases: Sequence[str] | None = None,
             intents: IntentSource | None = None, after_apply: bool = False,
             grant: bool = False, scoped: bool = False, override: bool = False,
             placed: Placed | None = None, applying: bool = False,
             moved: Sequence[Action] | None = None) -> Plan:
        """Plan under the tree lock, and remember what this very scan found consistent.

        Only writers call this: the header cache and the settled marks are written here,
        in an order that never leaves a mark describing other files than the cache's.
        `grant`: the intents have a recorded Go (or an override), so their families may
        enter gated repos; `scoped`: only the intents' families' actions (a Go covers
        exactly the plan it showed); `override`: an emergency override (recorded by the
        caller) opens every gate for this plan. `applying`: a plan with actions is
        about to be applied, and the plan after it writes the header cache (written
        here too, it would be written twice). `moved`: after an apply, the actions it
        applied (the last plan's walks are then read again only where they changed).
        """
        chosen = [self.config.check_release(r) for r in releases] if releases else None
        settled = self.settled()
        baseline = settled
        if after_apply:
            # Right after a plan was applied in full, every name it did not touch is as
            # consistent as before, and the names it touched are the files changed since
            # its scan: planning only those (incrementally) is exact.
            # A release whose families an ISO freeze or a content conflict held kept names
            # the plan did not apply: it is planned in full (held again, and not settled).
            baseline = {**settled, **{r: "" for r in chosen or self.config.releases
                                      if r not in self._held}}
        following = self._cache.successor() if after_apply and self._cache else None
        # The last plan's cache is done with: its record of the files it saw (40,000
        # paths and a set of them) is not held through this scan.
        self._cache = None
        cache = following or HeaderCache.of(self.layout.state_dir, self.layout.root)
        if placed is not None:  # the files just placed are the sources' bytes: no re-read
            cache.adopt(placed.adoptions(self.layout.root))
        names = _intent_names(intents, cache, chosen or self.config.releases)
        walks = self._rewalked(moved) if after_apply and moved is not None else None
        self._walks = {}
        # Right after an apply, the dirs it changed are pending and the others were
        # compared with their listings by the plan just applied.
        planned = self._planned(chosen, intents,
                                None if intents and names is None else baseline, cache,
                                stale=not after_apply,
                                gates=Gates(grant, scoped, override), names=names,
                                walks=walks)
        self._marks.settle(settled, planned, cache,
                           write=not (applying and planned.plan.actions))
        self._cache = cache
        self._held = planned.held
        self._quiet = {release for release, release_tree in planned.tree.releases.items()
                       if release_tree.unchanged or release in planned.consistent}
        self._walks = {release: release_tree.walk
                       for release, release_tree in planned.tree.releases.items()
                       if release not in self._quiet}
        return planned.plan

    def _rewalked(self, moved: Sequence[Action]) -> dict[str, Walk]:
        """The last plan's walks brought up to date after applying `moved`."""
        root, walks = str(self.layout.root), dict[str, Walk]()
        if len(moved) > _REWALKED_AT_MOST:
            return walks  # a first cycle's plan: most dirs changed, walked whole again
        for release, walk in self._walks.items():
            mine = [action for action in moved if action.release == release]
            again = rewalk(self.layout, release, walk, changed(walk, root, mine))
            if again is not None:
                walks[release] = again
        return walks

    def pure_plan(self, releases: Sequence[str] | None = None,
                  intents: IntentSource | None = None, full: bool = False,
                  replan: bool = False, listings: Listings | None = None,
                  stale: bool = True, grant: bool = False, scoped: bool = False,
                  override: bool = False) -> Planned:
        """The plan as it stands, writing nothing at all (previews, `updraft check`).

        `full`: scan every file (not only the names changed since the tree settled); a
        release still at the fingerprint a cycle settled it at is not planned again
        (that cycle's plan was empty) unless `replan`. `stale`: compare each arch dir
        with the listing its repodata was built from."""
        chosen = [self.config.check_release(r) for r in releases] if releases else None
        cache = HeaderCache.of(self.layout.state_dir, self.layout.root)
        names = None if full else _intent_names(intents, cache,
                                                chosen or self.config.releases)
        baseline = None if (intents and names is None) or full else self.settled()
        return self._planned(chosen, intents, baseline, cache, listings, remember=False,
                             stale=stale,
                             trusted=None if intents or replan else self.settled(),
                             gates=Gates(grant, scoped, override), names=names)

    def _planned(self, chosen: list[str] | None, intents: IntentSource | None,
                 baseline: dict[str, str] | None, cache: HeaderCache,
                 listings: Listings | None = None, remember: bool = True,
                 trusted: dict[str, str] | None = None, stale: bool = True,
                 gates: Gates | None = None, names: dict[str, set[str]] | None = None,
                 walks: dict[str, Walk] | None = None) -> Planned:
        gates = gates or Gates()
        listings = listings or Listings(self.layout)
        # Read before the scan: update_repos publishes while the tree is settled, and a
        # dir whose publish ends mid-scan (walked without repodata, its mark then gone)
        # would look unpublished and its release never settle (a spurious cycle).
        pending = self.repodata.pending()
        tree = scan(self.layout, chosen, cache=cache, settled=baseline, names=names,
                    walks=walks)
        for release, release_tree in tree.releases.items():
            if trusted and trusted.get(release) == release_tree.fingerprint:
                release_tree.unchanged = True  # every file scanned, none to plan
        for release, release_tree in tree.releases.items():
            # Repodata already marked for publishing needs no plan to get it written.
            release_tree.without_repodata -= {(t.repo, t.archdir) for t in pending
                                              if t.release == release}
        wanted = intents(tree) if intents else {}
        plan = Plan()
        consistent: dict[str, str] = {}
        held_releases: set[str] = set()
        for release, release_tree in tree.releases.items():
            chosen_intents = wanted.get(release, [])
            view = gates.view(self.config, chosen_intents)
            holds, admitted = arrivals_held(self.config, self.layout, release_tree, view,
                                            remember)
            part = plan_release(release_tree, self.layout, chosen_intents, view)
            if admitted is not None:  # the engine's own moves pass the gate too
                part = bar_entries(part, release_tree, self.layout, admitted, view)
            part = bind_builds(part, release_tree, self.layout)
            part.actions[:0] = holds
            part.touched = union(touched_by(self.layout, holds), part.touched)
            if gates.scoped:
                part = scope_plan(part, {intent.family.name for intent in chosen_intents})
            held = hold_for_iso(self.layout, release, part)  # an ISO build freezes
            # A coupled family waits below the candidates until its partners are rebuilt.
            held = hold_coupled(self.config, part, ledger_reasons(
                self.config, self.layout.ledger_url, release)) or held
            if held or release_tree.held:  # kept names an incremental plan would not see
                held_releases.add(release)
            flag = frozen(self.layout, release)  # nor is its repodata republished
            # An arch dir published anyway (pending, touched by the plan, or frozen)
            # need not be compared.
            skip = {*pending, *part.touched}
            if flag:
                skip |= {t for t in listings.published(release) if t.repo in flag.repos}
            found = (listings.stale(release, remember, release_tree.walk,
                                    release_tree.fingerprint, skip) if stale else [])
            add_stale(part, found, pending,
                      frozen_repos=flag.repos if flag else ())
            plan.extend(part)
            # Only a release found consistent by this very scan may skip planning later;
            # one with a file still arriving is scanned again until that file is read.
            # A release no intent concerns was planned as a cycle plans it (a scoped
            # plan drops actions, so it never tells).
            if (part.empty and not chosen_intents and not (intents and gates.scoped)
                    and not release_tree.arriving and not held
                    and not release_tree.held):  # a conflict is reported every cycle
                consistent[release] = release_tree.fingerprint
        return Planned(plan, tree, consistent, held_releases)

    def _scanned(self) -> Scanned:
        """The stat the last plan's scan read each file's header at (apply.Scanned)."""
        cache, root = self._cache, str(self.layout.root) + os.sep
        return lambda relative: cache.key_of(root + relative) if cache else None

    def settled(self) -> dict[str, str]:
        """Release -> fingerprint of its files when a scan last found it consistent."""
        return self._marks.read()

    @storage_errors
    def update_repos(self, releases: Sequence[str] | None = None, dry_run: bool = False,
                     intents: IntentSource | None = None, grant: bool = False,
                     override: bool = False) -> CycleResult:
        if dry_run:
            return self.preview(releases, intents, grant=grant, override=override)
        # createrepo_c starts once the apply's files are in place, while the ledger
        # records them and the tree is settled (updraft.engine.publisher);
        # `timings["repodata"]`: the wait after the apply.
        with Publisher(self._publish_one) as publisher:
            result = self.apply(releases, intents, grant=grant, override=override,
                                published=publisher.start)
            clock = time.perf_counter()
            result.rebuilt = publisher.finish(result.unpublished)
        result.unpublished = []
        result.timings["repodata"] = time.perf_counter() - clock
        log.info("timings: %s", ", ".join(f"{k} {v:.3f} s" for k, v in result.timings.items()))
        return result

    @storage_errors
    def preview(self, releases: Sequence[str] | None = None,
                intents: IntentSource | None = None, grant: bool = False,
                scoped: bool = False, override: bool = False) -> CycleResult:
        """The plan as it stands, changing nothing (no lock: a reader may be stale)."""
        planned = self.pure_plan(releases, intents, grant=grant, scoped=scoped,
                                 override=override)
        plan, settled = planned.plan, self.settled()
        return CycleResult(
            plan=plan, dry_run=True, report=render(self.config, plan),
            resumed=[journal.plan_id for journal in Journal.pending(self.journal_dir)],
            unpublished=self.repodata.pending(),
            unmarked=sorted(release for release, mark in planned.consistent.items()
                            if settled.get(release) != mark),
        )

    @storage_errors
    def settle(self, releases: Sequence[str]) -> None:
        """Scan under the tree lock and mark what is consistent, moving nothing: what a
        cycle whose plan was empty does (its apply step, which would, does not run)."""
        check_state_dir(self.layout.state_dir)
        with tree_lock(self.layout.state_dir, self.config.lock_timeout, self.trigger):
            self.plan(releases)
        self._cache = None

    @storage_errors
    def apply(self, releases: Sequence[str] | None = None,
              intents: IntentSource | None = None, approved: str | None = None,
              grant: bool = False, scoped: bool = False, override: bool = False,
              published: Callable[[list[Touched]], None] | None = None) -> CycleResult:
        """Plan and apply under the tree lock; repodata is left for `publish`.

        `approved` is the digest of a plan a human approved: if the tree has changed
        since, nothing is applied and PlanChanged says so. `grant` and `scoped`: see plan.
        `published`: given the dirs marked pending as soon as the plan's files are in
        place (before the ledger records them and the tree is settled), to start
        publishing them (update_repos).
        """
        check_state_dir(self.layout.state_dir)
        with tree_lock(self.layout.state_dir, self.config.lock_timeout, self.trigger):
            self._cache, self._walks = None, {}  # an earlier lock hold's may be stale
            resumed = self._runner.resume()
            self.layout.create_dirs(list(releases or self.config.releases))
            clock = time.perf_counter()
            plan = self.plan(releases, intents, grant=grant, scoped=scoped, override=override,
                             applying=True)
            planned = time.perf_counter() - clock
            # An empty plan applies nothing a human did not see: a retried promotion
            # whose first try (or the journal it left) already did the work succeeds.
            if approved is not None and not plan.empty and plan_digest(plan) != approved:
                raise PlanChanged(
                    "the tree changed since the plan was approved (approved "
                    f"{approved[:12]}, now {plan_digest(plan)[:12]}): nothing was moved; "
                    "review the new plan and approve again")
            if plan.empty:
                log.info("nothing to apply (scan and plan %.3f s)", planned)
                result = CycleResult(plan=plan)
            else:
                result = self._runner.execute(plan, published, self._scanned())
                clock = time.perf_counter()
                # Record the tree as settled (the watcher stays quiet): the releases the
                # plan changed; the others keep the marks this plan confirmed.
                changed = [r for r in releases or self.config.releases
                           if r not in self._quiet]
                if result.ok and changed:
                    self.plan(changed, after_apply=True, placed=result.placed,
                              moved=plan.actions)
                result.timings["settle"] = time.perf_counter() - clock
            result.resumed = resumed
            result.timings["plan"] = planned
            result.unpublished = self.repodata.pending()
        self._cache, self._walks = None, {}
        self._report(result)
        return result

    @storage_errors
    def land(self, landing: Plan, releases: Sequence[str]) -> CycleResult:
        """Apply a plan bringing files in from outside the tree (an upstream mirror), then
        the cycle's own plan (retention, stage) under the same lock: the tree ends
        consistent and one report covers both."""
        check_state_dir(self.layout.state_dir)
        with tree_lock(self.layout.state_dir, self.config.lock_timeout, self.trigger):
            self._cache, self._walks = None, {}  # an earlier lock hold's may be stale
            resumed = self._runner.resume()
            self.layout.create_dirs(list(releases))
            result = CycleResult(plan=landing)
            if not landing.empty:
                result = self._runner.execute(landing)
                follow = self.plan(releases)
                if not follow.empty:
                    after = self._runner.execute(follow, scanned=self._scanned())
                    result.plan = Plan(landing.actions + after.plan.actions,
                                       union(landing.touched, after.plan.touched),
                                       landing.warnings + after.plan.warnings)
                    result.applied += after.applied
                    result.failures += after.failures
                changed = [r for r in releases if r not in self._quiet]
                if result.ok and changed:
                    self.plan(changed, after_apply=True, moved=follow.actions)
            result.resumed = resumed
            result.unpublished = self.repodata.pending()
        self._cache, self._walks = None, {}
        self._report(result)
        return result

    @storage_errors
    def publish(self, targets: Sequence[Touched]) -> list[Touched]:
        """createrepo_c on every given arch dir, one per core: they are independent."""
        if not targets:
            return []
        with ThreadPoolExecutor(max_workers=min(len(targets), os.cpu_count() or 1)) as pool:
            return list(pool.map(self._publish_one, targets))

    def _publish_one(self, target: Touched) -> Touched:
        check_publish_dir(self.layout, target)  # createrepo_c follows links
        self.repodata.publish(target)
        return target

    def _report(self, result: CycleResult) -> None:
        """Render the Repository Update report; keep a copy for mail and the record."""
        applied = Plan(result.applied, result.plan.touched, result.plan.warnings)
        touched = union(result.plan.touched if result.plan_id else [], result.unpublished)
        result.report = render(self.config, applied, touched)
        if result.nothing_to_do:
            return
        name = result.plan_id or f"publish-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        result.report_file = self.reports_dir / f"{name}.txt"
        write_atomically(result.report_file, result.report)

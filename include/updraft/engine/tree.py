"""Tree: a scan of the repository tree into package files per release and repo.

Every *.rpm anywhere under a repo's directory counts (a packager may `cp` a file flat
into smeupdates-testing/). Facts come from headers, never from file names.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

from updraft.engine.family import source_name
from updraft.engine.header_cache import SOURCE, STAMP, HeaderCache
from updraft.engine.header_reader import read_all
from updraft.engine.layout import Layout
from updraft.engine.package import BadPackage, PackageFacts, PackageFile, UnsafeHeader
from updraft.engine.walk import Found, Walk, fingerprint, walk_release

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BadFile:
    """A *.rpm that is corrupt, truncated or not an RPM at all."""

    path: Path
    release: str
    repo: str
    reason: str


@dataclass
class ReleaseTree:
    release: str
    files: list[PackageFile] = field(default_factory=list)
    bad: list[BadFile] = field(default_factory=list)
    # (repo, arch dir) holding packages but no repodata yet: the cycle builds it.
    without_repodata: set[tuple[str, str]] = field(default_factory=set)
    fingerprint: str = ""
    unchanged: bool = False  # same files as when last found consistent: nothing to plan
    # Set when the release was consistent at its last scan: the source names whose
    # files changed since. Names never interact in a plan, so `files` then holds only
    # the files of these names, and planning them gives the full plan.
    changed_names: set[str] | None = None
    # Unreadable files changed within the arrival grace: a copy still under way.
    arriving: list[Path] = field(default_factory=list)
    refused: int = 0  # links and other entries the walk refused (they are in `bad`)
    held: list[str] = field(default_factory=list)  # content conflicts the plan found
    # Every *.rpm the walk saw. The repodata listings are compared with it, so a cycle
    # stats each file once.
    walk: Walk = field(default_factory=Walk)

    @property
    def found(self) -> list[Found]:
        """(path, size, mtime_ns, repo, arch dir or None, ctime_ns) of each file walked."""
        return self.walk.found()


@dataclass
class Tree:
    releases: dict[str, ReleaseTree]
    headers_read: int = 0
    files_seen: int = 0


def scan(
    layout: Layout,
    releases: list[str] | None = None,
    cache: HeaderCache | None = None,
    settled: dict[str, str] | None = None,
    names: dict[str, set[str]] | None = None,
    walks: dict[str, Walk] | None = None,
) -> Tree:
    """Scan the releases' repos. Unchanged files (path, size, mtime) read no header.

    `settled` maps a release to the fingerprint of its files when its last scan found
    it consistent. A release still at that fingerprint is marked unchanged (not even a
    header is looked up); otherwise only the source names whose files changed since
    then need planning, and the release tree says which. `names`: by release, source
    names to plan besides the changed ones (a promotion's), on a settled release too.
    `walks`: a release's walk as it stands already (updraft.engine.rewalk), not walked
    again.
    """
    # Only the engine's plan writes the cache (passing its own), together with the
    # settled marks: a cache written by any other reader would hide its new files from
    # the next incremental plan.
    cache = cache or HeaderCache.of(layout.state_dir, layout.root)
    chosen = releases or list(layout.config.releases)
    tree = Tree(releases={})
    scanned: list[str] = []
    for release in chosen:
        release_tree = tree.releases[release] = ReleaseTree(release)
        walk = (walks or {}).get(release) or walk_release(layout, release)[0]
        tops = walk.tops
        release_tree.walk = walk
        release_tree.fingerprint = fingerprint(layout, walk)
        _refuse_odd(walk, release_tree)
        tree.files_seen += walk.kept
        named = None if names is None else names.get(release)
        if settled and settled.get(release) == release_tree.fingerprint and named is None:
            # Its files as tuples are never made, nor its cached rows loaded: the files
            # are those its rows were last found consistent with (none vanished since).
            release_tree.unchanged = True
        else:
            scanned += tops
            cache.keep(walk.kept_paths())
            _resolve(layout, walk, release, cache, tree, release_tree,
                     incremental=bool(settled and release in settled), tops=tops,
                     names=named)
        _note_missing_repodata(layout, release_tree)
    if not all(release_tree.unchanged for release_tree in tree.releases.values()):
        cache.save(scanned)
    log.info("scanned %d rpm files, read %d headers", tree.files_seen, tree.headers_read)
    return tree


def _refuse_odd(walk: Walk, release_tree: ReleaseTree) -> None:
    """Set aside the entries the walk refused: bad files, never read."""
    for path, repo, reason in walk.refused:
        log.warning("refused %r: %s", path, reason)
        release_tree.bad.append(BadFile(Path(path), release_tree.release, repo,
                                        reason or "refused"))
    release_tree.refused = len(walk.refused)


def _resolve(layout: Layout, walk: Walk, release: str, cache: HeaderCache,
             tree: Tree, release_tree: ReleaseTree, incremental: bool, tops: list[str],
             names: set[str] | None = None) -> None:
    """Header facts for the scanned files: from the cache, or read (and verified) anew.

    Incremental: the release was consistent at its last scan, so only files of the
    source names that changed since (new, changed or vanished files) are kept. The
    walk's columns are matched with the rows as they are: a tuple is made only for a
    file read or kept (a promotion keeps one name's files of 20,000).
    """
    rows = cache.rows_under(tops)  # this release's shards
    hits: list[tuple] = []  # the cached row of each file that still has it,
    numbers = array("q")  # and that file's place in the walk
    missed: list[int] = []
    get, hit, place, miss = rows.get, hits.append, numbers.append, missed.append
    pack = STAMP.pack
    for number, path, size, mtime, ctime in zip(count(), walk.kept_paths(), walk.sizes,
                                                walk.mtimes, walk.ctimes):
        row = get(path)
        if row is None or row[1] != pack(size, mtime, ctime):
            miss(number)
        else:
            hit(row)
            place(number)
    grace = layout.config.arrival_grace
    unread = list(walk.items(missed))
    read = read_all([item[0] for item in unread])
    changed = {_read(item, release, cache, tree, release_tree, grace, outcome)
               for item, outcome in zip(unread, read, strict=True)}
    chosen: Iterable[int] = range(len(hits))
    if incremental:
        changed |= {hit.source for hit in cache.vanished(tops)}
        # Placed by the apply just done: changed, though not read. Looked up by the
        # placed paths, not over every file (a name of another release's placing may
        # join in: planning more names than changed is exact too).
        changed |= {rows[path][SOURCE] for path in cache.adopted if path in rows}
        changed |= names or set()
        release_tree.changed_names = changed - {""}
        chosen = [index for index, row in enumerate(hits) if row[SOURCE] in changed]
    kept = [hits[index] for index in chosen]
    for (path, size, mtime_ns, repo, archdir, _), row in zip(
            walk.items(numbers[index] for index in chosen), kept, strict=True):
        release_tree.files.append(
            PackageFile(path, release, repo, archdir, cache.facts_of(row), size, mtime_ns))


def _arriving(path: Path, grace: float) -> bool:
    # ctime, not mtime: `cp -p` and rsync keep the old mtime but cannot keep the ctime.
    try:
        changed = path.stat().st_ctime
    except FileNotFoundError:
        return True  # gone since the walk: whoever was writing it moved it on
    return time.time() - changed < grace


def _stamp(item: Found) -> tuple[int, int]:
    """What a cached header row is keyed on besides the size: mtime and ctime."""
    return item[2], item[5]


def _read(item: Found, release: str, cache: HeaderCache, tree: Tree,
          release_tree: ReleaseTree, grace: float, outcome: PackageFacts | BadPackage) -> str:
    """Take one new or changed file's header (read by read_all); return its source
    name ("" if bad)."""
    path, size, mtime_ns, repo, archdir, _ = item
    try:
        if isinstance(outcome, BadPackage):
            raise outcome
        facts = outcome
    except BadPackage as exc:
        if not isinstance(exc, UnsafeHeader) and _arriving(Path(path), grace):
            log.info("%s is unreadable but changed within %g s: taken as still arriving, "
                     "left for the next cycle", path, grace)
            release_tree.arriving.append(Path(path))
            return ""
        log.warning("bad package %s: %s", path, exc)
        release_tree.bad.append(BadFile(Path(path), release, repo, str(exc)))
        return ""
    tree.headers_read += 1
    cache.put(path, size, _stamp(item), facts)
    release_tree.files.append(PackageFile(path, release, repo, archdir, facts, size, mtime_ns))
    return source_name(facts)


def _note_missing_repodata(layout: Layout, release_tree: ReleaseTree) -> None:
    for repo, settings in layout.config.repos.items():
        if settings.stage or not settings.repodata:
            continue
        for archdir in layout.archdirs(release_tree.release):
            repodata = layout.repodata_dir(release_tree.release, repo, archdir)
            if not (repodata / "repodata" / "repomd.xml").exists():
                release_tree.without_repodata.add((repo, archdir))

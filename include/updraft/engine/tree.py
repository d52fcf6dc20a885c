"""Tree: a scan of the repository tree into package files per release and repo.

Every *.rpm anywhere under a repo's directory counts (a packager may `cp` a file flat
into smeupdates-testing/). Facts come from headers, never from file names.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from array import array
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from updraft.engine.family import source_name
from updraft.engine.header_cache import HeaderCache
from updraft.engine.header_reader import read_all
from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import BadPackage, PackageFacts, PackageFile, UnsafeHeader
from updraft.safepath import UnsafePath, contained

log = logging.getLogger(__name__)

_SKIPPED_DIRS = {"repodata", "repoview"}


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
    # Every *.rpm the walk saw: (path, size, mtime_ns, repo, arch dir or None, ctime_ns). The
    # repodata listings are compared with it, so a cycle stats each file once.
    found: list[tuple[str, int, int, str, str | None, int]] = field(default_factory=list)


@dataclass
class Tree:
    releases: dict[str, ReleaseTree]
    headers_read: int = 0
    files_seen: int = 0


# createrepo_c's own workspaces; everything else, hidden or not, createrepo_c publishes.
_WORKSPACES = (".repodata", ".olddata")


_Odd = tuple[str, str]  # (path, why it is refused)


def _rpm_files(top: str, skip: set[str], repo: str = "", places: dict[str, str] | None = None,
               stat: bool = True) -> tuple[list, list[_Odd]]:
    """The *.rpm files below top (skipping repodata and nested repos), and every entry
    that must not be there: a symlink (createrepo_c would follow it unchecked), a *.rpm
    that is not a regular file (a FIFO would block whoever opens it), a *.rpm whose
    name has control characters. Hidden files count: createrepo_c publishes them too.

    `stat`: each file as a _Found (its stat, `repo`, its arch dir from `places`), else
    its path. Each file is stat'ed right as its directory is read, in one loop: a
    cycle walks 40,000 files, and holding a repo's entries to stat them later costs a
    third more than the stat walk itself."""
    found: list = []
    append = found.append
    odd: list[_Odd] = []
    # A regular file is one of the skipped paths only in a skipped path's parent dir.
    parents = {os.path.dirname(path) for path in skip}
    pending = [top]
    while pending:
        current = pending.pop()
        try:
            listing = os.scandir(current)
        except (FileNotFoundError, NotADirectoryError):
            continue
        place = places.get(current) if places else None
        checked = current in parents
        with listing:
            for entry in listing:
                name = entry.name
                # The common case first: a regular, plainly named *.rpm.
                if (entry.is_file(follow_symlinks=False) and name.endswith(".rpm")
                        and name.isprintable() and not name.startswith(_WORKSPACES)
                        and not (checked and entry.path in skip)):
                    if stat:
                        status = entry.stat(follow_symlinks=False)
                        append((entry.path, status.st_size, status.st_mtime_ns, repo, place,
                                status.st_ctime_ns))
                    else:
                        append(entry.path)
                    continue
                kind = _other_entry(entry, skip)
                if kind is _DESCEND:
                    pending.append(entry.path)
                elif kind is not None:
                    odd.append((entry.path, kind))
    return found, odd


_DESCEND = "descend"


def _other_entry(entry: os.DirEntry[str], skip: set[str]) -> str | None:
    """What the walk makes of an entry that is no plainly named regular *.rpm: _DESCEND
    into a dir, the reason it is refused, or None (not the walk's business)."""
    name = entry.name
    if entry.is_file(follow_symlinks=False) and name.endswith(".rpm"):
        if not name.startswith(_WORKSPACES) and entry.path not in skip:
            return "the file name has control characters"  # the only other reason
        return None
    if name.startswith(_WORKSPACES) or entry.path in skip:
        return None
    if entry.is_symlink():
        return (f"a symbolic link (to {_link_target(entry.path)}): a release tree holds "
                "files, not links")
    if entry.is_dir(follow_symlinks=False):
        if name.endswith(".rpm"):
            return "a directory named like a package"
        return None if name in _SKIPPED_DIRS else _DESCEND
    if name.endswith(".rpm"):  # neither a dir nor a regular file
        return "not a regular file (a FIFO, socket or device)"
    return None


def _link_target(path: str) -> str:
    try:
        return repr(os.readlink(path))
    except OSError:
        return "?"


def scanned_files(layout: Layout, top: Path) -> list[str]:
    """The *.rpm files below `top` (an arch dir) that the scan reads, relative to it.

    createrepo_c indexes *.rpm files in `repodata/`, `repoview/` and hidden workspace-like
    dirs too, and follows links; the scan reads none of those. Publishing passes it this
    list, so nothing the tree never checked reaches repodata."""
    others = {str(layout.repo_dir(release, repo)) for release in layout.config.releases
              for repo in layout.config.repos} | {str(layout.state_dir)}
    paths, _ = _rpm_files(str(top), others - {str(top)}, stat=False)
    prefix = len(str(top)) + 1
    return sorted(path[prefix:] for path in paths)


def _linked_top(layout: Layout, top: str) -> _Odd | None:
    """A link on the way from the root to a repo dir that leads out of the tree (the
    release dir may be a link inside it: the ISO's `10 -> 10.0`)."""
    try:
        contained(layout.root, os.path.relpath(top, layout.root), "repository directory")
    except UnsafePath as exc:
        current = layout.root
        for part in Path(top).relative_to(layout.root).parts:
            current = current / part
            if current.is_symlink():
                return str(current), f"{exc.reason}: a release tree holds files, not links"
        return top, exc.reason
    return None


def _archdir_of(layout: Layout, release: str, repo: str) -> dict[str, str]:
    places = {str(layout.source_dir(release, repo)): SOURCE_DIR}
    for archdir in layout.archdirs(release):
        places[str(layout.binary_dir(release, repo, archdir))] = archdir
    return places


def scan(
    layout: Layout,
    releases: list[str] | None = None,
    cache: HeaderCache | None = None,
    settled: dict[str, str] | None = None,
    names: set[str] | None = None,
) -> Tree:
    """Scan the releases' repos. Unchanged files (path, size, mtime) read no header.

    `settled` maps a release to the fingerprint of its files when its last scan found
    it consistent. A release still at that fingerprint is marked unchanged (not even a
    header is looked up); otherwise only the source names whose files changed since
    then need planning, and the release tree says which. `names`: source names to plan
    besides the changed ones (a promotion's), on a settled release too.
    """
    # Only the engine's plan writes the cache (passing its own), together with the
    # settled marks: a cache written by any other reader would hide its new files from
    # the next incremental plan.
    cache = cache or HeaderCache(layout.state_dir / "headers.marshal", deferred=True)
    chosen = releases or list(layout.config.releases)
    tree = Tree(releases={})
    scanned: list[str] = []
    for release in chosen:
        release_tree = tree.releases[release] = ReleaseTree(release)
        found, tops, refused = _walk(layout, release)
        scanned += tops
        release_tree.fingerprint = fingerprint(layout, found)
        if refused:
            found = _refuse_odd(found, release_tree)
        tree.files_seen += len(found)
        release_tree.found = found
        if settled and settled.get(release) == release_tree.fingerprint and names is None:
            release_tree.unchanged = True
            cache.keep(found)
        else:
            _resolve(layout, found, release, cache, tree, release_tree,
                     incremental=bool(settled and release in settled), tops=tops,
                     names=names)
        _note_missing_repodata(layout, release_tree)
    if not all(release_tree.unchanged for release_tree in tree.releases.values()):
        cache.save(scanned)
    log.info("scanned %d rpm files, read %d headers", tree.files_seen, tree.headers_read)
    return tree


def _refuse_odd(found: list[_Found], release_tree: ReleaseTree) -> list[_Found]:
    """Set aside the entries the walk refused (size -1): bad files, never read."""
    files = []
    for item in found:
        path, size, _, repo, reason, _ = item
        if size == -1:
            log.warning("refused %r: %s", path, reason)
            release_tree.bad.append(BadFile(Path(path), release_tree.release, repo,
                                            reason or "refused"))
        else:
            files.append(item)
    release_tree.refused = len(found) - len(files)
    return files


def fingerprints(layout: Layout, releases: list[str] | None = None) -> dict[str, str]:
    """Release -> fingerprint of its files, by a stat walk alone (no header is read)."""
    return {release: fingerprint(layout, _walk(layout, release)[0])
            for release in releases or layout.config.releases}


def _walk(layout: Layout, release: str) -> tuple[list[_Found], list[str], int]:
    """Every *.rpm of a release's repos with its stat; the repo dirs walked; and how
    many entries were refused (last in the list, with size -1)."""
    every_repo_dir = {
        str(layout.repo_dir(other, repo))
        for other in layout.config.releases for repo in layout.config.repos
    }
    every_repo_dir.add(str(layout.state_dir))
    found: list[_Found] = []
    tops: list[str] = []
    odd: dict[str, tuple[str, str]] = {}
    for repo in layout.config.repos:
        top = str(layout.repo_dir(release, repo))
        tops.append(top + os.sep)
        linked = _linked_top(layout, top)
        if linked is not None:
            odd.setdefault(linked[0], (repo, linked[1]))
            continue  # never walk (nor later write) through a link out of the tree
        files, refused = _rpm_files(top, every_repo_dir - {top}, repo,
                                    _archdir_of(layout, release, repo))
        found += files
        for path, reason in refused:
            odd.setdefault(path, (repo, reason))
    # Refused entries take part in the fingerprint: a release holding one never settles.
    found += [(path, -1, 0, repo, reason, 0) for path, (repo, reason) in odd.items()]
    return found, tops, len(odd)


# (path, size, mtime_ns, repo, archdir, ctime_ns). The ctime is part of a file's identity:
# its owner can put other bytes under the same size and mtime (`touch -r`), never back
# the ctime, so a file rewritten in place is read again (and a gated repo holds it).
_Found = tuple[str, int, int, str, "str | None", int]


def fingerprint(layout: Layout, found: list[_Found]) -> str:
    """Identifies a release's files (path, size, mtime, ctime) under this exact config.

    Unsorted: directory order only changes when directories change, and a different
    order merely costs a plan, never skips one. Each column is hashed whole, joined or
    packed in C: a no-op cycle formats no number (40,000 files, 30 ms otherwise).
    """
    digest = hashlib.sha256(layout.config.model_dump_json().encode())
    # No path holds a NUL; an undecodable name keeps its bytes (surrogateescape).
    digest.update("\0".join(map(itemgetter(0), found)).encode(errors="surrogateescape"))
    for column in (1, 2, 5):  # size, mtime_ns, ctime_ns: signed 64-bit each
        digest.update(array("q", map(itemgetter(column), found)).tobytes())
    return digest.hexdigest()


def _resolve(layout: Layout, found: list[_Found], release: str, cache: HeaderCache,
             tree: Tree, release_tree: ReleaseTree, incremental: bool, tops: list[str],
             names: set[str] | None = None) -> None:
    """Header facts for the scanned files: from the cache, or read (and verified) anew.

    Incremental: the release was consistent at its last scan, so only files of the
    source names that changed since (new, changed or vanished files) are kept.
    """
    rows = cache.rows()
    cached: list[tuple[_Found, tuple]] = []
    missed: list[_Found] = []
    get, hit, miss = rows.get, cached.append, missed.append
    for item in found:  # _stamp(item) inline: one call less on each of 40,000 files
        row = get(item[0])
        if row is None or row[1] != item[1] or row[2] != (item[2], item[5]):
            miss(item)
        else:
            hit((item, row))
    cache.keep(found)
    grace = layout.config.arrival_grace
    read = read_all([Path(item[0]) for item in missed])
    changed = {_read(item, release, cache, tree, release_tree, grace, outcome)
               for item, outcome in zip(missed, read, strict=True)}
    if incremental:
        changed |= {hit.source for hit in cache.vanished(tops)}
        if cache.adopted:  # placed by the apply just done: changed, though not read
            changed |= {row[10] for item, row in cached if item[0] in cache.adopted}
        changed |= names or set()
        release_tree.changed_names = changed - {""}
        cached = [(item, row) for item, row in cached if row[10] in changed]
    for (path, size, mtime_ns, repo, archdir, _), row in cached:
        release_tree.files.append(
            PackageFile(path, release, repo, archdir, cache.facts_of(row), size, mtime_ns))


def _arriving(path: Path, grace: float) -> bool:
    # ctime, not mtime: `cp -p` and rsync keep the old mtime but cannot keep the ctime.
    try:
        changed = path.stat().st_ctime
    except FileNotFoundError:
        return True  # gone since the walk: whoever was writing it moved it on
    return time.time() - changed < grace


def _stamp(item: _Found) -> tuple[int, int]:
    """What a cached header row is keyed on besides the size: mtime and ctime."""
    return item[2], item[5]


def _read(item: _Found, release: str, cache: HeaderCache, tree: Tree,
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

"""Walk: the stat walk of a release's repos, and the fingerprint of what it found.

Every cycle walks every file of the tree (40,000 at 21k RPMs) to notice a packager's
`cp`, and most cycles then find the release unchanged: the walk is kept in columns
(paths, and size, mtime, ctime as int64 arrays) that the fingerprint hashes whole, and
the per-file tuples a plan works on are made only when a plan needs them.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path

from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.safepath import UnsafePath, contained

SKIPPED_DIRS = {"repodata", "repoview"}
# createrepo_c's own workspaces; everything else, hidden or not, createrepo_c publishes.
WORKSPACES = (".repodata", ".olddata")

_Odd = tuple[str, str]  # (path, why it is refused)
# (path, size, mtime_ns, repo, archdir, ctime_ns). The ctime is part of a file's identity:
# its owner can put other bytes under the same size and mtime (`touch -r`), never back
# the ctime, so a file rewritten in place is read again (and a gated repo holds it).
Found = tuple[str, int, int, str, "str | None", int]


class Walk:
    """A release's *.rpm files in the order walked: `kept` regular ones, then the
    refused entries (`refused`: path, repo, why), which take part in the fingerprint
    (a release holding one never settles) with size -1, mtime and ctime 0."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.sizes = array("q")
        self.mtimes = array("q")
        self.ctimes = array("q")
        self.inodes = array("Q")  # which names an apply's links and unlinks touched
        self.runs: list[tuple[int, str, str | None]] = []  # (first index, repo, arch dir)
        self.dirs: list[str] = []  # the directory of each run
        self.tops: list[str] = []  # the repo dirs walked, each ending in a separator
        self.refused: list[tuple[str, str, str]] = []
        self.kept = 0

    def spans(self) -> list[tuple[int, int, str, str | None, str]]:
        """Each run of kept files: (start, end, repo, arch dir or None, its directory)."""
        ends = [start for start, _, _ in self.runs[1:]] + [self.kept]
        return [(start, end, repo, place, directory) for (start, repo, place), directory, end
                in zip(self.runs, self.dirs, ends, strict=True)]

    def found(self) -> list[Found]:
        """The kept files as tuples, made anew each time (a walk is kept through an
        apply: 40,000 tuples held with it would be the cycle's peak of memory)."""
        found: list[Found] = []
        for start, end, repo, place, _ in self.spans():
            found += zip(self.paths[start:end], self.sizes[start:end],
                         self.mtimes[start:end], repeat(repo, end - start),
                         repeat(place, end - start), self.ctimes[start:end], strict=True)
        return found

    def items(self, numbers: Iterable[int]) -> Iterator[Found]:
        """The kept files at these places in the walk (increasing), as tuples."""
        spans = self.spans()
        run = 0
        for number in numbers:
            while number >= spans[run][1]:
                run += 1
            _, _, repo, place, _ = spans[run]
            yield (self.paths[number], self.sizes[number], self.mtimes[number], repo, place,
                   self.ctimes[number])

    def kept_paths(self) -> list[str]:
        return self.paths if not self.refused else self.paths[:self.kept]

    def refuse(self, entries: list[tuple[str, str, str]]) -> None:
        """Add the refused entries (path, repo, why) after the kept files."""
        self.kept = len(self.paths)
        self.refused = entries
        for path, _, _ in entries:
            self.paths.append(path)
            self.sizes.append(-1)
            self.mtimes.append(0)
            self.ctimes.append(0)
            self.inodes.append(0)


def _rpm_files(top: str, skip: set[str], walk: Walk | None = None, repo: str = "",
               places: dict[str, str] | None = None) -> tuple[list[str], list[_Odd]]:
    """The *.rpm files below top (skipping repodata and nested repos), and every entry
    that must not be there: a symlink (createrepo_c would follow it unchecked), a *.rpm
    that is not a regular file (a FIFO would block whoever opens it), a *.rpm whose
    name has control characters. Hidden files count: createrepo_c publishes them too.

    With a `walk`, each file goes into it with its stat, `repo` and its arch dir from
    `places` (read_dir)."""
    found: list[str] = walk.paths if walk is not None else []
    odd: list[_Odd] = []
    pending = [top]
    while pending:
        current = pending.pop()
        place = places.get(current) if places else None
        pending += read_dir(current, skip, odd, walk, repo, place, found) or ()
    return found, odd


def read_dir(current: str, skip: set[str], odd: list[_Odd], walk: Walk | None = None,
             repo: str = "", place: str | None = None,
             found: list[str] | None = None) -> list[str] | None:
    """One directory of the walk: its files go into `walk` (a run of their own) or
    `found`, its odd entries into `odd`; returns the subdirs to walk (None: no such
    dir). Each file is stat'ed right as its directory is read, in one loop: holding a
    repo's entries to stat them later cost a third more than the stat walk itself."""
    found = walk.paths if walk is not None else found if found is not None else []
    append = found.append
    descend: list[str] = []
    # Read through a descriptor: each stat then resolves one name (fstatat), not the
    # whole path again (a tenth of the walk).
    try:
        handle = os.open(current, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    prefix = current + os.sep
    # A regular file is one of the skipped paths only in a skipped path's parent dir.
    checked = any(os.path.dirname(path) == current for path in skip)
    if walk is not None:
        walk.runs.append((len(found), repo, place))
        walk.dirs.append(current)
        sizes, mtimes, ctimes = walk.sizes.append, walk.mtimes.append, walk.ctimes.append
        inodes = walk.inodes.append
    try:
        with os.scandir(handle) as listing:
            for entry in listing:
                name = entry.name
                path = prefix + name
                # The common case first: a regular, plainly named *.rpm.
                if (entry.is_file(follow_symlinks=False) and name.endswith(".rpm")
                        and name.isprintable() and not name.startswith(WORKSPACES)
                        and not (checked and path in skip)):
                    append(path)
                    if walk is not None:
                        status = entry.stat(follow_symlinks=False)
                        sizes(status.st_size)
                        mtimes(status.st_mtime_ns)
                        ctimes(status.st_ctime_ns)
                        inodes(status.st_ino)
                    continue
                kind = other_entry(entry, path, skip)
                if kind is DESCEND:
                    descend.append(path)
                elif kind is not None:
                    odd.append((path, kind))
    finally:
        os.close(handle)
    return descend


DESCEND = "descend"
KEPT = "kept"


def judge(entry: os.DirEntry[str], path: str, skip: set[str]) -> str | None:
    """What the walk makes of any entry: KEPT (a plainly named regular *.rpm), else what
    `other_entry` says. read_dir tests the common case inline (a call per file is a
    tenth of the walk); a walk that re-judges a few entries (rewalk) calls this."""
    name = entry.name
    if (entry.is_file(follow_symlinks=False) and name.endswith(".rpm")
            and name.isprintable() and not name.startswith(WORKSPACES)
            and path not in skip):
        return KEPT
    return other_entry(entry, path, skip)


def other_entry(entry: os.DirEntry[str], path: str, skip: set[str]) -> str | None:
    """What the walk makes of an entry (at `path`) that is no plainly named regular
    *.rpm: DESCEND into a dir, the reason it is refused, or None (not the walk's
    business)."""
    name = entry.name
    if entry.is_file(follow_symlinks=False) and name.endswith(".rpm"):
        if not name.startswith(WORKSPACES) and path not in skip:
            return "the file name has control characters"  # the only other reason
        return None
    if name.startswith(WORKSPACES) or path in skip:
        return None
    if entry.is_symlink():
        return (f"a symbolic link (to {_link_target(path)}): a release tree holds "
                "files, not links")
    if entry.is_dir(follow_symlinks=False):
        if name.endswith(".rpm"):
            return "a directory named like a package"
        return None if name in SKIPPED_DIRS else DESCEND
    if name.endswith(".rpm"):  # neither a dir nor a regular file
        return "not a regular file (a FIFO, socket or device)"
    return None


def _link_target(path: str) -> str:
    try:
        return repr(os.readlink(path))
    except OSError:
        return "?"


def scanned_files(layout: Layout, top: Path) -> dict[str, tuple[int, int, int]]:
    """The *.rpm files below `top` (an arch dir) that the scan reads, relative to it,
    each with its size, mtime and ctime (ns) as the walk saw it.

    createrepo_c indexes *.rpm files in `repodata/`, `repoview/` and hidden workspace-like
    dirs too, and follows links; the scan reads none of those. Publishing passes it this
    list, so nothing the tree never checked reaches repodata."""
    others = {str(layout.repo_dir(release, repo)) for release in layout.config.releases
              for repo in layout.config.repos} | {str(layout.state_dir)}
    walk = Walk()
    _rpm_files(str(top), others - {str(top)}, walk)
    prefix = len(str(top)) + 1
    return {path[prefix:]: (size, mtime, ctime) for path, size, mtime, ctime in
            zip(walk.paths, walk.sizes, walk.mtimes, walk.ctimes, strict=True)}


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


def repo_dirs(layout: Layout) -> set[str]:
    """Every repo dir of every release, and the state dir: no walk enters another's."""
    every_repo_dir = {
        str(layout.repo_dir(other, repo))
        for other in layout.config.releases for repo in layout.config.repos
    }
    every_repo_dir.add(str(layout.state_dir))
    return every_repo_dir


def walk_release(layout: Layout, release: str) -> tuple[Walk, list[str]]:
    """Every *.rpm of a release's repos with its stat; and the repo dirs walked."""
    every_repo_dir = repo_dirs(layout)
    walk = Walk()
    tops = walk.tops
    odd: dict[str, tuple[str, str]] = {}
    for repo in layout.config.repos:
        top = str(layout.repo_dir(release, repo))
        tops.append(top + os.sep)
        linked = _linked_top(layout, top)
        if linked is not None:
            odd.setdefault(linked[0], (repo, linked[1]))
            continue  # never walk (nor later write) through a link out of the tree
        _, refused = _rpm_files(top, every_repo_dir - {top}, walk, repo,
                                _archdir_of(layout, release, repo))
        for path, reason in refused:
            odd.setdefault(path, (repo, reason))
    walk.refuse([(path, repo, reason) for path, (repo, reason) in odd.items()])
    return walk, tops


def fingerprint(layout: Layout, walk: Walk) -> str:
    """Identifies a release's files (path, size, mtime, ctime) under this exact config.

    Unsorted: directory order only changes when directories change, and a different
    order merely costs a plan, never skips one. Each column is hashed whole (no number
    is formatted: 40,000 files cost 30 ms that way).
    """
    digest = hashlib.sha256(layout.config.model_dump_json().encode())
    # No path holds a NUL; an undecodable name keeps its bytes (surrogateescape).
    digest.update("\0".join(walk.paths).encode(errors="surrogateescape"))
    for column in (walk.sizes, walk.mtimes, walk.ctimes):
        digest.update(column.tobytes())
    return digest.hexdigest()


def fingerprints(layout: Layout, releases: list[str] | None = None) -> dict[str, str]:
    """Release -> fingerprint of its files, by a stat walk alone (no header is read)."""
    return {release: fingerprint(layout, walk_release(layout, release)[0])
            for release in releases or layout.config.releases}

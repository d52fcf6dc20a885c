"""The Repos page: contents per repo and arch dir, repodata revision and age, the
upstream mirrors' sync state (the ledger's source syncs), and the download mirrors'
(each one's latest check in the ledger, against our repodata revision now)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.ledger import mirrors
from updraft.ledger.models import SourceSync
from updraft.web.catalog import Shelf

_REVISION = re.compile(rb"<revision>([^<]{0,128})</revision>")
_REPOMD_MAX = 1 << 20  # a repomd.xml is a few kB: never read more than this of one


@dataclass(frozen=True, slots=True)
class ArchDir:
    release: str
    repo: str
    archdir: str
    packages: int
    size: int
    revision: str  # "" when there is no repodata (yet)
    published: datetime | None

    def to_json(self, now: datetime) -> dict[str, Any]:
        age = int((now - self.published).total_seconds()) if self.published else None
        return {"release": self.release, "repo": self.repo, "archdir": self.archdir,
                "packages": self.packages, "bytes": self.size, "revision": self.revision,
                "published": self.published.isoformat() if self.published else None,
                "age_seconds": age}


@dataclass(frozen=True, slots=True)
class Sync:
    release: str
    source: str
    state: str
    started: datetime
    finished: datetime | None
    revision: str
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"release": self.release, "source": self.source, "state": self.state,
                "started": self.started.isoformat(),
                "finished": self.finished.isoformat() if self.finished else None,
                "revision": self.revision, "note": self.note}


def _count(directory: str) -> tuple[int, int]:
    count = size = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".rpm") and entry.is_file(follow_symlinks=False):
                    count += 1
                    size += entry.stat(follow_symlinks=False).st_size
    except OSError:
        pass
    return count, size


def _repomd(path: str) -> tuple[str, datetime | None]:
    try:
        with open(path, "rb") as stream:
            published = datetime.fromtimestamp(os.fstat(stream.fileno()).st_mtime, UTC)
            found = _REVISION.search(stream.read(_REPOMD_MAX))
    except OSError:
        return "", None
    return (found.group(1).decode("utf-8", "replace") if found else ""), published


def arch_dirs(layout: Layout, release: str) -> list[ArchDir]:
    found = []
    for repo, settings in layout.config.repos.items():
        for archdir in [*layout.archdirs(release), SOURCE_DIR]:
            count, size = _count(str(layout.package_dir(release, repo, archdir)))
            revision, published = "", None
            if archdir != SOURCE_DIR and settings.repodata:
                revision, published = _repomd(str(
                    layout.repodata_dir(release, repo, archdir) / "repodata" / "repomd.xml"))
            found.append(ArchDir(release, repo, archdir, count, size, revision, published))
    return found


def families_per_repo(shelves: list[Shelf]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for shelf in shelves:
        counts[(shelf.release, shelf.repo)] = counts.get((shelf.release, shelf.repo), 0) + 1
    return counts


def syncs(session: Session) -> list[Sync]:
    """The newest sync of every (release, source)."""
    newest: dict[tuple[str, str], SourceSync] = {}
    for row in session.scalars(select(SourceSync).order_by(SourceSync.started)):
        newest[(row.release, row.source)] = row
    return [Sync(r.release, r.source, r.state, r.started, r.finished, r.revision, r.note)
            for r in newest.values()]


# A download mirror's state, from its latest check: it served our repodata revision (as it
# is now: a mirror that caught up with an older one is behind again), another one, or
# nothing readable.
IN_SYNC, BEHIND, UNREACHABLE = "in sync", "behind", "unreachable"


@dataclass(frozen=True, slots=True)
class MirrorState:
    mirror: str
    release: str
    repo: str
    archdir: str
    url: str
    state: str
    theirs: str
    ours: str
    error: str
    checked: datetime

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {"mirror": self.mirror, "release": self.release, "repo": self.repo,
                "archdir": self.archdir, "url": self.url, "state": self.state,
                "theirs": self.theirs, "ours": self.ours, "error": self.error,
                "checked": self.checked.isoformat(),
                "age_seconds": int((now - self.checked).total_seconds())}


def mirror_states(session: Session, dirs: list[ArchDir]) -> list[MirrorState]:
    ours = {(d.release, d.repo, d.archdir): d.revision for d in dirs}
    states = []
    for seen in mirrors.latest(session):
        current = ours.get((seen.release, seen.repo, seen.archdir)) or seen.want
        state = (UNREACHABLE if seen.error else IN_SYNC if seen.have == current else BEHIND)
        states.append(MirrorState(seen.mirror, seen.release, seen.repo, seen.archdir,
                                  seen.url, state, seen.have, current, seen.error,
                                  seen.checked_at))
    return states

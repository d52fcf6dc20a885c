"""Catalog: which families each repo holds, read from the SRPMS directories alone.

A family never loses its SRPM, so one directory listing per release × repo names every
family and version there, by file name: no header is read and no binary is stat'ed,
which keeps the Packages page fast on a 20,000-RPM tree.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from updraft.engine.evr import EVR, evr_key, split_sourcerpm
from updraft.engine.layout import Layout


@dataclass(frozen=True, slots=True)
class Shelf:
    """One family in one repo: its versions there, newest first."""

    release: str
    repo: str
    family: str
    evrs: tuple[str, ...]
    arrived: datetime  # the newest SRPM's mtime: how old the newest version is here

    @property
    def newest(self) -> str:
        return self.evrs[0]


def _versions(directory: str) -> dict[str, list[tuple[EVR, float]]]:
    found: dict[str, list[tuple[EVR, float]]] = defaultdict(list)
    try:
        entries = list(os.scandir(directory))
    except OSError:  # a repo not laid out (yet) holds nothing
        return found
    for entry in entries:
        if not entry.name.endswith(".src.rpm") or not entry.is_file(follow_symlinks=False):
            continue
        try:
            name, version, release = split_sourcerpm(entry.name)
            mtime = entry.stat(follow_symlinks=False).st_mtime
        except (ValueError, OSError):
            continue  # a stray name or a file gone meanwhile: the scan reports those
        found[name].append((EVR(None, version, release), mtime))
    return found


def shelves(layout: Layout, releases: list[str] | None = None) -> list[Shelf]:
    """Every family per release × repo, sorted by release, repo (config order), name."""
    result = []
    for release in releases or list(layout.config.releases):
        for repo in layout.config.repos:
            directory = str(layout.source_dir(release, repo))
            for name, versions in sorted(_versions(directory).items()):
                versions.sort(key=lambda item: evr_key(item[0]), reverse=True)
                result.append(Shelf(release, repo, name, tuple(str(e) for e, _ in versions),
                                    datetime.fromtimestamp(versions[0][1], UTC)))
    return result

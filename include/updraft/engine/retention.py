"""Retention: which families a repo keeps (seed 000's max versions / max releases).

"smetest has versions = 2 and release = 3 ... the test repo can have two different
version streams (devel and prod) as well as several releases on each version."
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from updraft.engine.evr import evr_key, version_key
from updraft.engine.family import Family, FamilyKey


def retained(families: Iterable[Family], max_versions: int, max_releases: int) -> set[FamilyKey]:
    """The keys to keep: per source name, the newest `max_versions` versions and, of
    each kept version, the newest `max_releases` releases."""
    by_name: dict[str, list[Family]] = defaultdict(list)
    for family in families:
        by_name[family.name].append(family)
    keep: set[FamilyKey] = set()
    for same_name in by_name.values():
        by_version: dict[tuple[int, str], list[Family]] = defaultdict(list)
        for family in same_name:
            by_version[(family.epoch or 0, family.key.version)].append(family)
        streams = sorted(by_version.values(), key=lambda group: version_key(group[0].evr),
                         reverse=True)
        for stream in streams[:max_versions]:
            newest = sorted(stream, key=lambda family: evr_key(family.evr), reverse=True)
            keep.update(family.key for family in newest[:max_releases])
    return keep

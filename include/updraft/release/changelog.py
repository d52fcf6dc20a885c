"""Changelog: the entries of a package's %changelog and the bug numbers they name.

Real SME changelogs write a reference every way a human can: `[SME: 6425]`,
`[SME 1795]`, `[SME: 790, SME: 1541]`, `[SME: 1285,1300]`, `[SME: 659. 679]`, on a
continuation line, several in one entry, or none. References to other trackers
(`[SF: 1362528]`) are kept apart: they are not our Bugzilla's numbers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import rpm

_NUMBER = re.compile(r"\d+")
_EVR_AT_END = re.compile(r"(?:\s-\s*|\s+)(?P<evr>(?:\d+:)?[\w.+~^]+-[\w.+~^]+)\s*$")


@dataclass(frozen=True)
class BugRefs:
    """What one entry's text names: our tracker's bugs, and other trackers' references."""

    bugs: tuple[int, ...] = ()
    foreign: tuple[str, ...] = ()  # "SF: 1362528"


@dataclass(frozen=True)
class Entry:
    """One %changelog entry: `* Wed Jul 18 2012 Ian Wells <…> 5.0.0-17.sme` and its lines."""

    time: int  # seconds since the epoch, the entry's date
    author: str  # the header line after the date, with the EVR
    text: str
    bugs: tuple[int, ...] = ()
    foreign: tuple[str, ...] = ()

    @property
    def evr(self) -> str:
        found = _EVR_AT_END.search(self.author)
        return found.group("evr") if found else ""

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.time, UTC).strftime("%a %b %d %Y")

    def heading(self) -> str:
        return f"* {self.date} {self.author}"

    def identity(self) -> tuple[int, str, str]:
        return (self.time, self.author, self.text)

    def to_json(self) -> dict[str, object]:
        return {"time": self.time, "author": self.author, "text": self.text,
                "bugs": list(self.bugs), "foreign": list(self.foreign)}

    @classmethod
    def from_json(cls, raw: dict) -> Entry:  # type: ignore[type-arg]
        return cls(int(raw["time"]), raw["author"], raw["text"], tuple(raw.get("bugs", ())),
                   tuple(raw.get("foreign", ())))


class RefParser:
    """Reads bug references with the distribution's pattern and tracker label."""

    def __init__(self, pattern: str, label: str) -> None:
        self.pattern = re.compile(pattern)
        self.label = label.upper()

    def refs(self, text: str) -> BugRefs:
        bugs: list[int] = []
        foreign: list[str] = []
        for found in self.pattern.finditer(text):
            label, body = found.group("label").upper(), found.group("body")
            numbers = [int(n) for n in _NUMBER.findall(_without_labels(body))]
            if label == self.label:
                bugs.extend(numbers)
            else:
                foreign.extend(f"{found.group('label')}: {n}" for n in numbers)
        return BugRefs(tuple(dict.fromkeys(bugs)), tuple(dict.fromkeys(foreign)))

    def entry(self, time: int, author: str, text: str) -> Entry:
        found = self.refs(text)
        return Entry(time, author, text, found.bugs, found.foreign)


def _without_labels(body: str) -> str:
    # "[SME: 790, SME: 1541]": the label may repeat inside the brackets.
    return re.sub(r"[A-Za-z][A-Za-z_-]*\s*:?", " ", body)


@dataclass
class Changelog:
    """A package version's changelog, newest entry first, as rpm stores it."""

    entries: list[Entry] = field(default_factory=list)

    def since(self, older: Changelog | None) -> list[Entry]:
        """The entries this version has and `older` has not: its changes since then."""
        if older is None:
            return list(self.entries)
        known = {entry.identity() for entry in older.entries}
        return [entry for entry in self.entries if entry.identity() not in known]

    def to_json(self) -> list[dict[str, object]]:
        return [entry.to_json() for entry in self.entries]


_TS: rpm.TransactionSet | None = None


def read_changelog(path: Path, parser: RefParser) -> Changelog:
    """The changelog from a package's header (digests were checked by the cycle's scan)."""
    stat = path.stat()
    return _cached(str(path), stat.st_size, stat.st_mtime_ns, parser.pattern.pattern,
                   parser.label)


@lru_cache(maxsize=16384)
def _cached(path: str, size: int, mtime_ns: int, pattern: str, label: str) -> Changelog:
    global _TS
    if _TS is None:
        _TS = rpm.TransactionSet()
        _TS.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
    parser = RefParser(pattern, label)
    fd = os.open(path, os.O_RDONLY)
    try:
        header = _TS.hdrFromFdno(fd)
    finally:
        os.close(fd)
    times = header[rpm.RPMTAG_CHANGELOGTIME] or []
    names = header[rpm.RPMTAG_CHANGELOGNAME] or []
    texts = header[rpm.RPMTAG_CHANGELOGTEXT] or []
    return Changelog([parser.entry(int(t), n, x) for t, n, x in zip(times, names, texts,
                                                                      strict=False)])

"""Changelog: the entries of a package's %changelog and the bug numbers they name.

Real SME changelogs write a reference every way a human can: `[SME: 6425]`,
`[SME 1795]`, `[SME: 790, SME: 1541]`, `[SME: 1285,1300]`, `[SME: 659. 679]`, on a
continuation line, several in one entry, or none. References to other trackers
(`[SF: 1362528]`) are kept apart: they are not our Bugzilla's numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

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
    def from_json(cls, raw: dict[str, Any]) -> Entry:
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
        """This version's changes since `older`: see new_entries."""
        return new_entries(self.entries, older.entries if older is not None else ())

    def to_json(self) -> list[dict[str, object]]:
        return [entry.to_json() for entry in self.entries]


def new_entries(candidate: Sequence[Entry], released: Sequence[Entry]) -> list[Entry]:
    """The entries of `candidate` new since `released` (both newest first), decided the
    way a release manager reads two changelogs.

    A changelog is ordered: what a candidate adds sits above the point where its history
    meets the released one. An entry is "the same" when its text (whitespace normalised)
    and date match, whatever its header says: SME packagers corrected headers that had
    long shipped ("- 2.2.0-5" -> "- 2.2.0-5.sme", spacing, typos), and matching on the
    header made every such entry a change again (closed bugs asked anew, a reopened one
    blocking the release, old fixes in the notes). Right above the meeting point, an entry
    whose text matches the released entry in the same place is that entry with its date
    fixed. Everything above is new, even an entry carrying an old date.
    """
    if not released:
        return list(candidate)
    meeting = _meeting_point(candidate, released)
    return list(candidate if meeting is None else candidate[:meeting])


def _normal(text: str) -> str:
    return " ".join(text.split())


def _meeting_point(candidate: Sequence[Entry], released: Sequence[Entry]) -> int | None:
    """The candidate's index where its history meets `released`, None if it never does."""
    places: dict[str, list[int]] = {}
    for j, entry in enumerate(released):
        places.setdefault(_normal(entry.text), []).append(j)
    found = _first(candidate, places, lambda i, j: candidate[i].time == released[j].time)
    if found is None:
        # No entry kept its date: the text must match and so must the entries below
        # (or both histories end there), so one repeated line ("- Rebuild") is no anchor.
        found = _first(candidate, places, lambda i, j: _fits_below(candidate, released, i, j))
    if found is None:
        return None
    i, j = found
    while i > 0 and j > 0 and _normal(candidate[i - 1].text) == _normal(released[j - 1].text):
        i, j = i - 1, j - 1  # the same entry in the same place, its date fixed
    return i


def _first(candidate: Sequence[Entry], places: dict[str, list[int]],
           same: Callable[[int, int], bool]) -> tuple[int, int] | None:
    for i, entry in enumerate(candidate):
        for j in places.get(_normal(entry.text), ()):
            if same(i, j):
                return i, j
    return None


def _fits_below(candidate: Sequence[Entry], released: Sequence[Entry], i: int, j: int) -> bool:
    if i + 1 == len(candidate) or j + 1 == len(released):
        return i + 1 == len(candidate) and j + 1 == len(released)
    below, under = candidate[i + 1], released[j + 1]
    return below.time == under.time or _normal(below.text) == _normal(under.text)


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

"""Analysis: what a release analysis found, typed — the packages offered (candidate.py),
the bugs (bugfacts.py), how the tracker answered, changes naming no bug, smetest versions
newer than the released ones.

`updraft.release.analysis.analyse` computes it; the report, the Go/NoGo, the release
steps and the Release board read these attributes. `to_json`/`from_json` are the one
boundary to the analysis file (release-N.json), `updraft releasability --format json`
and the board's JSON twin; its keys are the board's and the pages'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate


@dataclass(frozen=True)
class TrackerState:
    """How the tracker answered this analysis (fail closed: unreachable, nothing goes)."""

    url: str
    requests: int  # requests made for this analysis
    reachable: bool
    error: str | None
    asked: int  # bugs asked about

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "requests": self.requests, "reachable": self.reachable,
                "error": self.error, "asked": self.asked}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrackerState:
        return cls(str(raw.get("url") or ""), int(raw.get("requests") or 0),
                   bool(raw.get("reachable")), raw.get("error"), int(raw.get("asked") or 0))


@dataclass(frozen=True)
class ChangeWithoutBug:
    """A changelog entry of an offered or watched version that names no bug (Rnotes' tab)."""

    package: str
    version: str
    repo: str
    entry: str  # its heading and first line

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "repo": self.repo,
                "entry": self.entry}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ChangeWithoutBug:
        return cls(raw["package"], raw["version"], raw.get("repo", ""), raw.get("entry", ""))


@dataclass(frozen=True)
class NewerInSmetest:
    """A released family with a newer version in smetest (changes not offered yet)."""

    package: str
    version: str
    repo: str
    srpm: str | None

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "repo": self.repo,
                "srpm": self.srpm}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NewerInSmetest:
        return cls(raw["package"], raw["version"], raw.get("repo", ""), raw.get("srpm"))


@dataclass
class Analysis:
    release: str
    generated: str
    tracker: TrackerState
    packages: list[ReleaseCandidate]
    bugs: dict[int, BugFacts]
    missing_bugs: list[int]
    changes_without_bugs: list[ChangeWithoutBug]
    smetest_newer: list[NewerInSmetest]
    unchecked: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def releasable(self) -> list[ReleaseCandidate]:
        return [p for p in self.packages if p.releasable]

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release, "generated": self.generated,
            "tracker": self.tracker.to_json(),
            "packages": [package.to_json() for package in self.packages],
            "bugs": {str(bug): facts.to_json() for bug, facts in sorted(self.bugs.items())},
            "missing_bugs": self.missing_bugs,
            "changes_without_bugs": [change.to_json() for change in self.changes_without_bugs],
            "smetest_newer": [newer.to_json() for newer in self.smetest_newer],
            "unchecked_requires": self.unchecked, "timings": self.timings,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Analysis:
        return cls(raw["release"], raw["generated"], TrackerState.from_json(raw["tracker"]),
                   [ReleaseCandidate.from_json(package) for package in raw["packages"]],
                   {int(k): BugFacts.from_json(v) for k, v in raw["bugs"].items()},
                   raw["missing_bugs"],
                   [ChangeWithoutBug.from_json(c) for c in raw["changes_without_bugs"]],
                   [NewerInSmetest.from_json(n) for n in raw["smetest_newer"]],
                   raw.get("unchecked_requires", []), raw.get("timings", {}))

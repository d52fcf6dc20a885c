"""ReleaseCandidate: one package of the analysis, typed — what it offers, what may go, why not.

The analysis, the choice, the advisories and the `tested` record read these attributes;
`to_json`/`from_json` are the one boundary to the JSON the release board, the gate's
XCom and `updraft releasability --format json` carry (its keys are the board's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from updraft.release.changelog import Entry
from updraft.release.releasability import Blocker


def blocker_from_json(raw: dict[str, Any]) -> Blocker:
    return Blocker(kind=raw.get("kind", ""), reason=raw.get("reason", ""), bug=raw.get("bug"),
                   package=raw.get("package"), version=raw.get("version"))


@dataclass(frozen=True)
class VerifiedVersion:
    """An offered version whose own bugs are all verified (seed 004's `tested`), with the
    base names of its files: what the ISO's preflight asks of smeupdates-testing."""

    label: str
    repo: str
    files: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "repo": self.repo, "files": list(self.files)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> VerifiedVersion:
        return cls(raw["label"], raw["repo"], tuple(raw.get("files", ())))


@dataclass(frozen=True)
class ReleaseCandidate:
    name: str
    candidate: str  # the newest version offered, "5.0.0-16.el6.sme"
    releasable: str | None  # the version that may go (maybe older), None: none may
    blocked_by: tuple[Blocker, ...] = ()
    unknown_bugs: tuple[int, ...] = ()
    broken_requires: tuple[str, ...] = ()
    released: str | None = None  # the version released before
    kind: str = "upstream"  # "sme" (its changes name bugs) or "upstream"
    security: bool = False
    bugs: tuple[int, ...] = ()  # the candidate's bugs
    changes: tuple[Entry, ...] = ()  # the candidate's changes since the released version
    release_changes: tuple[Entry, ...] = ()  # the releasable version's
    srpm: str | None = None
    rpms: tuple[str, ...] = ()
    release_files: tuple[str, ...] = ()  # the releasable version's files (paths)
    verified_versions: tuple[VerifiedVersion, ...] = ()

    @property
    def option(self) -> str:
        """What the Go/NoGo offers: `e-smith-base-5.0.0-14.el6.sme`."""
        return f"{self.name}-{self.releasable}"

    @property
    def release_bugs(self) -> frozenset[int]:
        """The bugs the releasable version's changes name (the fix it carries)."""
        return frozenset(bug for change in self.release_changes for bug in change.bugs)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "candidate": self.candidate, "releasable": self.releasable,
            "blocked_by": [blocker.to_json() for blocker in self.blocked_by],
            "unknown_bugs": list(self.unknown_bugs),
            "broken_requires": list(self.broken_requires), "released": self.released,
            "kind": self.kind, "security": self.security, "bugs": list(self.bugs),
            "changes": [entry.to_json() for entry in self.changes],
            "release_changes": [entry.to_json() for entry in self.release_changes],
            "srpm": self.srpm, "rpms": list(self.rpms),
            "release_files": list(self.release_files),
            "verified_versions": [version.to_json() for version in self.verified_versions],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ReleaseCandidate:
        return cls(
            name=raw["name"], candidate=raw["candidate"], releasable=raw.get("releasable"),
            blocked_by=tuple(blocker_from_json(b) for b in raw.get("blocked_by", ())),
            unknown_bugs=tuple(raw.get("unknown_bugs", ())),
            broken_requires=tuple(raw.get("broken_requires", ())),
            released=raw.get("released"), kind=raw.get("kind", "upstream"),
            security=bool(raw.get("security")), bugs=tuple(raw.get("bugs", ())),
            changes=tuple(Entry.from_json(e) for e in raw.get("changes", ())),
            release_changes=tuple(Entry.from_json(e) for e in raw.get("release_changes", ())),
            srpm=raw.get("srpm"), rpms=tuple(raw.get("rpms", ())),
            release_files=tuple(raw.get("release_files", ())),
            verified_versions=tuple(VerifiedVersion.from_json(v)
                                    for v in raw.get("verified_versions", ())),
        )

"""Action and Plan: what a cycle will do to the tree, printable before anything changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Literal

Verb = Literal["move", "copy", "place", "delete", "quarantine", "hold"]

# Report order of one file's actions (seed 000's mails): arrival in a repo, removal of
# superseded versions, the stage mirror, then removal of what moved away.
PHASE_ARRIVE, PHASE_RETIRE, PHASE_STAGE, PHASE_LEAVE = 1, 2, 3, 4


def clean(text: str) -> str:
    """Outside data (file and family names) shown on one line: no control characters."""
    if text.isprintable():  # nearly always: no per-character copy
        return text
    return "".join(char if char.isprintable() else "?" for char in text)


def describe(verb: str, from_repo: str | None, to_repo: str | None, archdir: str,
             filename: str, reason: str = "") -> str:
    """One action in seed 000's words; the report and the ledger's history both use it."""
    # A file name is outside data: a newline in it must not forge a report line.
    filename = clean(filename)
    if verb in ("move", "copy"):
        return f"{verb} from {from_repo} to {to_repo} ({filename})"
    if verb == "delete":
        return f"delete from {from_repo} ({archdir}, {filename})"
    if verb == "quarantine":
        return f"quarantine from {from_repo} ({filename}): {reason}"
    if verb == "hold":  # an arrival in a gated repo without a Go (updraft.engine.hold)
        back = f", back to {to_repo}" if to_repo else ""
        return f"held: {reason} ({filename} in {from_repo}{back})"
    return f"place in {to_repo} ({archdir}, {filename})"


@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    release: str
    family: str  # source package name
    family_evr: str  # version-release of the family, e.g. 0.97.6-1.rf
    package: str  # binary name, or the source name for an SRPM
    filename: str
    archdir: str  # i386, x86_64, SRPMS, or "" when unknown (a bad file)
    src: str  # path relative to the tree root
    dst: str | None  # path relative to the tree root (None for delete)
    from_repo: str | None
    to_repo: str | None
    phase: int
    remove_src: bool
    reason: str = ""
    # The header digest of the build at `src` when planned: a plan (and the digest a Go
    # approves) names the bytes it moves, not only their file names.
    build: str = ""
    # Why the planner wants it (the rule: a promotion, a family pull-up, retention, the
    # stage mirror); told in logs and kept in the ledger's action row. `reason` stays
    # what the report and a package's state show (a quarantine, a hold, a landing rule).
    why: str = ""

    def describe(self) -> str:
        """The Repository Update report line (seed 000's wording)."""
        shown = self.src if self.verb == "quarantine" else self.filename
        return describe(self.verb, self.from_repo, self.to_repo, self.archdir, shown, self.reason)

    def detail(self) -> str:
        """The dry-run line: the report line plus the paths involved."""
        target = f" -> {self.dst}" if self.dst else ""
        paths = clean(f"{self.src}{target}")
        return f"{self.describe()}    [{paths}]"

    def explained(self) -> str:
        """The dry-run line and why the action happens (a task's log, `--dry-run`)."""
        told = "" if self.verb in ("quarantine", "hold") else self.reason  # in describe()
        because = self.why or told
        return f"{self.detail()}    because {clean(because)}" if because else self.detail()

    @property
    def reported(self) -> bool:
        # Normalising a stray file into the repo's layout changes no repo's content.
        return self.verb != "place"


@dataclass(frozen=True, slots=True)
class Touched:
    """A repo arch dir whose content changed: its repodata must be rebuilt."""

    release: str
    repo: str
    archdir: str

    @property
    def label(self) -> str:
        """`9/smetest/i386`: how logs, XComs and the Airflow UI name an arch dir."""
        return f"{self.release}/{self.repo}/{self.archdir}"

    @classmethod
    def from_label(cls, label: str) -> Touched:
        parts = label.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{label!r}: expected RELEASE/REPO/ARCHDIR, e.g. 9/smetest/i386")
        return cls(*parts)


_ACTION_FIELDS = tuple(f.name for f in fields(Action))
_TOUCHED_FIELDS = tuple(f.name for f in fields(Touched))


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions and not self.touched

    def extend(self, other: Plan) -> None:
        self.actions += other.actions
        self.touched += other.touched
        self.warnings += other.warnings

    def to_json(self) -> str:
        # Field by field, not dataclasses.asdict: the same JSON (digests of approved plans
        # stay valid) without asdict's deep copies, which dominated a 50k-RPM plan's cost.
        return json.dumps({
            "actions": [{name: getattr(a, name) for name in _ACTION_FIELDS}
                        for a in self.actions],
            "touched": [{name: getattr(t, name) for name in _TOUCHED_FIELDS}
                        for t in self.touched],
            "warnings": self.warnings,
        })

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        return cls(
            actions=[Action(**action) for action in raw["actions"]],
            touched=[Touched(**touched) for touched in raw["touched"]],
            warnings=list(raw["warnings"]),
        )

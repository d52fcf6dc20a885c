"""BugFacts: one bug as a release analysis reports it — the tracker's answer plus what
the analysis found itself (the versions naming it, a product mismatch).

Built once per bug by the analysis; the Rnotes tabs, the advisories (their references),
the release notes (their text) and the closing of bugs read these attributes.
`to_json`/`from_json` are the one boundary to the analysis file, updates.json and XCom.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from updraft.release.tracker import Bug

_ANSWER_KEYS = frozenset(item.name for item in fields(Bug))


@dataclass(frozen=True)
class BugFacts:
    bug: Bug  # the tracker's answer; Bug(id, None) when it was not asked or did not answer
    packages: tuple[str, ...] = ()  # "e-smith-base-5.0.0-16.el6.sme": the versions naming it
    product_mismatch: bool = False  # filed against another product than the release's
    answered: bool = True  # False: the tracker gave nothing (down), only the number is known

    @classmethod
    def unanswered(cls, bug_id: int, packages: tuple[str, ...] = ()) -> BugFacts:
        return cls(Bug(id=bug_id, status=None), packages, answered=False)

    # The tracker's fields, read as the analysis' own (templates and modules alike).
    @property
    def id(self) -> int:
        return self.bug.id

    @property
    def status(self) -> str | None:
        return self.bug.status

    @property
    def resolution(self) -> str:
        return self.bug.resolution

    @property
    def product(self) -> str:
        return self.bug.product

    @property
    def version(self) -> str:
        return self.bug.version

    @property
    def summary(self) -> str:
        return self.bug.summary

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.bug.keywords

    @property
    def depends_on(self) -> tuple[int, ...]:
        return self.bug.depends_on

    @property
    def blocks(self) -> tuple[int, ...]:
        return self.bug.blocks

    @property
    def access_denied(self) -> bool:
        return self.bug.access_denied

    @property
    def security(self) -> bool:
        return self.bug.security

    def to_json(self) -> dict[str, Any]:
        # An unanswered bug keeps its short form: the tracker's fields are not known.
        raw: dict[str, Any] = (self.bug.to_json() if self.answered
                               else {"id": self.id, "status": None})
        raw["packages"] = list(self.packages)
        raw["security"] = self.security
        raw["product_mismatch"] = self.product_mismatch
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BugFacts:
        return cls(Bug.from_json(raw), tuple(str(p) for p in raw.get("packages") or ()),
                   bool(raw.get("product_mismatch")), answered=_ANSWER_KEYS <= raw.keys())

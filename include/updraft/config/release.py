"""Release settings of the YAML: the `bugzilla:` and `release:` sections.

Seed 000's second half: which repo holds the release candidates (smeupdates-testing),
where they go (smeupdates), which bugs a changelog names ([SME: 6262]), which bug
states count as verified, the mirrors to wait for, and the mails that follow.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A bracketed reference and the tracker label in front of its numbers: [SME: 6425],
# [SME 1795], [SF: 1362528]. The numbers inside are read by `changelog.bug_refs`.
DEFAULT_REFERENCE = r"\[(?P<label>[A-Za-z][A-Za-z0-9_-]*)\s*:?\s*(?P<body>[0-9][^\]\[]*)\]"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloseSettings(_Strict):
    """What closing a released bug sets (seed 000: "Closing all bugs associated with
    released packages")."""

    status: str = "CLOSED"  # VERIFIED becomes CLOSED once the fix is out
    resolution: str = "FIXED"
    comment: str = "Released in {nvr} to {repo} ({release_name} {release}), advisory {advisory}."


class BugzillaSettings(_Strict):
    url: str | None = None  # overridden by UPDRAFT_BUGZILLA_URL; Airflow: connection
    # The tracker label in changelogs ([SME: 6262]) and the pattern finding references.
    label: str = "SME"
    reference: str = DEFAULT_REFERENCE
    # release -> the Bugzilla product (and version) its bugs are filed under; a bug of
    # another product is flagged (Rnotes highlighted it).
    products: dict[str, str] = Field(default_factory=dict)
    verified: tuple[str, ...] = ("VERIFIED",)  # states that let a change be released
    closed: tuple[str, ...] = ("CLOSED",)  # also releasable: closed by hand already
    security_keyword: str = "security"
    batch: int = Field(500, ge=1, le=5000)
    close: CloseSettings = CloseSettings()

    @field_validator("reference")
    @classmethod
    def _reference_has_groups(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        if not {"label", "body"} <= set(compiled.groupindex):
            raise ValueError("needs the named groups (?P<label>...) and (?P<body>...)")
        return value

    @field_validator("products", mode="before")
    @classmethod
    def _release_keys(cls, value: object) -> object:
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    def releasable_states(self) -> frozenset[str]:
        return frozenset(state.upper() for state in (*self.verified, *self.closed))


class AnnounceSettings(_Strict):
    """The release notes mail (seed 000's "[updatesannounce] SME Server 7 Update: …")."""

    to: tuple[str, ...] = ()
    mail_from: str | None = None  # default: report.mail_from
    subject: str = "[updatesannounce] {product} Update: {nvr}"
    upstream_subject: str = "[updatesannounce] {product} Update: Upstream packages {date}"
    product: str = "{name} {release}"  # "SME Server 9"
    # What the subject leaves off a release: "clamav-0.97.6-1" for 0.97.6-1.el4.rf.
    dist_suffix: str = r"(?:\.el\d+(?:_\d+)*)?(?:\.[A-Za-z][A-Za-z0-9]*)*$"
    footer: tuple[str, ...] = (
        "Announcement of maintenance updates for SME Server",
    )


class ReleaseSettings(_Strict):
    candidates: str = "smeupdates-testing"  # what a release takes from
    target: str = "smeupdates"  # where it goes
    # Also read for soft dependencies: a bug partly fixed here is not released yet.
    watch: tuple[str, ...] = ("smetest",)
    # Repos the release lands beside; with `target`, they must satisfy every Requires.
    base: tuple[str, ...] = ("smeos",)
    advisory_prefix: str = "SME"  # SME-2026:1
    security_severity: str = "Important"  # an advisory's severity when a bug is security
    enhancement_keywords: tuple[str, ...] = ("enhancement", "feature")
    # Mirror repodata URLs; {release}, {repo}, {arch} as in the tree (seed 000: "Wait for
    # the mirrors to sync").
    mirrors: tuple[str, ...] = ()
    mirror_timeout: float = Field(6 * 3600.0, gt=0)
    mirror_poll: float = Field(60.0, gt=0)
    announce: AnnounceSettings = AnnounceSettings()
    # Mailed the Go/NoGo's link when it waits (default: report.recipients).
    gate_mail: tuple[str, ...] = ()
    ignore_requires: tuple[str, ...] = (r"^rpmlib\(",)  # provided by rpm itself

    @field_validator("mirrors")
    @classmethod
    def _mirror_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            if not url.startswith(("http://", "https://", "file://")):
                raise ValueError(f"{url!r} is not an http://, https:// or file:// URL")
        return value

    @field_validator("ignore_requires")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return value

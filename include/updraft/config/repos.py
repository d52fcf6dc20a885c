"""The tree's shape in the YAML: path templates, repos and their tiers, releases, the
landing rules and the package policies (pins, local builds, couplings); and the package
states and role names the rest of the config speaks of."""

from __future__ import annotations

import re
import string
from typing import Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from updraft.config.build import BuildOptions, RebaseSettings
from updraft.safepath import UnsafePath, check_relative, plain_name

# Seed 004's package states, in the order a package normally goes through them.
PackageState = Literal[
    "mirroring",
    "waiting",
    "test failed",
    "being built",
    "build failed",
    "unsigned",
    "signed/untested",
    "tested",
    "released",
]
PACKAGE_STATES: tuple[str, ...] = get_args(PackageState)


RoleName = Literal["release_managers", "packagers", "qa", "signers"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathTemplates(Strict):
    """Where a repo's packages live, relative to the tree root.

    Placeholders: {release}, {repo}, {arch} (the arch directory, binaries only).
    """

    binaries: str = "{release}/{repo}/{arch}/RPMS"
    sources: str = "{release}/{repo}/SRPMS"

    @field_validator("binaries")
    @classmethod
    def _binaries_need_arch(cls, value: str) -> str:
        if "{arch}" not in value:
            raise ValueError("the binaries template must contain {arch}")
        return _template(value, {"release", "repo", "arch"})

    @field_validator("sources")
    @classmethod
    def _sources_stay_inside(cls, value: str) -> str:
        return _template(value, {"release", "repo"})


def _template(value: str, allowed: set[str]) -> str:
    """A path template that stays inside the tree root: relative, no '..', only the
    known placeholders (plain), and {release} so releases never share a directory."""
    try:
        fields = [(name, spec, conversion)
                  for _, name, spec, conversion in string.Formatter().parse(value)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid template: {exc}") from None
    for name, spec, conversion in fields:
        if name not in allowed or spec or conversion:
            raise ValueError(f"{value!r}: unknown placeholder {{{name}}} (use only "
                             f"{', '.join('{' + a + '}' for a in sorted(allowed))})")
    if "release" not in {name for name, _, _ in fields}:
        raise ValueError(f"{value!r} must contain {{release}}")
    try:
        check_relative(value.replace("{", "").replace("}", ""), "path template")
    except UnsafePath as exc:
        raise ValueError(f"path template {value!r} refused: {exc.reason}") from None
    return value


def relative_path(value: str, what: str) -> str:
    try:
        check_relative(value, what)
    except UnsafePath as exc:
        raise ValueError(str(exc)) from None
    return value


def config_name(value: str, what: str) -> str:
    """A release, repo or arch dir name: one plain, visible directory name."""
    try:
        plain_name(value, what)
    except UnsafePath as exc:
        raise ValueError(str(exc)) from None
    if value.startswith(".") or value != value.strip():
        raise ValueError(f"{what}: {value!r} refused: hidden or padded with spaces")
    return value


class RepoConfig(Strict):
    """One repository of a release and the rules the update cycle applies to it."""

    tier: int = 0
    max_versions: int = Field(1, ge=1)
    max_releases: int = Field(1, ge=1)
    # Repos this one takes families from: a member copied here pulls its family up.
    pulls_from: tuple[str, ...] = ()
    # "package": only the named packages are pulled out of this repo (smedev keeps the
    # subpackages of a known SRPM that we do not ship, seed 000's php example).
    promote_unit: Literal["family", "package"] = "family"
    feeds_stage: bool = False
    frozen: bool = False
    stage: bool = False
    repodata: bool = True
    paths: PathTemplates | None = None
    # Ledger state a package gets when it arrives here (seed 004).
    enters_state: PackageState | None = None
    # The role whose members must approve a promotion into this repo (Go/NoGo).
    approval: RoleName | None = None
    # Armored public key files (relative to the config): every package here must be
    # signed by one of them; `updraft check` names those that are not.
    signed_by: tuple[str, ...] = ()


class ReleaseConfig(Strict):
    # arch directory -> package arches it holds, e.g. i386: [i386, i586, i686, noarch]
    arches: dict[str, tuple[str, ...]]
    # Source names (shell patterns) rebuilt from upstream SRPMs in this release, on top
    # of the policies' `rebuild: true` (CERN rebuilds almost everything: ["*"]).
    rebuild: tuple[str, ...] = ()

    @field_validator("arches")
    @classmethod
    def _some_arches(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if not value:
            raise ValueError("a release needs at least one arch directory")
        for archdir, accepted in value.items():
            config_name(archdir, "arch directory name")
            for arch in accepted:
                config_name(arch, f"arch of arch directory {archdir!r}")
            if not accepted:
                raise ValueError(f"arch directory {archdir!r} accepts no package arch")
        return value


class LandingConfig(Strict):
    upstream_updates: str = "smetest"
    new_packages: str = "smedev"


class Policy(Strict):
    """A package policy (seed 004): which packages, and what is special about them."""

    match: str
    pin: str | None = None
    local_build: bool = False
    # Rebuild from the upstream SRPM instead of landing upstream's binaries: a new
    # upstream version becomes a build request (issue 17 §2: "Start building?").
    rebuild: bool = False
    # Ask the build's special parameters at a gate, this policy's `build:` pre-filled
    # (seed 004 question 5: the kernel).
    ask_parameters: bool = False
    coupled_with: tuple[str, ...] = ()
    build: BuildOptions = BuildOptions()
    rebase: RebaseSettings | None = None  # rebuild from upstream with our patches
    priority: int = 0  # the stronger policy wins; also the build's priority_weight
    destination: str | None = None  # repo a build lands in instead of landing.upstream_updates
    notify: tuple[str, ...] = ()  # who gets the builder report
    owners: tuple[str, ...] = ()  # mailed when a rebase's patch no longer applies
    note: str = ""


def compiled_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value



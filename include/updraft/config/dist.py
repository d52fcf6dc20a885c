"""Distribution config: the YAML that says what a distribution's tree and rules are.

Validated with pydantic; every error names the file and the key so a release engineer
can fix the YAML without reading code.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from updraft.config.build import BuildOptions, BuildSettings, RebaseSettings
from updraft.config.gates import GateSettings, UserEntry, WebSettings
from updraft.config.iso import IsoSettings
from updraft.config.release import BugzillaSettings, ReleaseSettings
from updraft.config.security import SecuritySettings
from updraft.errors import ConfigError
from updraft.safepath import UnsafePath, check_relative, plain_name

# Seed 004's package states, in the order a package normally goes through them.
PACKAGE_STATES = (
    "mirroring",
    "waiting",
    "test failed",
    "being built",
    "build failed",
    "unsigned",
    "signed/untested",
    "tested",
    "released",
)
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


RoleName = Literal["release_managers", "packagers", "qa", "signers"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathTemplates(_Strict):
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


def _relative(value: str, what: str) -> str:
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


class RepoConfig(_Strict):
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


class ReleaseConfig(_Strict):
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


class LandingConfig(_Strict):
    upstream_updates: str = "smetest"
    new_packages: str = "smedev"


class Policy(_Strict):
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


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


_FINGERPRINT = re.compile(r"^(?:[0-9A-Fa-f]{4}\s?){10}$")


_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """ "512K", "64M", "1G" (powers of 1024) or plain bytes -> bytes; ValueError otherwise."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (write bytes, or e.g. 512K, 64M, 1G)")
    return int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))


def is_fingerprint(entry: str) -> bool:
    """A 40-hex GPG fingerprint (spaces allowed), as opposed to a key file or URL."""
    return bool(_FINGERPRINT.match(entry.strip()))


class UpstreamSource(_Strict):
    """One upstream repo a release takes packages from (seed 000: centos, epel, ...)."""

    name: str
    # http(s):// or file:// URL of the binary repo; {arch} is replaced by each of `arches`.
    baseurl: str
    arches: tuple[str, ...] = ()
    # Where the SRPMs are, when not in the binary repos (CentOS' vault "Source" repo).
    source_url: str | None = None
    # yum's convention: the lower number wins; a name carried by a higher-priority
    # source is never taken from a lower one.
    priority: int = Field(99, ge=1)
    # Armored public key files (relative to the config file) or URLs, or 40-hex
    # fingerprints of keys found in the config's keys_dir (a fingerprint also pins).
    gpgkeys: tuple[str, ...] = ()
    gpgcheck: bool = True
    signed_metadata: bool = False  # verify repodata/repomd.xml.asc
    dist_tag: str | None = None  # a regex every package release must contain, e.g. '\.el6'
    vendor: str | None = None  # the Vendor header every package must carry
    # Land packages that first appear upstream after this source's first sync (smedev).
    land_new: bool = True
    # Limits, so a hostile or broken mirror cannot fill the disk or hang the sync.
    # Sizes take a number of bytes or "512K", "64M", "1G". A file's deadline is the
    # longer of `file_deadline` and its declared size at `min_rate` bytes/s; the whole
    # source (metadata and packages) must finish within `source_deadline` seconds.
    file_deadline: float = Field(300.0, gt=0)
    min_rate: int = Field(16384, gt=0)
    source_deadline: float = Field(3600.0, gt=0)
    size_cap: int = Field(1 << 30, gt=0)  # a package whose size the metadata does not give
    metadata_cap: int = Field(1 << 30, gt=0)  # a metadata file, compressed or decompressed
    quarantine_cap: int = Field(2 << 30, ge=0)  # the source's quarantined bytes, oldest out

    @field_validator("size_cap", "metadata_cap", "quarantine_cap", "min_rate", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError(f"{value!r}: use letters, digits, '.', '_' or '-'")
        return value

    @field_validator("baseurl", "source_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "file://")):
            raise ValueError(f"{value!r} is not an http://, https:// or file:// URL")
        return value

    @field_validator("dist_tag")
    @classmethod
    def _tag_compiles(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)

    @model_validator(mode="after")
    def _consistent(self) -> UpstreamSource:
        if "{arch}" in self.baseurl and not self.arches:
            raise ValueError(f"{self.name}: baseurl has {{arch}} but `arches` is empty")
        if (self.gpgcheck or self.signed_metadata) and not self.gpgkeys:
            raise ValueError(f"{self.name}: gpgcheck or signed_metadata needs `gpgkeys` "
                             "(or set gpgcheck: false for an unsigned source)")
        return self

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(k.replace(" ", "").upper() for k in self.gpgkeys if is_fingerprint(k))

    @property
    def key_files(self) -> tuple[str, ...]:
        return tuple(k for k in self.gpgkeys if not is_fingerprint(k))

    def repo_urls(self) -> dict[str, str]:
        """Upstream repo key ("x86_64", or "SRPMS" for source_url) -> its base URL."""
        if "{arch}" in self.baseurl:
            urls = {arch: self.baseurl.replace("{arch}", arch) for arch in self.arches}
        else:
            urls = {self.arches[0] if self.arches else "all": self.baseurl}
        if self.source_url:
            urls["SRPMS"] = self.source_url
        return urls


class ReportConfig(_Strict):
    mail_from: str = "releases@localhost"
    recipients: tuple[str, ...] = ()
    subject: str = "Repository Update"


class Roles(_Strict):
    release_managers: tuple[str, ...] = ()
    packagers: tuple[str, ...] = ()
    qa: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()


class DistConfig(_Strict):
    name: str
    prefix: str
    root: Path | None = None
    state_dir: Path | None = None
    ledger_url: str | None = None
    # Dist tags differ between an SRPM's file name and its binaries' SOURCERPM header
    # (rpmforge: clamav-0.97.6-1.rf.src.rpm builds clamav-0.97.6-1.el4.rf.i386.rpm).
    dist_tag_pattern: str = r"\.el\d+(?:_\d+)*"
    releases: dict[str, ReleaseConfig]
    paths: PathTemplates = PathTemplates()
    repos: dict[str, RepoConfig]
    landing: LandingConfig = LandingConfig()
    policies: tuple[Policy, ...] = ()
    # release -> its upstream sources; keys_dir holds key files fingerprints refer to.
    upstream: dict[str, tuple[UpstreamSource, ...]] = Field(default_factory=dict)
    upstream_schedule: str = "@hourly"
    keys_dir: Path = Path("keys")
    report: ReportConfig = ReportConfig()
    roles: Roles = Roles()
    # People of `roles:` with an address and a display name; gates, mails, links.
    users: dict[str, UserEntry] = Field(default_factory=dict)
    gates: GateSettings = GateSettings()
    web: WebSettings = WebSettings()
    build: BuildSettings = BuildSettings()
    bugzilla: BugzillaSettings = BugzillaSettings()
    release: ReleaseSettings = ReleaseSettings()
    iso: IsoSettings = IsoSettings()
    security: SecuritySettings = SecuritySettings()
    schedule: str = "0 */2 * * *"
    lock_timeout: float = Field(600.0, ge=0)
    # An unreadable package changed less than this many seconds ago is taken as a `cp`
    # still under way and left for the next cycle instead of being quarantined.
    arrival_grace: float = Field(60.0, ge=0)
    source_file: Path | None = Field(default=None, exclude=True)

    @field_validator("releases", "upstream", mode="before")
    @classmethod
    def _release_keys_are_strings(cls, value: object) -> object:
        # YAML reads `9:` as an int; releases are names.
        if isinstance(value, dict):
            return {str(key): val for key, val in value.items()}
        return value

    @field_validator("releases", "repos")
    @classmethod
    def _plain_names(cls, value: dict[str, object], info: ValidationInfo) -> dict[str, object]:
        for name in value:
            config_name(name, f"{info.field_name} name")
        return value

    @field_validator("paths")
    @classmethod
    def _paths_per_repo(cls, value: PathTemplates) -> PathTemplates:
        for key in ("binaries", "sources"):
            if "{repo}" not in getattr(value, key):
                raise ValueError(f"{key} must contain {{repo}} (repos would share a directory)")
        return value

    @field_validator("state_dir")
    @classmethod
    def _state_dir_inside(cls, value: Path | None) -> Path | None:
        # Absolute: the administrator's choice; relative: it must stay under the root.
        if value is not None and not value.is_absolute():
            _relative(str(value), "state_dir")
        return value

    @field_validator("schedule", "upstream_schedule")
    @classmethod
    def _schedule_is_cron(cls, value: str) -> str:
        if not value.startswith("@") and len(value.split()) != 5:
            raise ValueError(f"{value!r} is not a cron expression (five fields, e.g. "
                             "'0 */2 * * *') or a preset such as '@hourly'")
        return value

    @field_validator("dist_tag_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        return _regex(value)

    @model_validator(mode="after")
    def _repo_references_exist(self) -> DistConfig:
        names = set(self.repos)
        stages = [name for name, repo in self.repos.items() if repo.stage]
        if len(stages) > 1:
            raise ValueError(f"only one repo can be the stage, found {stages}")
        for name, repo in self.repos.items():
            for pulled in repo.pulls_from:
                if pulled not in names:
                    raise ValueError(f"repos.{name}.pulls_from names unknown repo {pulled!r}")
                if self.repos[pulled].stage:
                    raise ValueError(f"repos.{name}.pulls_from cannot name the stage")
        for name, repo in self.repos.items():
            if repo.approval and not getattr(self.roles, repo.approval):
                raise ValueError(f"repos.{name}.approval names role {repo.approval!r}, "
                                 f"but roles.{repo.approval} lists nobody")
        for release, sources in self.upstream.items():
            if release not in self.releases:
                raise ValueError(f"upstream.{release}: no such release in `releases`")
            seen: set[str] = set()
            for source in sources:
                if source.name in seen or source.name in names:
                    raise ValueError(f"upstream.{release}: source name {source.name!r} is "
                                     "used twice or is a repo's name")
                seen.add(source.name)
        for policy in self.policies:
            if policy.destination is not None and policy.destination not in names:
                raise ValueError(f"policy {policy.match!r}: destination names unknown repo "
                                 f"{policy.destination!r}")
        for release in self.build.dist:
            if release not in self.releases:
                raise ValueError(f"build.dist.{release}: no such release in `releases`")
        self._release_repos_exist(names)
        for key in ("upstream_updates", "new_packages"):
            target = getattr(self.landing, key)
            if target not in names:
                raise ValueError(f"landing.{key} names unknown repo {target!r}")
        return self

    def _release_repos_exist(self, names: set[str]) -> None:
        chosen = self.release
        for key, repo in (("candidates", chosen.candidates), ("target", chosen.target),
                          *(("watch", r) for r in chosen.watch),
                          *(("base", r) for r in chosen.base)):
            if repo not in names:
                raise ValueError(f"release.{key} names unknown repo {repo!r}")
        for release in self.bugzilla.products:
            if release not in self.releases:
                raise ValueError(f"bugzilla.products.{release}: no such release in `releases`")

    # -- lookups used everywhere -------------------------------------------------------

    @property
    def stage_repo(self) -> str | None:
        return next((name for name, repo in self.repos.items() if repo.stage), None)

    def paths_for(self, repo: str) -> PathTemplates:
        return self.repos[repo].paths or self.paths

    def repo_order(self) -> list[str]:
        """Repos, highest tier first (the order the report lists rebuilds in)."""
        position = {name: index for index, name in enumerate(self.repos)}
        return sorted(self.repos, key=lambda name: (-self.repos[name].tier, position[name]))

    def promotion_targets(self) -> list[str]:
        """Repos a promotion may move into: every repo but the stage and frozen ones."""
        return [name for name in self.repo_order()[::-1]
                if not self.repos[name].stage and not self.repos[name].frozen]

    def approvers(self, repo: str) -> tuple[str, ...]:
        """Who must approve a promotion into `repo`; empty when nobody needs to."""
        role = self.check_repo(repo) and self.repos[repo].approval
        return getattr(self.roles, role) if role else ()

    def upstream_sources(self, release: str) -> tuple[UpstreamSource, ...]:
        """The release's sources, highest priority (lowest number) first."""
        return tuple(sorted(self.upstream.get(str(release), ()), key=lambda s: s.priority))

    def upstream_source(self, release: str, name: str) -> UpstreamSource:
        for source in self.upstream_sources(self.check_release(release)):
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.upstream_sources(release)) or "none"
        raise ConfigError(f"release {release} has no upstream source {name!r} (it has {known})")

    def resolve_path(self, path: Path | str) -> Path:
        """A path from the config: relative ones are relative to the config file."""
        chosen = Path(path).expanduser()
        if chosen.is_absolute() or self.source_file is None:
            return chosen
        return self.source_file.parent / chosen

    def check_release(self, release: str) -> str:
        release = str(release)  # YAML and Airflow's native templates turn `9` into an int
        if release not in self.releases:
            known = ", ".join(self.releases)
            raise ConfigError(f"unknown release {release!r} (the config has {known})")
        return release

    def check_repo(self, repo: str) -> str:
        if repo not in self.repos:
            known = ", ".join(self.repos)
            raise ConfigError(f"unknown repo {repo!r} (the config has {known})")
        return repo


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    return f"{where}: {error['msg']}"


def load_config(path: str | os.PathLike[str]) -> DistConfig:
    """Read and validate a distribution config; raise ConfigError naming file and key."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start:
            problem += f" ({context} started on line {start.line + 1})"
        raise ConfigError(f"{file}: {where}not valid YAML: {problem}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the config must be a mapping of keys, got {type(raw).__name__}")
    try:
        config = DistConfig.model_validate({**raw, "source_file": file})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{file}: {_describe(first)}{more}") from exc
    return config


def resolve_root(config: DistConfig, override: str | os.PathLike[str] | None = None) -> Path:
    """The tree root: --root, else UPDRAFT_ROOT, else the config's `root`.

    A relative root in the config is taken relative to the config file.
    """
    chosen = override or os.environ.get("UPDRAFT_ROOT") or config.root
    if chosen is None:
        where = config.source_file or "the config"
        raise ConfigError(f"{where}: no tree root: set `root`, UPDRAFT_ROOT or --root")
    root = Path(chosen).expanduser()
    if not root.is_absolute() and override is None and config.source_file is not None:
        if not os.environ.get("UPDRAFT_ROOT"):
            root = config.source_file.parent / root
    return root.resolve()

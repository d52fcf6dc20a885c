"""Distribution config: the YAML that says what a distribution's tree and rules are.

Validated with pydantic; every error names the file and the key so a release engineer
can fix the YAML without reading code.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from updraft.config.build import BuildSettings
from updraft.config.gates import GateSettings, UserEntry, WebSettings
from updraft.config.iso import IsoSettings
from updraft.config.release import BugzillaSettings, ReleaseSettings
from updraft.config.repos import (
    LandingConfig,
    PathTemplates,
    Policy,
    ReleaseConfig,
    RepoConfig,
    Strict,
    compiled_regex,
    config_name,
    relative_path,
)
from updraft.config.security import SecuritySettings
from updraft.config.upstream import UpstreamSource
from updraft.errors import ConfigError


class ReportConfig(Strict):
    mail_from: str = "releases@localhost"
    recipients: tuple[str, ...] = ()
    subject: str = "Repository Update"


class Roles(Strict):
    release_managers: tuple[str, ...] = ()
    packagers: tuple[str, ...] = ()
    qa: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()


class DistConfig(Strict):
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
            relative_path(str(value), "state_dir")
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
        return compiled_regex(value)

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

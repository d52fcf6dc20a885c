"""Source: the SRPM a build starts from, and the plan of which builders build it.

`find_srpm` turns the DAG's or CLI's input (a path, or an upstream NAME-VERSION-RELEASE)
into a file; `read_source` checks it is an intact source package and reads what the
plan needs (seed 004 step 2: "test if we have proper packages"); `plan_build` is a pure
function from that, the config and the request to one job per arch dir.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rpm

from updraft.config.build import BuildOptions, RebaseSettings
from updraft.config.dist import DistConfig
from updraft.engine.evr import EVR
from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import BadPackage, read_facts
from updraft.engine.policy import policies_for
from updraft.errors import ConfigError, PackageNotFound, UpdraftError


class BuildInputError(UpdraftError):
    """The package asked to be built is not a usable source RPM."""


@dataclass(frozen=True)
class SourcePackage:
    path: Path
    name: str
    epoch: int | None
    version: str
    release: str
    build_archs: tuple[str, ...] = ()  # BuildArch of the main package: ("noarch",) or ()
    exclusive_arch: tuple[str, ...] = ()
    exclude_arch: tuple[str, ...] = ()

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"

    @property
    def filename(self) -> str:
        return f"{self.nvr}.src.rpm"

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)

    @property
    def noarch(self) -> bool:
        return self.build_archs == ("noarch",)


def find_srpm(wanted: str, layout: Layout, release: str) -> Path:
    """A path to an SRPM, or NAME-VERSION-RELEASE looked up in the release's upstream
    mirrors and then the tree's SRPMS dirs (highest tier first)."""
    candidate = Path(wanted).expanduser()
    if candidate.is_file() or os.sep in wanted:  # a bare file name is looked up below
        if not candidate.is_file():
            raise PackageNotFound(f"{candidate}: no such file (give an SRPM path or "
                                  "NAME-VERSION-RELEASE)")
        return candidate.resolve()
    filename = wanted if wanted.endswith(".src.rpm") else f"{wanted}.src.rpm"
    mirrors = layout.state_dir / "mirror" / release
    if mirrors.is_dir():
        for found in sorted(mirrors.rglob(filename)):
            return found
    for repo in layout.config.repo_order():
        path = layout.package_dir(release, repo, SOURCE_DIR) / filename
        if path.is_file():
            return path
    raise PackageNotFound(f"{filename}: not in the upstream mirrors of release {release} "
                          f"({mirrors}) nor in any SRPMS dir of the tree; run the upstream "
                          "sync first or give the SRPM's path")


def read_source(path: Path) -> SourcePackage:
    """Check digests (a truncated download is refused) and read the arch tags."""
    try:
        facts = read_facts(path)
    except BadPackage as exc:
        raise BuildInputError(f"{path}: {exc}: fetch it again") from exc
    if not facts.is_source:
        raise BuildInputError(f"{path}: a binary package ({facts.arch}); a build needs the "
                              f"source RPM ({facts.name}-{facts.version}-{facts.release}"
                              ".src.rpm)")
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with open(path, "rb") as stream:
        header = ts.hdrFromFdno(stream.fileno())
    return SourcePackage(
        path=path, name=facts.name, epoch=facts.epoch, version=facts.version,
        release=facts.release,
        build_archs=tuple(header[rpm.RPMTAG_BUILDARCHS] or ()),
        exclusive_arch=tuple(header[rpm.RPMTAG_EXCLUSIVEARCH] or ()),
        exclude_arch=tuple(header[rpm.RPMTAG_EXCLUDEARCH] or ()),
    )


@dataclass(frozen=True)
class PlannedJob:
    """One arch dir's build: where it runs (queue, pool) and with what (mock config)."""

    archdir: str
    target: str
    queue: str
    pool: str
    mock_config: str


@dataclass(frozen=True)
class BuildPlan:
    source: SourcePackage
    release: str
    jobs: tuple[PlannedJob, ...]
    options: BuildOptions
    skipped: tuple[str, ...] = ()  # "i386: ExclusiveArch x86_64"
    rebase: RebaseSettings | None = None
    priority: int = 0
    destination: str | None = None
    notify: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """The plan as the log and the "Build?" gate show it."""
        rows = [f"build {self.source.filename} for release {self.release}"]
        if self.rebase:
            numbers = [n for n, _ in self.rebase.numbered() if n is not None]
            where = (f"as Patch{numbers[0]}..{numbers[-1]}" if numbers
                     else f"from Patch{self.rebase.first_patch}")
            rows.append(f"  rebase: {len(self.rebase.patches)} patches {where}, macros "
                        f"{dict(self.rebase.macros) or 'unchanged'}, release "
                        f"+{self.rebase.release_suffix}")
            if self.rebase.spec_patch:
                rows.append(f"  rebase: spec patch {self.rebase.spec_patch} applied to the "
                            "upstream spec first (when it stops applying, update it under "
                            "build.patches_dir)")
        for job in self.jobs:
            rows.append(f"  {job.archdir}: --target {job.target} on queue {job.queue} "
                        f"(pool {job.pool}, mock -r {job.mock_config})")
        rows += [f"  not built: {line}" for line in self.skipped]
        if not self.options.empty:
            rows.append(f"  options: {' '.join(self.options.rpm_args())}")
        rows += [f"  note: {note}" for note in self.notes]
        return rows


def plan_build(source: SourcePackage, config: DistConfig, release: str,
               arches: Sequence[str] | None = None,
               overrides: BuildOptions | None = None) -> BuildPlan:
    """Which arch dirs build the SRPM, with the matching policies' options (weakest
    first, so the strongest wins) and then the run's overrides."""
    release = config.check_release(release)
    archdirs = list(config.releases[release].arches)
    if arches:
        unknown = [arch for arch in arches if arch not in archdirs]
        if unknown:
            raise ConfigError(f"release {release} has no arch dir {', '.join(unknown)} "
                              f"(it has {', '.join(archdirs)})")
        archdirs = [arch for arch in archdirs if arch in arches]
    chosen, skipped = _buildable(source, config, release, archdirs)
    if not chosen:
        raise BuildInputError(f"{source.filename}: nothing to build for release {release}: "
                              + "; ".join(skipped))
    if source.noarch:  # one build makes the noarch packages every arch dir gets
        skipped += [f"{arch}: noarch package, built once on {chosen[0]}" for arch in chosen[1:]]
        chosen = chosen[:1]
    policies = policies_for(config, source.name).matched
    options = BuildOptions()
    for policy in reversed(policies):
        options = options.merged(policy.build)
    if overrides is not None:
        options = options.merged(overrides)
    jobs = tuple(_job(config, release, arch) for arch in chosen)

    def strongest(attribute: str) -> object:
        return next((getattr(p, attribute) for p in policies if getattr(p, attribute)), None)

    return BuildPlan(
        source=source, release=release, jobs=jobs, options=options, skipped=tuple(skipped),
        rebase=strongest("rebase"),  # type: ignore[arg-type]
        priority=policies[0].priority if policies else 0,
        destination=strongest("destination"),  # type: ignore[arg-type]
        notify=tuple(dict.fromkeys(n for p in policies for n in p.notify)),
        owners=tuple(dict.fromkeys(o for p in policies for o in p.owners)),
        notes=tuple(p.note for p in policies if p.note),
    )


def _buildable(source: SourcePackage, config: DistConfig, release: str,
               archdirs: list[str]) -> tuple[list[str], list[str]]:
    """Judged by the target each builder passes to rpmbuild/mock, as rpmbuild judges."""
    chosen, skipped = [], []
    for archdir in archdirs:
        target = config.build.builder(archdir).target or archdir
        if source.exclusive_arch and target not in source.exclusive_arch:
            skipped.append(f"{archdir}: ExclusiveArch {' '.join(source.exclusive_arch)}")
        elif target in source.exclude_arch:
            skipped.append(f"{archdir}: ExcludeArch {' '.join(source.exclude_arch)}")
        else:
            chosen.append(archdir)
    return chosen, skipped


def _job(config: DistConfig, release: str, archdir: str) -> PlannedJob:
    builder = config.build.builder(archdir)
    return PlannedJob(archdir=archdir, target=builder.target or archdir,
                      queue=builder.queue or f"build-{archdir}",
                      pool=builder.pool or f"build-{archdir}",
                      mock_config=config.build.mock_config_for(release, archdir))


def policy_priority(config: DistConfig, requested: str | None) -> int:
    """Seed 004's "priority during build process" of what a run was asked to build: the
    strongest matching policy's `priority`, read from the SRPM's file name or N-V-R
    (before the file is looked at: the scheduler asks when it creates the tasks)."""
    if not requested:
        return 0
    nvr = Path(str(requested)).name.removesuffix(".rpm").removesuffix(".src")
    parts = nvr.rsplit("-", 2)
    name = parts[0] if len(parts) == 3 else nvr
    matched = policies_for(config, name).matched
    return matched[0].priority if matched else 0

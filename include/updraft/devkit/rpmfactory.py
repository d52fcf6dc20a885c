"""Build real (unsigned) RPMs with rpmbuild, for tests, the demo tree and benchmarks.

A FamilySpec describes one source package and the binaries it builds; build_family turns
it into an SRPM plus binaries per target arch. The packages carry no real software: each
holds one small JSON file naming its NEVR, which keeps them valid and quick to build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

RPMBUILD = "rpmbuild"
NOARCH = "noarch"

# Names and versions go into shell lines of %install, so only rpm's own charset is let in.
_NAME_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+-]*$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9._+~^]+$")
_DIRS_PER_MKDIR = 200  # keeps each mkdir line far below ARG_MAX for huge families
_ERROR_TAIL = 20


@dataclass(frozen=True)
class ChangelogEntry:
    date: str  # "Sun Sep 23 2012"
    author: str  # "Dag Wieers <dag@wieers.com>"
    evr: str  # "0.97.6-1", printed after " - " in the header line
    lines: tuple[str, ...]  # "- Updated to release 0.97.6.", continuation lines allowed


@dataclass(frozen=True)
class Subpackage:
    name: str  # the full binary name (built with `%package -n`)
    arch: str | None = None  # "noarch", or None for the build target arch
    summary: str = ""
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()


@dataclass(frozen=True)
class FamilySpec:
    name: str
    version: str
    release: str  # without dist; the spec says Release: <release>%{?dist}
    epoch: int | None = None
    summary: str = ""
    description: str = ""
    license: str = "GPL"
    url: str = ""
    main_arch: str | None = None  # "noarch" makes the main package noarch
    subpackages: tuple[Subpackage, ...] = ()
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    changelog: tuple[ChangelogEntry, ...] = ()
    binary_dist: str = ""  # %{dist} for the binaries, e.g. ".el4.rf"
    source_dist: str | None = None  # %{dist} for the SRPM, e.g. ".rf"; None: binary_dist
    payload_bytes: int = 0  # random filler appended to the main package's file
    vendor: str = ""  # the Vendor tag upstream sources are checked against

    @property
    def package_names(self) -> list[str]:
        return [self.name] + [sub.name for sub in self.subpackages]

    @property
    def all_noarch(self) -> bool:
        return self.main_arch == NOARCH and all(s.arch == NOARCH for s in self.subpackages)


@dataclass
class BuiltFamily:
    srpm: Path
    binaries: list[Path] = field(default_factory=list)  # noarch ones only once

    def files(self) -> list[Path]:
        return [self.srpm, *self.binaries]


# -- rendering ---------------------------------------------------------------------------


def _text(value: str) -> str:
    """Free text as rpm reads it back: a lone % would start a macro."""
    return value.replace("%", "%%")


def _one_line(value: str, what: str) -> str:
    if "\n" in value:
        raise ValueError(f"{what} must be a single line, got {value!r}")
    return _text(value)


def _check(spec: FamilySpec) -> None:
    for name in spec.package_names:
        if not _NAME_RE.match(name):
            raise ValueError(f"not a usable package name: {name!r}")
    if len(set(spec.package_names)) != len(spec.package_names):
        raise ValueError(f"{spec.name}: package names repeat")
    for what, value in (("version", spec.version), ("release", spec.release)):
        if not _VERSION_RE.match(value):
            raise ValueError(f"{spec.name}: not a usable {what}: {value!r}")
    for sub in spec.subpackages:
        if sub.arch not in (None, NOARCH):
            raise ValueError(f"{sub.name}: rpm only lets a subpackage be noarch, not {sub.arch}")
    if spec.main_arch == NOARCH and any(s.arch != NOARCH for s in spec.subpackages):
        # rpm cannot hang an arch-specific subpackage off a noarch main package.
        raise ValueError(f"{spec.name}: a noarch main package needs noarch subpackages")
    if spec.payload_bytes < 0:
        raise ValueError(f"{spec.name}: payload_bytes must not be negative")


def _deps(requires: tuple[str, ...], provides: tuple[str, ...]) -> list[str]:
    lines = [f"Requires: {_one_line(dep, 'a Requires')}" for dep in requires]
    lines += [f"Provides: {_one_line(dep, 'a Provides')}" for dep in provides]
    return lines


def _preamble(spec: FamilySpec, summary: str) -> list[str]:
    lines = [f"Name: {spec.name}"]
    if spec.epoch is not None:
        lines.append(f"Epoch: {spec.epoch}")
    lines += [
        f"Version: {spec.version}",
        f"Release: {spec.release}%{{?dist}}",
        f"Summary: {_one_line(summary, 'the summary')}",
        f"License: {_one_line(spec.license, 'the license')}",
    ]
    if spec.url:
        lines.append(f"URL: {_one_line(spec.url, 'the URL')}")
    if spec.vendor:
        lines.append(f"Vendor: {_one_line(spec.vendor, 'the vendor')}")
    if spec.main_arch:
        lines.append(f"BuildArch: {spec.main_arch}")
    # The payload is inert JSON; dependency generators would only cost time.
    lines.append("AutoReqProv: no")
    return lines + _deps(spec.requires, spec.provides)


def _subpackage(sub: Subpackage) -> list[str]:
    summary = sub.summary or f"The {sub.name} package"
    lines = ["", f"%package -n {sub.name}", f"Summary: {_one_line(summary, 'a summary')}"]
    if sub.arch:
        lines.append(f"BuildArch: {sub.arch}")
    lines += _deps(sub.requires, sub.provides)
    return lines + ["", f"%description -n {sub.name}", _text(summary)]


def _install(spec: FamilySpec) -> list[str]:
    # Content is JSON on purpose: libmagic recognises it before running its regex tests,
    # which otherwise cost rpmbuild ~5 ms per package when classifying files.
    names = spec.package_names
    # rpmbuild has created the buildroot already; each exec saved counts in huge batches.
    lines = ["", "%install", "cd %{buildroot}"]
    for start in range(0, len(names), _DIRS_PER_MKDIR):
        chunk = names[start : start + _DIRS_PER_MKDIR]
        lines.append("mkdir -p " + " ".join(f"usr/share/{name}" for name in chunk))
    evr = "%{?epoch:%{epoch}:}%{version}-%{release}"
    for name in names:
        lines.append(f'echo \'{{"nevr": "{name}-{evr}"}}\' > usr/share/{name}/{name}.json')
    if spec.payload_bytes:
        main = f"usr/share/{spec.name}/{spec.name}.json"
        lines.append(f"head -c {spec.payload_bytes} /dev/urandom >> {main}")
    return lines


def _files(spec: FamilySpec) -> list[str]:
    lines: list[str] = []
    for index, name in enumerate(spec.package_names):
        header = "%files" if index == 0 else f"%files -n {name}"
        lines += ["", header, f"/usr/share/{name}"]
    return lines


def _changelog(entries: tuple[ChangelogEntry, ...]) -> list[str]:
    if not entries:
        return []
    lines = ["", "%changelog"]
    for entry in entries:
        header = f"* {entry.date} {entry.author} - {entry.evr}"
        lines.append(_one_line(header, "a changelog header"))
        for line in entry.lines:
            if line.lstrip().startswith("*"):
                raise ValueError(f"a changelog line cannot start with '*': {line!r}")
            lines.append(_one_line(line, "a changelog line"))
        lines.append("")
    return lines


def render_spec(spec: FamilySpec) -> str:
    """The spec file text for a family (no sources, no %build: %install writes the files)."""
    _check(spec)
    summary = spec.summary or f"The {spec.name} package"
    lines = _preamble(spec, summary)
    lines += ["", "%description", _text(spec.description or summary)]
    for sub in spec.subpackages:
        lines += _subpackage(sub)
    lines += _install(spec) + _files(spec) + _changelog(spec.changelog)
    return "\n".join(lines).rstrip("\n") + "\n"


# -- building ----------------------------------------------------------------------------

# Everything that makes rpmbuild slow and is useless for inert packages is switched off;
# one OpenMP thread measured faster than several for many tiny subpackages, and the
# caller's pool runs arches side by side instead.
_FAST_DEFINES = {
    "debug_package": "%{nil}",
    "__os_install_post": "%{nil}",
    "__spec_install_post": "%{nil}",
    "_build_id_links": "none",
    "_smp_build_nthreads": "1",
    "_smp_build_ncpus": "1",  # else a shell is spawned just to count CPUs
    "__check_files": "%{nil}",  # %files lists every file %install writes
    "_binary_payload": "w1.gzdio",
    "_source_payload": "w1.gzdio",
    "_buildhost": "updraft.localdomain",
    "_build_name_fmt": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
}


@dataclass(frozen=True)
class _Job:
    index: int  # which family of the batch
    arch: str | None  # None builds the SRPM


def _rpmbuild(spec_file: Path, topdir: Path, dist: str, arch: str | None) -> list[Path]:
    """Run one rpmbuild in a private topdir and return what it wrote."""
    defines = {
        **_FAST_DEFINES,
        "_topdir": str(topdir),
        "_tmppath": str(topdir / "tmp"),
        "dist": dist or "%{nil}",
    }
    (topdir / "tmp").mkdir(parents=True, exist_ok=True)
    mode = ["-bs"] if arch is None else ["-bb", "--target", arch]
    command = [RPMBUILD, *mode, "--nodeps"]
    for name, value in defines.items():
        command += ["--define", f"{name} {value}"]
    command.append(str(spec_file))
    env = {**os.environ, "LC_ALL": "C"}
    try:
        done = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
    except FileNotFoundError as exc:
        raise RuntimeError(f"{RPMBUILD} is not installed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-_ERROR_TAIL:])
        what = "SRPM" if arch is None else f"{arch} binaries"
        raise RuntimeError(f"rpmbuild of {spec_file.stem} ({what}) failed:\n{tail}")
    found = topdir / ("SRPMS" if arch is None else "RPMS")
    return sorted(found.rglob("*.rpm"))


def _jobs(spec: FamilySpec, index: int, arches: Sequence[str]) -> list[_Job]:
    if not arches:
        raise ValueError("at least one target arch is needed")
    targets = list(dict.fromkeys(arches))
    if spec.all_noarch:
        targets = targets[:1]  # every arch build would make the same noarch packages
    return [_Job(index, None)] + [_Job(index, arch) for arch in targets]


def _collect(outdir: Path, job_files: list[tuple[_Job, list[Path]]]) -> BuiltFamily:
    """Move one family's results into outdir; a noarch package built per arch is kept once."""
    srpm: Path | None = None
    binaries: list[Path] = []
    seen: set[str] = set()
    for job, files in job_files:
        for built in files:
            if built.name in seen:
                continue
            seen.add(built.name)
            target = outdir / built.name
            shutil.move(built, target)
            if job.arch is None:
                srpm = target
            else:
                binaries.append(target)
    if srpm is None:
        raise RuntimeError("rpmbuild -bs wrote no SRPM")
    return BuiltFamily(srpm=srpm, binaries=binaries)


def build_families(
    specs: Sequence[FamilySpec],
    outdir: Path,
    arches: Sequence[str] = ("x86_64",),
    jobs: int = 2,
) -> list[BuiltFamily]:
    """Build many families, `jobs` rpmbuild runs at a time; results in the order of specs."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    plan = [job for index, spec in enumerate(specs) for job in _jobs(spec, index, arches)]
    with tempfile.TemporaryDirectory(prefix="updraft-rpmfactory-") as scratch:
        workdir = Path(scratch)
        spec_files = []
        for index, spec in enumerate(specs):
            # Named for rpmbuild's error messages; the index keeps same-NVR specs apart.
            spec_file = workdir / str(index) / f"{spec.name}-{spec.version}-{spec.release}.spec"
            spec_file.parent.mkdir()
            spec_file.write_text(render_spec(spec))
            spec_files.append(spec_file)

        def run(job: _Job) -> list[Path]:
            spec = specs[job.index]
            dist = spec.binary_dist
            if job.arch is None:
                dist = spec.binary_dist if spec.source_dist is None else spec.source_dist
            topdir = workdir / f"top-{job.index}-{job.arch or 'src'}"
            return _rpmbuild(spec_files[job.index], topdir, dist, job.arch)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures: list[Future[list[Path]]] = [pool.submit(run, job) for job in plan]
            try:
                results = [future.result() for future in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        per_family: list[list[tuple[_Job, list[Path]]]] = [[] for _ in specs]
        for job, files in zip(plan, results, strict=True):
            per_family[job.index].append((job, files))
        return [_collect(outdir, job_files) for job_files in per_family]


def build_family(
    spec: FamilySpec, outdir: Path, arches: Sequence[str] = ("x86_64",)
) -> BuiltFamily:
    """Build one family's SRPM and its binaries for each target arch into outdir."""
    # The SRPM and each arch are separate rpmbuild runs, so they can share the cores.
    return build_families([spec], outdir, arches, jobs=os.cpu_count() or 1)[0]

"""The rebase steps that need rpm: `-bp` (every patch applies) and `-bs` (the new SRPM).

They run where the spec can be read: the release's build root (mock, with the build
backend's mock config: an el6 spec is parsed by el6's rpm) or, with the rpmbuild
backend, this worker's own rpmbuild. A spec that worker's rpm refuses (CentOS 6's
`%if %{foo} == bar`) fails there with one line saying to build in the release's root.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from updraft.errors import UpdraftError

LOG_TAIL = 40  # lines of rpmbuild output a PatchFailed carries
RPMBUILD_TIMEOUT = 2 * 3600.0  # samba's %prep unpacks a big tree, but never for hours
# What patch(1) says when a patch does not apply (rpm runs it with -f, so it never asks).
_PATCH_TROUBLE = ("FAILED", "can't find file to patch", "No file to patch", "malformed patch",
                  "Only garbage", "patch: ****")
_PREP_STARTED = "Executing(%prep)"
_SPEC_ERROR = re.compile(r"^error: (line \d+: |\S+\.spec:\d+: )")
_PARSE_TROUBLE = ("bare words are no longer supported", "bad %if condition",
                  "parse error in expression")


class PatchFailed(UpdraftError):
    """One of our patches no longer applies to the new upstream sources (or one of
    upstream's own does not: then `patch` names that one)."""

    against = "sources"  # what it no longer applies to
    tool = "rpmbuild -bp"  # whose output `log` is

    def __init__(self, message: str, *, patch: str, hunk: str, log: str) -> None:
        super().__init__(message)
        self.patch = patch  # the patch's file name
        self.hunk = hunk  # the rejected hunk(s): .rej content, else patch's complaint
        self.log = log  # the tail of the rpmbuild -bp output

    def __reduce__(self) -> tuple[object, tuple[str]]:
        # Keyword-only fields would be lost when a worker pickles the error to its caller.
        return (functools.partial(type(self), patch=self.patch, hunk=self.hunk,
                                  log=self.log), (str(self),))


@dataclass(frozen=True)
class BuildRoot:
    """Where -bs/-bp run: `mock -r <mock_config>` (the release's root), or with no
    mock_config this worker's rpmbuild."""

    mock_config: str | None = None
    mock: str = "mock"
    timeout: float = RPMBUILD_TIMEOUT


def rpmbuild(top: Path, mode: str, spec: Path, dist: str) -> subprocess.CompletedProcess[str]:
    """rpmbuild in the private topdir `top`: nothing it writes lands outside the workdir,
    and HOME is pinned so no ~/.rpmmacros of whoever runs the worker sneaks in."""
    defines = {"_topdir": str(top), "_tmppath": str(top / "tmp"), "dist": dist or "%{nil}",
               # gzip payloads stay readable by the el6/el7 rpm that mock rebuilds them with
               "_source_payload": "w9.gzdio"}
    command = ["rpmbuild", mode, "--nodeps"]
    for name, value in defines.items():
        command += ["--define", f"{name} {value}"]
    env = {**os.environ, "LC_ALL": "C", "HOME": str(top / "home"), "TMPDIR": str(top / "tmp")}
    try:
        return subprocess.run(command + [str(spec)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env,
                              timeout=RPMBUILD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdraftError(f"{spec.name}: rpmbuild {mode} did not run ({exc})") from exc


def refused_by_this_rpm(srpm: Path, mode: str, output: str) -> UpdraftError:
    """The one line for a spec this worker's rpm cannot even parse."""
    return UpdraftError(
        f"{srpm.name}: this worker's rpm cannot parse the rebased spec for rpmbuild {mode} "
        f"({last_error(output)}); an el6-era spec must be built in its release's build "
        "root: set build.backend: mock (mock -r <build.mock_config>)")


def mock_run(root: BuildRoot, args: list[str], resultdir: Path) -> tuple[int, str]:
    """mock with the release's config; its code and what it said (build.log, else
    its console)."""
    assert root.mock_config is not None
    resultdir.mkdir(parents=True, exist_ok=True)
    argv = [root.mock, "-r", root.mock_config, *args, "--resultdir", str(resultdir)]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=root.timeout,
                              check=False, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdraftError(f"mock -r {root.mock_config} {args[0]} did not run ({exc}): "
                           "install mock on this worker or set build.backend: rpmbuild"
                           ) from exc
    log = resultdir / "build.log"
    said = log.read_text(errors="replace") if log.is_file() else ""
    return done.returncode, said or done.stdout


def mock_srpm(srpm: Path, root: BuildRoot, spec: Path, sources: Path, out: Path) -> Path:
    """`mock --buildsrpm`: the new SRPM made by the release's own rpm."""
    code, said = mock_run(root, ["--buildsrpm", "--spec", str(spec), "--sources", str(sources)],
                          out)
    built = sorted(out.glob("*.src.rpm"))
    if code != 0 or len(built) != 1:
        raise UpdraftError(f"{srpm.name}: mock -r {root.mock_config} --buildsrpm of the rebased "
                           f"spec failed ({last_error(said)}): see {out / 'build.log'}")
    return built[0]


def check_prep(srpm: Path, output: str, code: int, patch_files: Sequence[str],
               sources: Path, build: Path, ours: Mapping[str, Path], prep_log: Path) -> None:
    """Raise PatchFailed for the patch that did not apply, UpdraftError for any other
    failure of %prep, or when one of ours was never applied."""
    prep_log.write_text(output)
    runs = patch_runs(output, patch_files, sources)
    if code != 0:
        if runs and any(word in line for line in runs[-1][1] for word in _PATCH_TROUBLE):
            raise patch_failed(srpm, build, runs[-1], ours, output)
        raise UpdraftError(f"{srpm.name}: %prep of the rebased spec failed "
                           f"({last_error(output)}): see {prep_log}")
    applied = {name for name, _ in runs}
    missing = [name for name in ours if name not in applied]
    if missing:
        raise UpdraftError(f"{srpm.name}: %prep never applied our patch {missing[0]} "
                           "(an %autopatch range or %if leaves it out?)")


def unparsable(output: str) -> bool:
    """rpmbuild stopped while reading the spec (before %prep ran): `error: x.spec:9: bad
    %if condition`, "bare words are no longer supported"."""
    return _PREP_STARTED not in output and any(
        _SPEC_ERROR.match(line) or any(word in line for word in _PARSE_TROUBLE)
        for line in output.splitlines())


def patch_runs(output: str, known: Sequence[str], sources: Path) -> list[tuple[str, list[str]]]:
    """Split rpmbuild's output into one run per patch applied: (file name, its lines).

    %patch echoes "Patch #2001 (file):"; %autopatch only traces a command reading
    SOURCES/file (its trace lines may come interleaved: "+ + patch", then the path)."""
    runs: list[tuple[str, list[str]]] = []
    for line in output.splitlines():
        name = None
        if line.startswith("Patch #") and "(" in line and line.endswith("):"):
            name = line[line.index("(") + 1:-2]
        elif not line.startswith("+ echo "):
            # the longest match: a.patch.gz is not a.patch
            name = max((k for k in known if f"{sources}/{k}" in line or f"SOURCES/{k}" in line),
                       key=len, default=None)
        if name is not None:
            runs.append((name, []))
        elif runs:
            runs[-1][1].append(line)
    return runs


def patch_failed(srpm: Path, build: Path, run: tuple[str, list[str]], ours: Mapping[str, Path],
                 output: str) -> PatchFailed:
    name, lines = run
    said = [line for line in lines if not line.startswith("+ ")]
    failed = [line.rstrip(".") for line in said if "FAILED at" in line]
    if failed:
        reason = failed[0] + (f" and {len(failed) - 1} more" if len(failed) > 1 else "")
    else:
        trouble = [line for line in said if any(word in line for word in _PATCH_TROUBLE)]
        reason = trouble[0].split(" -- ")[0].strip().rstrip(".:")
    rejects = [line.rsplit("saving rejects to file ", 1)[1].strip()
               for line in said if "saving rejects to file " in line]
    hunk = _rejected(build, rejects) or "\n".join(said)
    log = "\n".join(output.splitlines()[-LOG_TAIL:])
    if name in ours:
        message = (f"{srpm.name}: our patch {name} no longer applies ({reason}): "
                   f"refresh it in {ours[name]} and build again")
    else:
        message = (f"{srpm.name}: upstream's patch {name} does not apply ({reason}): "
                   "check the SRPM builds as shipped and our rebase macros")
    return PatchFailed(message, patch=name, hunk=hunk, log=log)


def _rejected(build: Path, rejects: Sequence[str]) -> str:
    """The .rej files patch saved (named relative to the unpacked tree under BUILD; in a
    mock root they stay inside the chroot, and patch's own lines are shown instead)."""
    texts = []
    for reject in rejects:
        for path in sorted(build.rglob(Path(reject).name)) if build.is_dir() else ():
            if str(path).endswith(f"/{reject}"):
                texts.append(path.read_text(errors="replace"))
    return "".join(texts)


def last_error(output: str) -> str:
    errors = [line.strip() for line in output.splitlines() if line.startswith(("error: ",
                                                                               "ERROR: "))]
    lines = errors or [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"

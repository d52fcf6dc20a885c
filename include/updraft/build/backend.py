"""Run one build: an SRPM rebuilt by rpmbuild or mock into a result directory.

Seed 004 step 4. A backend turns a BuildJob into one command, runs it in its own process
group (a timeout kills every process the build started), streams its output line by line
to the caller, and reports a BuildOutcome: the binary RPMs and logs left in the result
directory, and one line saying why a failed build failed.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from updraft.config.build import BuildOptions
from updraft.errors import UpdraftError

LineSink = Callable[[str], None]
logger = logging.getLogger(__name__)

_LEAD = b"\xed\xab\xee\xdb"  # an RPM file's first bytes; two bytes later comes its type
_SOURCE_TYPE = b"\x00\x01"
_TERM_GRACE = 10.0  # seconds a timed-out build gets to clean up (mock unmounts its chroot)
_POLL = 0.5  # seconds between checks that the build process is still there
_MAX_LINE = 1 << 20  # a line longer than this is passed on in pieces
_MAX_REASON = 300
_REASON_SCAN = 500  # the lines at a log's end searched for the error: rpmbuild's is near it
# Older mock prefixed the build's stderr in build.log.
_ERROR_LINE = re.compile(r"^(?:BUILDSTDERR:\s*)?(error:.*)$")
_ANY_LINE = re.compile(r"^(.+)$")
_TOPDIR = ".topdir"


class BuildError(UpdraftError):
    """A build could not even start: no executable, an unreadable SRPM, no mock config."""


@dataclass(frozen=True)
class BuildJob:
    srpm: Path  # absolute path of the SRPM to rebuild
    release: str  # "9"
    archdir: str  # the tree's arch dir: "i386", "x86_64"
    target: str  # value for --target (rpmbuild backend); mock's config decides its own
    resultdir: Path  # RPMs and logs end up here; emptied before each attempt
    options: BuildOptions = field(default_factory=BuildOptions)
    mock_config: str = ""  # `mock -r` value (mock backend), e.g. "smeserver-10-x86_64"
    dist: str = ""  # rpmbuild backend: --define "dist <dist>" when non-empty
    timeout: float = 6 * 3600.0
    nodeps: bool = False  # rpmbuild backend: --nodeps (build.nodeps)


@dataclass(frozen=True)
class BuildOutcome:
    ok: bool
    backend: str  # "rpmbuild" | "mock"
    command: tuple[str, ...]  # argv run
    returncode: int  # -1 on timeout
    rpms: tuple[Path, ...]  # binary RPMs in resultdir (never the .src.rpm), sorted
    logs: tuple[Path, ...]  # log files in resultdir, sorted
    reason: str = ""  # one line, "" when ok

    def tail(self, lines: int = 40) -> str:
        """The last lines of build.log (root.log when mock failed before building)."""
        by_name = {log.name: log for log in self.logs}
        log = by_name.get("build.log") or by_name.get("root.log")
        return "\n".join(_tail_lines(log, lines)) if log else ""

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "backend": self.backend, "command": list(self.command),
                "returncode": self.returncode, "rpms": [str(p) for p in self.rpms],
                "logs": [str(p) for p in self.logs], "reason": self.reason}

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> BuildOutcome:
        code = raw.get("returncode")
        if not isinstance(code, int):
            raise ValueError(f"build outcome returncode {code!r}: an integer is needed")
        return cls(ok=raw.get("ok") is True, backend=str(raw.get("backend", "")),
                   command=_texts(raw, "command"), returncode=code,
                   rpms=tuple(Path(p) for p in _texts(raw, "rpms")),
                   logs=tuple(Path(p) for p in _texts(raw, "logs")),
                   reason=str(raw.get("reason", "")))


def _texts(raw: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = raw.get(key, ())
    if not isinstance(value, list | tuple):
        raise ValueError(f"build outcome {key} {value!r}: a list is needed")
    return tuple(str(item) for item in value)


class _Backend:
    name = ""
    install_hint = ""

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def command(self, job: BuildJob) -> list[str]:
        raise NotImplementedError

    def build(self, job: BuildJob, on_line: LineSink | None = None) -> BuildOutcome:
        argv = self.command(job)
        self._check_executable()
        _check_srpm(job)
        _empty_resultdir(job.resultdir)
        returncode, fallback = self._run(job, argv, on_line or (lambda line: None))
        return self._outcome(job, argv, returncode, fallback)

    def _run(self, job: BuildJob, argv: list[str],
             on_line: LineSink) -> tuple[int | None, Iterable[str]]:
        """Run the build; its exit code (None on timeout) and output kept for the reason."""
        raise NotImplementedError

    def _check_executable(self) -> None:
        if shutil.which(self.executable) is None:
            where = "" if os.sep in self.executable else " on PATH"
            raise BuildError(f"{self.executable} not found{where}: {self.install_hint}")

    def _outcome(self, job: BuildJob, argv: list[str], returncode: int | None,
                 fallback: Iterable[str]) -> BuildOutcome:
        logs = tuple(sorted(p for p in job.resultdir.glob("*.log") if p.is_file()))
        rpms = tuple(sorted(p for p in job.resultdir.glob("*.rpm") if returncode == 0
                            and p.is_file() and not p.name.endswith(".src.rpm")))
        if returncode is None:
            reason = f"timed out after {job.timeout:g} s"
        elif returncode != 0:
            detail = _failure_line(logs, fallback)
            reason = f"{self.name} exited {returncode}" + (f": {detail}" if detail else "")
        elif not rpms:
            reason = f"{self.name} exited 0 but left no binary RPMs in {job.resultdir}"
        else:
            reason = ""
        return BuildOutcome(ok=not reason, backend=self.name, command=tuple(argv),
                            returncode=-1 if returncode is None else returncode,
                            rpms=rpms, logs=logs, reason=reason)


class RpmbuildBackend(_Backend):
    name = "rpmbuild"
    install_hint = "install rpm-build on this builder or set build.backend: mock"

    def __init__(self, executable: str = "rpmbuild") -> None:
        super().__init__(executable)

    def command(self, job: BuildJob) -> list[str]:
        dist = ["--define", f"dist {job.dist}"] if job.dist else []
        nodeps = ["--nodeps"] if job.nodeps else []
        return [self.executable, "--rebuild", str(job.srpm),
                "--define", f"_topdir {job.resultdir / _TOPDIR}", *dist,
                "--target", job.target, *nodeps, *job.options.rpm_args()]

    @staticmethod
    def where(job: BuildJob) -> str:
        """Said first in every rpmbuild build's log: what this backend does not isolate."""
        deps = ("build.nodeps: true, BuildRequires are not checked" if job.nodeps else
                "every BuildRequires must be installed here, or set build.nodeps: true")
        return (f"updraft: the rpmbuild backend builds against this worker's own rpmdb and "
                f"shell, not release {job.release}'s build root ({deps}; build.backend: mock "
                "builds in the release's root)")

    def _run(self, job: BuildJob, argv: list[str],
             on_line: LineSink) -> tuple[int | None, Iterable[str]]:
        topdir = job.resultdir / _TOPDIR
        home = topdir / "home"  # no ~/.rpmmacros of the worker's user leaks into the build
        home.mkdir(parents=True)
        logger.warning("%s", self.where(job))  # the task log; build.log stays rpmbuild's own
        env = {**os.environ, "HOME": str(home), "LC_ALL": "C"}
        try:
            with (job.resultdir / "build.log").open("w", encoding="utf-8", buffering=1) as log:
                def sink(line: str) -> None:
                    log.write(line + "\n")
                    on_line(line)

                returncode = _run(argv, env, job.timeout, sink)
            if returncode == 0:
                for built in (topdir / "RPMS").rglob("*.rpm"):
                    shutil.move(built, job.resultdir / built.name)
        finally:
            shutil.rmtree(topdir, ignore_errors=True)
        return returncode, ()


class MockBackend(_Backend):
    name = "mock"
    install_hint = "install mock on this builder or set build.backend: rpmbuild"

    def __init__(self, executable: str = "mock") -> None:
        super().__init__(executable)

    def command(self, job: BuildJob) -> list[str]:
        if not job.mock_config:
            raise BuildError(f"no mock config for release {job.release} arch {job.archdir}: "
                             "set build.mock_config")
        return [self.executable, "-r", job.mock_config, "--rebuild", str(job.srpm),
                "--resultdir", str(job.resultdir), *job.options.rpm_args()]

    def _run(self, job: BuildJob, argv: list[str],
             on_line: LineSink) -> tuple[int | None, Iterable[str]]:
        # mock writes its own logs; its console output only explains a failure that came
        # before any log was written (a bad config, a locked buildroot).
        recent: deque[str] = deque(maxlen=50)

        def sink(line: str) -> None:
            recent.append(line)
            on_line(line)

        return _run(argv, None, job.timeout, sink), recent


def backend_for(name: str, executable: str | None = None) -> RpmbuildBackend | MockBackend:
    if name == "rpmbuild":
        return RpmbuildBackend(executable or "rpmbuild")
    if name == "mock":
        return MockBackend(executable or "mock")
    raise BuildError(f"unknown build backend {name!r}: set build.backend to mock or rpmbuild")


def _check_srpm(job: BuildJob) -> None:
    try:
        with job.srpm.open("rb") as handle:
            lead = handle.read(8)
    except OSError as exc:
        raise BuildError(f"cannot read SRPM {job.srpm}: {exc.strerror or exc}") from exc
    if lead[:4] != _LEAD or lead[6:8] != _SOURCE_TYPE:
        raise BuildError(f"{job.srpm} is not a source RPM: fetch or rebuild the SRPM")
    if job.srpm.resolve().is_relative_to(job.resultdir.resolve()):
        raise BuildError(f"SRPM {job.srpm} lies in the result directory, which is emptied "
                         "before every build: keep SRPMs elsewhere")


def _empty_resultdir(resultdir: Path) -> None:
    """Remove what an earlier attempt of this build (an Airflow retry) left behind."""
    try:
        resultdir.mkdir(parents=True, exist_ok=True)
        for entry in resultdir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    except OSError as exc:
        raise BuildError(f"cannot empty result directory {resultdir}: "
                         f"{exc.strerror or exc}") from exc


def _run(argv: list[str], env: Mapping[str, str] | None, timeout: float,
         sink: LineSink) -> int | None:
    """Run argv in a new session, each output line to sink; its exit code, None on timeout."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    except OSError as exc:
        raise BuildError(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with proc:
        try:
            if _pump(proc, proc.stdout, deadline, sink):
                return proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            return None
        except subprocess.TimeoutExpired:
            return None
        finally:
            _kill_group(proc)


def _pump(proc: subprocess.Popen[bytes], stream: IO[bytes], deadline: float,
          sink: LineSink) -> bool:
    """Pass the output on line by line until it ends (True) or the deadline (False)."""
    fd = stream.fileno()
    os.set_blocking(fd, False)
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(min(left, _POLL)):
                # A daemon the build started may hold the pipe open after the build ended.
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > _MAX_LINE:
                lines, pending = [*lines, pending], b""
            for line in lines:
                sink(line.decode("utf-8", "replace").rstrip("\r"))
    if pending:
        sink(pending.decode("utf-8", "replace").rstrip("\r"))
    return left > 0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End every process of the build's session: asked first, then forced. Also run after a
    normal exit, so that nothing the build left running outlives the task."""
    # ProcessLookupError: the group is gone. PermissionError: a setuid helper (mock's
    # consolehelper) runs it as another user.
    with suppress(ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=_TERM_GRACE)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _failure_line(logs: Iterable[Path], output: Iterable[str]) -> str:
    """The last `error:` line of build.log (then root.log), else the last non-empty line."""
    by_name = {log.name: log for log in logs}
    sources = [_tail_lines(by_name[name], _REASON_SCAN) for name in ("build.log", "root.log")
               if name in by_name]
    sources.append(list(output))
    for pattern in (_ERROR_LINE, _ANY_LINE):
        for lines in sources:
            for line in reversed(lines):
                if match := pattern.match(line.strip()):
                    return match.group(1)[:_MAX_REASON]
    return ""


def _tail_lines(path: Path, count: int) -> list[str]:
    """The last count lines of a text file, read from its end (a build.log can be huge)."""
    if count <= 0:
        return []
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            block = 1 << 15
            while True:
                block = min(size, block * 2)
                handle.seek(size - block)
                data = handle.read(block)
                if block == size or data.count(b"\n") > count:
                    break
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-count:]

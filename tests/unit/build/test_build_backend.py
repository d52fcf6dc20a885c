"""The build backends rebuild real SRPMs: rpmbuild on this host, mock through its stand-in."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest
import rpm

from tests.kits import buildkit
from updraft.build.backend import (
    BuildError,
    BuildJob,
    BuildOutcome,
    MockBackend,
    RpmbuildBackend,
    backend_for,
)
from updraft.config.build import BuildOptions

STANDINS = Path(__file__).resolve().parents[2] / "standins"
OPTIONS = BuildOptions(defines={"greeting": "salut"}, with_=("extras",), without=("docs",))


@pytest.fixture(scope="module")
def srpms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("srpms")
    return {"hello": buildkit.srpm(directory / "hello"),
            "broken": buildkit.srpm(directory / "broken", broken=True),
            "probe": buildkit.srpm(directory / "probe", "probe", probe=True)}


@pytest.fixture
def standin_mock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mock stand-in first on PATH; returns the file it records its argv in."""
    record = tmp_path / "mock-argv.jsonl"
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MOCK_STANDIN_ARGV", str(record))
    return record


def job(srpm: Path, resultdir: Path, target: str = "x86_64", **changes: object) -> BuildJob:
    base = BuildJob(srpm=srpm, release="9", archdir=target, target=target,
                    resultdir=resultdir, dist=".el9", mock_config="smeserver-10-x86_64")
    return dataclasses.replace(base, **changes)


def header(path: Path) -> rpm.hdr:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES)
    with path.open("rb") as handle:
        return ts.hdrFromFdno(handle.fileno())


def names(paths: tuple[Path, ...]) -> list[str]:
    return [path.name for path in paths]


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


# -- rpmbuild -------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_rpmbuild_rebuilds_for_the_target_arch(srpms: dict[str, Path], tmp_path: Path,
                                               arch: str) -> None:
    lines: list[str] = []
    build = job(srpms["hello"], tmp_path / "result", arch)
    outcome = RpmbuildBackend().build(build, lines.append)

    assert outcome.ok, outcome.reason
    assert (outcome.backend, outcome.returncode, outcome.reason) == ("rpmbuild", 0, "")
    assert names(outcome.rpms) == [f"hello-1.0-1.el9.{arch}.rpm",
                                   "hello-doc-1.0-1.el9.noarch.rpm"]
    assert all(path.parent == build.resultdir for path in outcome.rpms)
    assert [header(path)[rpm.RPMTAG_ARCH] for path in outcome.rpms] == [arch, "noarch"]
    assert outcome.logs == (build.resultdir / "build.log",)
    assert "Wrote: " in outcome.logs[0].read_text()
    assert lines == outcome.logs[0].read_text().splitlines()
    assert any(line.startswith("+ gcc -o hello hello.c") for line in lines)
    assert not (build.resultdir / ".topdir").exists()
    assert outcome.command == tuple(RpmbuildBackend().command(build))


def test_a_compile_failure_is_a_failed_outcome(srpms: dict[str, Path], tmp_path: Path) -> None:
    build = job(srpms["broken"], tmp_path / "result")
    outcome = RpmbuildBackend().build(build)

    assert not outcome.ok
    assert outcome.returncode == 1
    assert outcome.reason.startswith("rpmbuild exited 1: error: Bad exit status from ")
    assert outcome.reason.endswith("(%build)")
    assert "hello.c:3:13: error: expected ';' before '}' token" in outcome.tail()
    assert outcome.tail(3).count("\n") == 2
    assert outcome.rpms == ()
    assert not (build.resultdir / ".topdir").exists()


def test_rpmbuild_command(tmp_path: Path) -> None:
    srpm = tmp_path / "in" / "hello-1.0-1.el9.src.rpm"
    options = OPTIONS.merged(BuildOptions(extra_args=("--nocheck",)))
    build = job(srpm, tmp_path / "out", "i386", options=options)
    assert RpmbuildBackend("/opt/rpm/bin/rpmbuild").command(build) == [
        "/opt/rpm/bin/rpmbuild", "--rebuild", str(srpm),
        "--define", f"_topdir {tmp_path / 'out' / '.topdir'}", "--define", "dist .el9",
        "--target", "i386", "--define", "greeting salut", "--with", "extras",
        "--without", "docs", "--nocheck"]
    assert RpmbuildBackend().command(job(srpm, tmp_path / "out", dist=""))[3:6] == [
        "--define", f"_topdir {tmp_path / 'out' / '.topdir'}", "--target"]


def test_defines_and_bconds_reach_the_spec(srpms: dict[str, Path], tmp_path: Path) -> None:
    plain = RpmbuildBackend().build(job(srpms["probe"], tmp_path / "plain"))
    tuned = RpmbuildBackend().build(job(srpms["probe"], tmp_path / "tuned", options=OPTIONS))

    assert plain.ok and tuned.ok, (plain.reason, tuned.reason)
    assert names(plain.rpms) == ["probe-1.0-1.el9.x86_64.rpm", "probe-doc-1.0-1.el9.noarch.rpm"]
    assert names(tuned.rpms) == ["probe-1.0-1.el9.x86_64.rpm"]  # --without docs
    assert "greeting=plain extras=0 docs=1" in header(plain.rpms[0])[rpm.RPMTAG_DESCRIPTION]
    assert "greeting=salut extras=1 docs=0" in header(tuned.rpms[0])[rpm.RPMTAG_DESCRIPTION]


def test_a_retry_starts_from_an_empty_resultdir(srpms: dict[str, Path], tmp_path: Path) -> None:
    build = job(srpms["hello"], tmp_path / "result")
    (build.resultdir / ".topdir" / "RPMS" / "x86_64").mkdir(parents=True)
    (build.resultdir / ".topdir" / "RPMS" / "x86_64" / "stale-1-1.x86_64.rpm").write_text("x")
    (build.resultdir / "stale-1-1.x86_64.rpm").write_text("x")
    (build.resultdir / "root.log").write_text("an earlier attempt\n")

    outcome = RpmbuildBackend().build(build)

    assert outcome.ok
    assert sorted(p.name for p in build.resultdir.iterdir()) == [
        "build.log", "hello-1.0-1.el9.x86_64.rpm", "hello-doc-1.0-1.el9.noarch.rpm"]


def test_success_without_rpms_is_a_failure(srpms: dict[str, Path], tmp_path: Path) -> None:
    # It also leaves a daemon behind holding the output pipe: the build still ends when its
    # process does, and the daemon goes with it.
    pidfile = tmp_path / "daemon.pid"
    fake = script(tmp_path / "rpmbuild", f"sleep 60 &\necho $! > {pidfile}\necho 'nothing'\n")
    started = time.monotonic()
    outcome = RpmbuildBackend(str(fake)).build(job(srpms["hello"], tmp_path / "result"))

    assert time.monotonic() - started < 5
    assert (outcome.ok, outcome.returncode) == (False, 0)
    assert outcome.reason == (f"rpmbuild exited 0 but left no binary RPMs in "
                              f"{tmp_path / 'result'}")
    assert outcome.tail() == "nothing"
    assert not _running(int(pidfile.read_text()))


# -- mock, through the stand-in ---------------------------------------------------------------

def test_mock_rebuilds_with_its_config(srpms: dict[str, Path], tmp_path: Path,
                                       standin_mock: Path) -> None:
    lines: list[str] = []
    build = job(srpms["hello"], tmp_path / "result", options=OPTIONS)
    outcome = MockBackend().build(build, lines.append)

    assert json.loads(standin_mock.read_text()) == [
        "-r", "smeserver-10-x86_64", "--rebuild", str(srpms["hello"]),
        "--resultdir", str(build.resultdir), "--define", "greeting salut",
        "--with", "extras", "--without", "docs"]
    assert outcome.ok, outcome.reason
    assert outcome.command == ("mock", *json.loads(standin_mock.read_text()))
    assert names(outcome.rpms) == ["hello-1.0-1.x86_64.rpm", "hello-doc-1.0-1.noarch.rpm"]
    assert (build.resultdir / "hello-1.0-1.src.rpm").is_file()  # mock's rebuilt SRPM stays
    assert names(outcome.logs) == ["build.log", "root.log", "state.log"]
    assert "INFO: Start: build phase for hello-1.0-1.el9.src.rpm" in lines
    assert "Wrote: " in outcome.tail()


def test_mock_command(tmp_path: Path) -> None:
    build = job(tmp_path / "a.src.rpm", tmp_path / "out", "i386",
                mock_config="smeserver-10-i386", options=BuildOptions(extra_args=("--offline",)))
    assert MockBackend().command(build) == [
        "mock", "-r", "smeserver-10-i386", "--rebuild", str(tmp_path / "a.src.rpm"),
        "--resultdir", str(tmp_path / "out"), "--offline"]


def test_a_failed_mock_build(srpms: dict[str, Path], tmp_path: Path,
                             standin_mock: Path) -> None:
    outcome = MockBackend().build(job(srpms["broken"], tmp_path / "result"))
    assert not outcome.ok
    assert outcome.returncode == 10
    assert outcome.reason.startswith("mock exited 10: error: Bad exit status from ")
    assert outcome.rpms == ()
    assert "error: expected ';' before '}' token" in outcome.tail()


def test_mock_needs_a_config(srpms: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BuildError) as caught:
        MockBackend().build(job(srpms["hello"], tmp_path / "r", "i386", mock_config=""))
    assert str(caught.value) == ("no mock config for release 9 arch i386: "
                                 "set build.mock_config")


# -- builds that cannot start -----------------------------------------------------------------

def test_a_missing_executable(srpms: dict[str, Path], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    build = job(srpms["hello"], tmp_path / "result")
    with pytest.raises(BuildError) as caught:
        MockBackend().build(build)
    assert str(caught.value) == ("mock not found on PATH: install mock on this builder or "
                                 "set build.backend: rpmbuild")
    with pytest.raises(BuildError) as caught:
        RpmbuildBackend().build(build)
    assert str(caught.value) == ("rpmbuild not found on PATH: install rpm-build on this "
                                 "builder or set build.backend: mock")
    with pytest.raises(BuildError, match=r"^/nowhere/mock not found: install mock"):
        MockBackend("/nowhere/mock").build(build)
    assert not build.resultdir.exists()


def test_a_missing_or_wrong_srpm(srpms: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "gone-1.0-1.src.rpm"
    with pytest.raises(BuildError) as caught:
        RpmbuildBackend().build(job(missing, tmp_path / "result"))
    assert str(caught.value) == f"cannot read SRPM {missing}: No such file or directory"

    binary = tmp_path / "hello-1.0-1.el9.x86_64.rpm"
    binary.write_bytes(b"\xed\xab\xee\xdb\x03\x00\x00\x00" + bytes(88))  # lead, type 0
    with pytest.raises(BuildError, match=r"is not a source RPM: fetch or rebuild the SRPM$"):
        RpmbuildBackend().build(job(binary, tmp_path / "result"))

    inside = job(srpms["hello"], srpms["hello"].parent)
    with pytest.raises(BuildError, match="lies in the result directory"):
        RpmbuildBackend().build(inside)
    assert srpms["hello"].is_file()


def test_a_timeout_kills_the_whole_process_group(srpms: dict[str, Path],
                                                 tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    hang = script(tmp_path / "hang", f"echo started\nsleep 60 &\necho $! > {pidfile}\nwait\n")
    lines: list[str] = []
    started = time.monotonic()
    outcome = RpmbuildBackend(str(hang)).build(
        job(srpms["hello"], tmp_path / "result", timeout=1), lines.append)

    assert time.monotonic() - started < 5
    assert (outcome.ok, outcome.returncode) == (False, -1)
    assert outcome.reason == "timed out after 1 s"
    assert lines == ["started"]
    assert not _running(int(pidfile.read_text()))


def _running(pid: int) -> bool:
    """Whether pid is alive; a killed orphan may linger as a zombie if nobody reaps it."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.01)  # SIGKILL is delivered; the exit itself may take a moment
    return True


# -- the outcome --------------------------------------------------------------------------------

def test_outcome_round_trips_through_json(tmp_path: Path) -> None:
    outcome = BuildOutcome(ok=False, backend="mock", command=("mock", "-r", "x"),
                           returncode=10, rpms=(tmp_path / "a.rpm",),
                           logs=(tmp_path / "build.log",), reason="mock exited 10: error: x")
    assert BuildOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome
    assert outcome.tail() == ""  # no build.log on disk
    with pytest.raises(ValueError, match="returncode"):
        BuildOutcome.from_dict({**outcome.to_dict(), "returncode": "10"})


def test_backend_for() -> None:
    assert isinstance(backend_for("rpmbuild"), RpmbuildBackend)
    assert backend_for("mock", "/usr/local/bin/mock").executable == "/usr/local/bin/mock"
    with pytest.raises(BuildError, match="unknown build backend 'koji'"):
        backend_for("koji")

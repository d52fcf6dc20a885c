"""Shared fixtures: real RPMs built once per session with rpmbuild."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kits import crash, isokit, treehealth, treekit, upstreamkit
from tests.kits.signing import SigningKey, make_key
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that runs Airflow in-process (it uses `airflow_db`) times out by
    pytest-timeout's thread method. The default signal method arms SIGALRM, and Airflow
    re-arms and then clears that one process-wide timer whenever it parses a DAG file (its
    dagbag_import_timeout: the dagbag fixture, and dag.test() itself, which re-parses the
    bundle) or runs a task with an execution_timeout: the test's deadline was silently
    gone, and a dag.test() waiting for a gate nobody answers hung for ever. The thread
    method dumps every thread's stack and ends the session instead."""
    for item in items:
        if "airflow_db" not in getattr(item, "fixturenames", ()):
            continue
        marker = item.get_closest_marker("timeout")
        if marker is not None and (len(marker.args) > 1 or "method" in marker.kwargs):
            continue  # the test chose its method
        timeout = marker.args[0] if marker is not None and marker.args else (
            marker.kwargs.get("timeout") if marker is not None else None)
        item.add_marker(pytest.mark.timeout(timeout=timeout, method="thread"), append=False)


# -- the crash suites' figures, from this process and from every xdist worker ------------

_WORKERS_CRASH_FIGURES: list[dict[str, Any]] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    handed = getattr(session.config, "workeroutput", None)
    if handed is not None:  # an xdist worker: its controller prints the figures
        handed["crash"] = crash.figures()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    _WORKERS_CRASH_FIGURES.extend(getattr(node, "workeroutput", {}).get("crash", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    every = crash.figures() + _WORKERS_CRASH_FIGURES
    if not every:
        return
    text = crash.summary(every)
    terminalreporter.write_sep("-", f"crash suites (seed {crash.seed()})")
    terminalreporter.write_line(text)
    report = os.environ.get("UPDRAFT_CRASH_REPORT")
    if report:
        Path(report).write_text(f"seed {crash.seed()}\n{text}\n")


@pytest.fixture(autouse=True)
def _tree_stays_healthy(request: pytest.FixtureRequest,
                        monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`updraft check` runs clean on every tree a test's cycles wrote (tests/treehealth.py);
    a tree left broken on purpose is marked @pytest.mark.unhealthy_tree("why")."""
    with treehealth.recording(monkeypatch) as trees:
        yield
    if request.node.get_closest_marker("unhealthy_tree") or request.node.stash.get(
            _CALL_FAILED, True):
        return
    found = treehealth.problems(trees)
    if found:
        pytest.fail("updraft check after the test:\n" + "\n".join(found[:30]), pytrace=False)


@pytest.fixture(scope="session")
def rpm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rpms")


@pytest.fixture(scope="session")
def clamav_old(rpm_store: Path) -> BuiltFamily:
    return treekit.build(treekit.clamav("0.97.5", "2"), rpm_store)


@pytest.fixture(scope="session")
def clamav_new(rpm_store: Path) -> BuiltFamily:
    return treekit.build(treekit.clamav("0.97.6", "1"), rpm_store)


@pytest.fixture
def engine(tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily) -> Engine:
    """Seed 000's starting point, settled: 0.97.6-1 in smetest, 0.97.5-2 in
    smeupdates-testing and the stage."""
    config = treekit.sme_config()
    layout = Layout(config, tmp_path / "tree")
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    engine = Engine(config, layout.root)
    assert engine.update_repos().ok
    return engine


# -- upstream sync: the families of tests/upstreamkit.py, built and signed once ------------

@pytest.fixture(scope="session")
def families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltFamily]:
    return upstreamkit.build_all(tmp_path_factory.mktemp("upstream-rpms"))


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    directory = tmp_path_factory.mktemp("keys")
    return {"centos": make_key(directory, "CentOS Test"),
            "stranger": make_key(directory, "Stranger")}


@pytest.fixture(scope="session")
def signed(families: dict[str, BuiltFamily], keys: dict[str, SigningKey],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every family's files signed by the centos key, by file name."""
    copies = upstreamkit.signed_copies(families, list(families),
                                       tmp_path_factory.mktemp("signed"), keys["centos"])
    return {path.name: path for path in copies}


# -- ISO build (seed 002): the release key and every package of tests/isokit.py ----------

@pytest.fixture(scope="session")
def iso_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return make_key(tmp_path_factory.mktemp("iso-key"), "SME Release")


@pytest.fixture(scope="session")
def iso_files(tmp_path_factory: pytest.TempPathFactory, iso_key: SigningKey) -> isokit.IsoFiles:
    return isokit.build_files(tmp_path_factory.mktemp("iso-rpms"), iso_key)

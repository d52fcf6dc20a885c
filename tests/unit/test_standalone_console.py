"""make run's console (issue 18 §4): component lines go to log files, the console keeps
updraft's own lines and errors; a component that ignores SIGTERM is killed, with its
whole process group, STOP_GRACE seconds later, so Ctrl-C ends quickly."""

from __future__ import annotations

import importlib.util
import os
import time
from collections import deque
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
pytestmark = pytest.mark.timeout(60)


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_standalone",
                                                  SCRIPTS / "airflow_standalone.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_console_keeps_updrafts_lines_and_errors_only() -> None:
    keep = _launcher().for_console
    assert keep("2026-12-07T02:22:51Z [info     ] watching /tree every 5 s "
                "[updraft_airflow.triggers.TreeDropTrigger] dag_id=None")
    assert keep("2026-12-07T02:22:51Z [info     ] rebuilt 9/smetest/i386 [updraft.engine.repodata]")
    assert keep("2026-12-07T02:22:57Z [error    ] Error while calling listener [airflow.x]")
    assert not keep("BrokenPipeError: [Errno 32] Broken pipe")  # under an error line
    assert not keep("2026-12-07T02:21:55Z [info     ] Worker starting up pid=9291 "
                    "[airflow.executors.local_executor.LocalExecutor]")
    assert not keep("2026-12-07T02:21:55Z [info     ] request finished [http.access] "
                    "method=GET path=/api/v2/version status_code=200")


def test_a_component_ignoring_sigterm_is_killed_with_its_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.cli.commands import standalone_command

    launcher = _launcher()
    monkeypatch.setattr(launcher, "STOP_GRACE", 0.5)
    fake = tmp_path / "airflow"  # a "component" whose child holds the output pipe open
    fake.write_text("#!/bin/bash\ntrap '' TERM\necho started\nsleep 60 &\nwait\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    original = standalone_command.SubCommand
    try:
        launcher.patch()
        parent: Any = SimpleNamespace(output_queue=deque())
        command = standalone_command.SubCommand(parent, "scheduler", ["scheduler"],
                                                dict(os.environ))
        command.start()
        deadline = time.monotonic() + 20
        while not parent.output_queue and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        command.stop()
        command.join(20)
        assert not command.is_alive()
        assert time.monotonic() - started < 10
    finally:
        standalone_command.SubCommand = original
    assert parent.output_queue[0][1] == b"started\n"


def test_airflows_lines_about_updrafts_assets_are_not_updrafts() -> None:
    keep = _launcher().for_console
    assert not keep("2026-12-07T03:08:34Z [warning  ] AssetModel SerializedAsset("
                    "name='updraft://9/smetest', uri='updraft://9/smetest') not found; cannot "
                    "create asset event. [airflow.assets.manager.AssetManager]")
    assert not keep("2026-12-07T03:08:34Z [info     ] Dynamically creating AssetModel "
                    "SerializedAssetUniqueKey(name='updraft://10/smedev') [airflow.task]")
    assert keep("2026-12-07T03:09:47Z [warning  ] updraft: the rpmbuild backend builds "
                "against this worker's own rpmdb [airflow.task]")


def test_standalone_does_not_claim_to_force_its_auth_manager(
        capsys: pytest.CaptureFixture[str]) -> None:
    standalone = _launcher().UpdraftStandalone("updraft_airflow.auth.UpdraftSimpleAuthManager")
    standalone.print_output("standalone", "Forcing auth manager to SimpleAuthManager")
    standalone.print_output("standalone", "Database ready")
    out = capsys.readouterr().out
    assert "Forcing auth manager" not in out
    assert "Database ready" in out


def test_a_kill_notice_is_one_whole_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The components' kill timers fire together: a notice written in pieces ran into the
    next one ("...: killedstandalone.sh: triggerer ...")."""
    import subprocess
    import sys

    from airflow.cli.commands import standalone_command

    launcher = _launcher()
    writes: list[str] = []
    monkeypatch.setattr(sys, "stderr", SimpleNamespace(write=writes.append, flush=lambda: None))
    original = standalone_command.SubCommand
    try:
        launcher.patch()
        command = standalone_command.SubCommand(SimpleNamespace(output_queue=deque()),
                                                "triggerer", ["triggerer"], {})
        command.process = subprocess.Popen(["sleep", "60"], start_new_session=True)
        command.kill()
        command.process.wait(10)
    finally:
        standalone_command.SubCommand = original
    assert writes == ["standalone.sh: triggerer still running 5 s after SIGTERM: killed\n"]

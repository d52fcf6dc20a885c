"""Issue 18 §3: a task's log names every action once, with its reason (the engine logs
a count, the operator each action, the report is named by its file, not repeated)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.kits import treekit
from updraft_airflow.operators import RepoApplyOperator, RepodataOperator

pytestmark = pytest.mark.timeout(120)


class _TI:
    dag_id, run_id, task_id, map_index, try_number = "update_repos", "manual__log", "apply", -1, 1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_the_apply_log_names_each_action_once_with_its_reason(
        clamav_tree: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    # seed 000: a packager copies one file of the family up; the cycle pulls up the rest
    shutil.copy2(clamav_tree / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm",
                 clamav_tree / "9/smeupdates-testing/x86_64/RPMS/")
    ti = _TI()
    caplog.set_level(logging.INFO)

    unpublished = RepoApplyOperator(task_id="apply", release="9").execute({"ti": ti})

    lines = [record.getMessage() for record in caplog.records]  # the library's
    task_log = capfd.readouterr().out  # the operator's (structlog)
    moved = [line for line in lines if line.startswith("move from smetest to "
                                                       "smeupdates-testing (clamav-db-0.97.6")]
    assert len(moved) == 2, lines  # i386 and x86_64, each once
    assert all(line.endswith("because family pull-up: clamav-0.97.6-1.rf has packages in "
                             "smeupdates-testing") for line in moved)
    retired = [line for line in lines if line.startswith("delete from smeupdates-testing "
                                                         "(i386, clamav-db-0.97.5")]
    assert len(retired) == 1 and "because retention: smeupdates-testing keeps" in retired[0]
    assert "clamav-db-0.97.6-1.el4.rf.i386.rpm" not in task_log  # not listed again
    report = Path(ti.pushed["report_file"])
    assert f"applied 28 of 28 actions (0 families not applied); Repository Update report: " \
           f"{report}" in task_log
    assert "move from smetest to smeupdates-testing (clamav-db-0.97.6-1.el4.rf.i386.rpm)" in (
        report.read_text())
    for label in unpublished:  # the repodata task of the DAG: the tree ends healthy
        RepodataOperator(task_id="repodata", repo_dir=label).execute({"ti": ti})
    assert not (clamav_tree / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm").exists()
    assert treekit.repo_hrefs(clamav_tree / "9/smeupdates-testing/x86_64") == sorted(
        str(p.relative_to(clamav_tree / "9/smeupdates-testing/x86_64"))
        for p in (clamav_tree / "9/smeupdates-testing/x86_64").rglob("*.rpm"))

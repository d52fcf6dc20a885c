"""The update_repos DAG's last task, `check`: green on a healthy tree, red with the
problems when the cycle leaves one unhealthy (issue 16 §3)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from updraft.devkit.mailsink import MailSink

pytestmark = pytest.mark.timeout(240)

DROP = "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm"


def _states(run) -> dict[str, str]:  # an Airflow DagRun
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state
            for ti in run.get_task_instances()}


def test_the_cycle_ends_with_a_healthy_check(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    shutil.copy(clamav_tree / DROP, clamav_tree / "9/smeupdates-testing/")

    run = dagbag.get_dag("update_repos").test()

    states = _states(run)
    assert run.state == "success" and states["check"] == "success", states


@pytest.mark.unhealthy_tree("a family without its SRPM: the check task must fail on it")
def test_an_unhealthy_tree_turns_the_run_red(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    # The family promoted by the `cp` has lost its SRPM: no plan can make it whole.
    (clamav_tree / "9/smetest/SRPMS/clamav-0.97.6-1.rf.src.rpm").unlink()
    shutil.copy(clamav_tree / DROP, clamav_tree / "9/smeupdates-testing/")

    run = dagbag.get_dag("update_repos").test()

    states = _states(run)
    assert run.state == "failed" and states["check"] == "failed", states
    assert states["verdict"] == "success"  # the cycle itself applied everything
    assert not list((clamav_tree / "9/smetest").rglob("*.rpm"))

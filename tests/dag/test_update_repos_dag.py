"""dag.test() of update_repos on seed 000's clamav tree: tree, repodata, mail, assets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.seed_mails import FIRST_MAIL
from updraft.devkit.mailsink import MailSink

pytestmark = pytest.mark.timeout(240)

NEW = [f"{name}-0.97.6-1.el4.rf" for name in ("clamav", "clamav-db", "clamd")]


def _asset_events(run_id: str) -> dict[str, dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)
        ).all()
    return {uri: extra for uri, extra in rows}


def _states(run) -> dict[str, str]:  # an Airflow DagRun
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state
            for ti in run.get_task_instances()}


def test_cp_into_updates_testing_runs_the_whole_cycle(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    dag = dagbag.get_dag("update_repos")
    shutil.copy(clamav_tree / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                clamav_tree / "9/smeupdates-testing/")

    run = dag.test()

    assert run.state == "success", _states(run)
    # The tree and its repodata, as after the seed's `cp`.
    assert not list((clamav_tree / "9/smetest").rglob("*.rpm"))
    for arch in ("i386", "x86_64"):
        assert treekit.repo_hrefs(clamav_tree / "9/smeupdates-testing" / arch) == [
            f"RPMS/{nvr}.{arch}.rpm" for nvr in NEW]
        assert treekit.repo_hrefs(clamav_tree / "9/smetest" / arch) == []
    assert not list((clamav_tree / ".updraft/repodata-pending").rglob("*/*/*"))
    # The mail, as the SMTP server received it.
    [mail] = mailbox.wait_for(1, timeout=10)
    assert mail["Subject"] == "[updatesteam] Repository Update"
    assert mail["To"] == "updatesteam@lists.contribs.org"
    [raw] = [path.read_bytes() for path in mailbox.directory.glob("*.eml")]
    assert b"\nFrom: releases@contribs.org (Releases)\n" in raw.replace(b"\r\n", b"\n")
    assert mail.get_content().replace("\r\n", "\n") == FIRST_MAIL
    # One asset event per changed repo.
    events = _asset_events(run.run_id)
    assert set(events) == {"updraft://9/smetest", "updraft://9/smeupdates-testing"}
    assert events["updraft://9/smeupdates-testing"]["archdirs"] == ["i386", "x86_64"]
    assert events["updraft://9/smetest"]["plan_id"] == mail["X-Updraft-Plan"]


def test_a_settled_tree_stops_after_the_plan(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    run = dagbag.get_dag("update_repos").test()

    states = _states(run)
    assert states["plan"] == "success" and states["anything_to_do"] == "success"
    assert states["apply"] == "skipped" and states["mail"] == "skipped"
    assert mailbox.messages() == []
    assert _asset_events(run.run_id) == {}


def test_a_consistent_tree_without_marks_is_marked_by_the_plan(
    dagbag, clamav_tree: Path, mailbox: MailSink
) -> None:
    """Marks that describe other files than the tree's (an upgrade changed the
    fingerprint; a `cp` taken back out): nothing to do, so apply is skipped, and the plan
    task marks the tree settled itself; else every cycle would plan it in full and the
    tree watcher could not tell the next drop from it. A dry run marks nothing."""
    from updraft.engine.engine import Engine
    from updraft.engine.walk import fingerprints

    engine = Engine(treekit.sme_config(), clamav_tree)
    stale = {release: "0" * 64 for release in engine.settled()}
    engine.settled_file.write_text(json.dumps(stale))

    run = dagbag.get_dag("update_repos").test(run_conf={"dry_run": True})
    assert _states(run)["apply"] == "skipped"
    assert engine.settled() == stale

    run = dagbag.get_dag("update_repos").test(run_conf={"dry_run": False})
    states = _states(run)
    assert states["plan"] == "success" and states["apply"] == "skipped", states
    assert engine.settled() == fingerprints(engine.layout)
    assert mailbox.messages() == []


def test_dry_run_changes_nothing(dagbag, clamav_tree: Path, mailbox: MailSink) -> None:
    dropped = clamav_tree / "9/smeupdates-testing/clamav-0.97.6-1.el4.rf.i386.rpm"
    shutil.copy(clamav_tree / "9/smetest/i386/RPMS" / dropped.name, dropped)
    before = treekit.rpm_files(clamav_tree)

    run = dagbag.get_dag("update_repos").test(run_conf={"dry_run": True})

    assert _states(run)["apply"] == "skipped"
    assert treekit.rpm_files(clamav_tree) == before
    assert mailbox.messages() == []

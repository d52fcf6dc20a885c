"""Issue 15 §3: a repo with an `approval` role (smeupdates) changes only through a Go.

A careless or hostile `cp` into smeupdates is held aside (journaled), never in repodata,
reported and turned into a pending request; the engine's own pull-up does not carry a
family in; the CLI refuses; an override is recorded with the OS user and mailed; a
promotion's plan (and digest) covers its own family only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.kits import treekit
from updraft.devkit.mailsink import MailSink
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.cycle import plan_digest
from updraft.engine.engine import Engine
from updraft.engine.promote import Promotion
from updraft.errors import PlanChanged
from updraft.gate import os_user, refuse_requests
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords

FAMILY = "clamav-0.97.6-1.el4.rf"
I386 = "clamav-0.97.6-1.el4.rf.i386.rpm"
HELD = "held: clamav-0.97.6-1.rf waits for a Go from release_managers"


@pytest.fixture(scope="session")
def other(rpm_store: Path) -> BuiltFamily:
    return treekit.build(treekit.noarch("smeserver-extra", "1.0", "1"), rpm_store)


def _requests(engine: Engine) -> list[tuple[str, str, str]]:
    with Ledger.open(engine.layout.ledger_url) as ledger:
        return [(r.family, r.family_evr, r.state) for r in GateRecords(ledger).requests()]


def _overrides(engine: Engine) -> list[tuple[str, str, str]]:
    with Ledger.open(engine.layout.ledger_url) as ledger:
        return [(d.by, d.target, d.comment) for d in GateRecords(ledger).decisions("override")]


def _in_smeupdates(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "9/smeupdates").rglob("*.rpm"))


def test_a_cp_into_smeupdates_is_held_reported_and_requested(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")

    result = engine.update_repos()

    assert result.ok
    assert _in_smeupdates(root) == []
    held = engine.layout.state_dir / "held/9/smeupdates/stray" / I386
    assert held.is_file()  # moved aside, nothing lost
    assert treekit.repo_hrefs(root / "9/smeupdates/i386") == []
    assert f"{HELD} ({I386} in smeupdates)" in result.report
    assert _requests(engine) == [("clamav", "0.97.6-1.rf", "pending")]
    assert (root / "9/smetest/i386/RPMS" / I386).is_file()  # the family stays below
    assert not list((root / "stage/9").rglob("clamav-0.97.6*"))
    assert engine.update_repos().nothing_to_do  # held once, not again and again


def test_a_member_in_smeupdates_does_not_pull_its_family_up(engine: Engine) -> None:
    """The engine's pull-up INTO a gated repo: exactly the case to hold."""
    root = engine.layout.root
    before = sorted(p.name for p in (root / "9/smetest").rglob("*.rpm"))
    target = root / "9/smeupdates/x86_64/RPMS"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm", target)

    result = engine.update_repos()

    assert result.ok and _in_smeupdates(root) == []
    assert sorted(p.name for p in (root / "9/smetest").rglob("*.rpm")) == before
    assert treekit.repo_hrefs(root / "9/smeupdates/x86_64") == []
    assert (engine.layout.state_dir / "held/9/smeupdates/x86_64"
            / "clamd-0.97.6-1.el4.rf.x86_64.rpm").is_file()


def test_a_nogo_leaves_the_file_held_and_refuses_the_request(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")
    engine.update_repos()

    refused = refuse_requests(engine.layout.ledger_url, "smeupdates",
                              ["clamav-0.97.6-1.rf"], "releng", "airflow:promote/run1")

    assert refused == ["clamav-0.97.6-1.rf"]
    assert _requests(engine) == [("clamav", "0.97.6-1.rf", "nogo")]
    held = engine.layout.state_dir / "held/9/smeupdates/stray" / I386
    assert held.read_bytes() == (root / "9/smetest/i386/RPMS" / I386).read_bytes()
    assert engine.update_repos().nothing_to_do and _in_smeupdates(root) == []


def test_a_granted_promotion_publishes_and_closes_the_request(engine: Engine) -> None:
    """What the promote DAG's apply does after a recorded Go."""
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")
    engine.update_repos()
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")

    result = engine.apply(["9"], promotion, grant=True, scoped=True)
    engine.publish(result.unpublished)

    assert result.ok
    assert "RPMS/clamd-0.97.6-1.el4.rf.i386.rpm" in treekit.repo_hrefs(root / "9/smeupdates/i386")
    assert _requests(engine) == [("clamav", "0.97.6-1.rf", "published")]
    assert engine.update_repos().ok and "clamd-0.97.6-1.el4.rf.i386.rpm" in _in_smeupdates(root)


def test_a_promotion_without_a_grant_moves_nothing_into_smeupdates(engine: Engine) -> None:
    root = engine.layout.root
    before = treekit.rpm_files(root)

    result = engine.update_repos(intents=Promotion(engine.layout, FAMILY, "smeupdates", "9"))

    assert result.ok and _in_smeupdates(root) == []
    assert treekit.rpm_files(root) == before


def test_the_cli_refuses_a_gated_promotion_in_one_line(engine: Engine) -> None:
    root = engine.layout.root
    before = treekit.rpm_files(root)

    refused = treekit.run_cli("--root", str(root), "promote", FAMILY, "--to", "smeupdates")

    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "smeupdates needs a Go from release_managers: trigger the promote DAG" in refused.stderr
    assert "--override-gate --reason TEXT" in refused.stderr
    assert treekit.rpm_files(root) == before and _overrides(engine) == []


def test_an_override_without_a_reason_moves_nothing(engine: Engine) -> None:
    root = engine.layout.root
    before = treekit.rpm_files(root)

    refused = treekit.run_cli("--root", str(root), "promote", FAMILY, "--to", "smeupdates",
                              "--override-gate")

    assert refused.returncode == 2 and "needs --reason TEXT" in refused.stderr
    assert treekit.rpm_files(root) == before and _overrides(engine) == []


def test_an_override_is_recorded_with_the_os_user_and_mailed(engine: Engine,
                                                             tmp_path: Path) -> None:
    root = engine.layout.root
    with MailSink(tmp_path / "mail") as sink:
        done = treekit.run_cli("--root", str(root), "promote", FAMILY, "--to", "smeupdates",
                               "--override-gate", "--reason", "CVE-2026-1 exploited",
                               env={"UPDRAFT_SMTP": f"127.0.0.1:{sink.port}"})
        assert done.returncode == 0, done.stderr
        [mail] = sink.wait_for(1, timeout=10)

    assert "clamd-0.97.6-1.el4.rf.i386.rpm" in _in_smeupdates(root)
    assert _overrides(engine) == [(os_user(), "smeupdates", "CVE-2026-1 exploited")]
    assert "gate override of smeupdates" in mail["Subject"]
    assert f"{os_user()} overrode the gate of smeupdates" in mail.get_content()
    assert "Reason: CVE-2026-1 exploited" in mail.get_content()


def test_update_repos_override_publishes_the_cp_and_records_it(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")

    done = treekit.run_cli("--root", str(root), "update-repos", "--override-gate",
                           "--reason", "mirror outage fix", env={"UPDRAFT_SMTP": "127.0.0.1:9"})

    assert done.returncode == 0, done.stderr
    assert f"RPMS/{I386}" in treekit.repo_hrefs(root / "9/smeupdates/i386")
    assert _overrides(engine) == [(os_user(), "smeupdates", "mirror outage fix")]
    assert "not mailed" in done.stderr or done.stderr == ""


@pytest.mark.unhealthy_tree("a scoped apply leaves the unrelated cp to the cycle")
def test_the_promotion_plan_covers_its_family_only(engine: Engine, other: BuiltFamily) -> None:
    root = engine.layout.root
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")
    shown = engine.preview(["9"], promotion, grant=True, scoped=True).plan

    # An unrelated `cp` elsewhere: pending work of the cycle, not of this Go.
    for path in other.files():
        if path.name.endswith(".noarch.rpm"):
            shutil.copy(path, root / "9/smeupdates-testing/")
    after = engine.preview(["9"], promotion, grant=True, scoped=True).plan

    assert {a.family for a in shown.actions} == {"clamav"}
    assert plan_digest(after) == plan_digest(shown)
    result = engine.apply(["9"], promotion, approved=plan_digest(shown), grant=True,
                          scoped=True)
    assert result.ok and (root / "9/smeupdates-testing/smeserver-extra-1.0-1.el6.sme.noarch.rpm"
                          ).is_file()  # left to the cycle


def test_a_change_to_the_promoted_family_cancels_the_go(engine: Engine) -> None:
    root = engine.layout.root
    promotion = Promotion(engine.layout, FAMILY, "smeupdates", "9")
    shown = engine.preview(["9"], promotion, grant=True, scoped=True).plan
    shutil.copy(root / "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    before = treekit.rpm_files(root)

    with pytest.raises(PlanChanged):
        engine.apply(["9"], promotion, approved=plan_digest(shown), grant=True, scoped=True)

    assert treekit.rpm_files(root) == before


def test_families_already_in_smeupdates_keep_their_cycle(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily
) -> None:
    """Trust on first use: what smeupdates holds when first seen is published; retention
    inside it and the stage refresh still run."""
    config = treekit.sme_config()
    engine = Engine(config, tmp_path / "tree")
    treekit.place(engine.layout, "9", "smeupdates", clamav_old)
    treekit.place(engine.layout, "9", "smetest", clamav_new)
    first = engine.update_repos()
    assert first.ok and "held" not in first.report
    assert "RPMS/clamav-0.97.5-2.el4.rf.i386.rpm" in treekit.repo_hrefs(
        engine.layout.root / "9/smeupdates/i386")

    promoted = engine.update_repos(intents=Promotion(engine.layout, FAMILY, "smeupdates", "9"),
                                   grant=True)

    assert promoted.ok
    assert "delete from smeupdates (i386, clamav-0.97.5-2.el4.rf.i386.rpm)" in promoted.report
    hrefs = treekit.repo_hrefs(engine.layout.root / "9/smeupdates/i386")
    assert "RPMS/clamav-0.97.6-1.el4.rf.i386.rpm" in hrefs
    assert not any("0.97.5" in href for href in hrefs)
    assert (engine.layout.root / "stage/9/i386/Packages" / I386).is_file()


@pytest.mark.timeout(240)
def test_the_update_repos_dag_holds_a_cp_mails_it_and_asks_the_promote_dag(
    dagbag: Any, clamav_tree: Path, mailbox: MailSink  # the DAG tests' fixtures
) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    shutil.copy(clamav_tree / "9/smetest/i386/RPMS" / I386, clamav_tree / "9/smeupdates/")

    run = dagbag.get_dag("update_repos").test()

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert states[("held", -1)] == "success" and states[("ask_go", 0)] == "success"
    assert not list((clamav_tree / "9/smeupdates").rglob("*.rpm"))
    assert treekit.repo_hrefs(clamav_tree / "9/smeupdates/i386") == []
    [mail] = mailbox.wait_for(1, timeout=10)
    assert f"{HELD} ({I386} in smeupdates)" in mail.get_content()
    with create_session() as session:
        asked = session.scalars(select(DagRun).where(DagRun.dag_id == "promote")
                                .order_by(DagRun.id.desc())).first()
        assert asked is not None and asked.conf == {
            "release": "9", "target": "smeupdates", "package": "clamav-0.97.6-1.rf"}


def test_a_second_cp_of_the_same_name_never_replaces_the_held_one(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")
    engine.update_repos()
    # The same file name, other bytes (another build): both are kept.
    shutil.copy(root / "9/smetest/x86_64/RPMS/clamav-0.97.6-1.el4.rf.x86_64.rpm",
                root / "9/smeupdates" / I386)

    engine.update_repos()

    held = engine.layout.state_dir / "held/9/smeupdates/stray"
    assert sorted(p.name for p in held.iterdir()) == [I386, f"{I386}.2"]
    assert (held / I386).read_bytes() == (root / "9/smetest/i386/RPMS" / I386).read_bytes()
    assert _in_smeupdates(root) == []


def test_a_tree_from_before_the_gates_admits_what_it_holds_then_holds_a_cp(
        engine: Engine) -> None:
    """An upgraded tree: no admitted list yet, and a cycle with nothing to do."""
    root = engine.layout.root
    (engine.layout.state_dir / "gated.json").unlink()
    assert engine.update_repos().nothing_to_do  # first sight: smeupdates (empty) admitted
    shutil.copy(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates/")

    result = engine.update_repos()

    assert HELD in result.report and _in_smeupdates(root) == []


def test_a_mv_into_smeupdates_goes_back_where_the_family_came_from(engine: Engine) -> None:
    """The only copy (a `mv`, not a `cp`): held back in the repo below, so the Go can
    promote it and a NoGo leaves it there."""
    root = engine.layout.root
    shutil.move(root / "9/smetest/i386/RPMS" / I386, root / "9/smeupdates" / I386)

    result = engine.update_repos()

    assert f"{HELD} ({I386} in smeupdates, back to smetest)" in result.report
    assert _in_smeupdates(root) == [] and _requests(engine)[0][2] == "pending"
    assert [p.relative_to(root).as_posix() for p in root.glob(f"9/smetest/**/{I386}")] == [
        f"9/smetest/i386/RPMS/{I386}"]  # and the next cycle put it in its place
    assert f"RPMS/{I386}" in treekit.repo_hrefs(root / "9/smetest/i386")

    promoted = engine.update_repos(intents=Promotion(engine.layout, FAMILY, "smeupdates", "9"),
                                   grant=True)

    assert promoted.ok and f"RPMS/{I386}" in treekit.repo_hrefs(root / "9/smeupdates/i386")


def test_a_hold_killed_at_every_checkpoint_loses_nothing_and_never_publishes(
        engine: Engine, tmp_path: Path) -> None:
    """SIGKILL at each fault-injection checkpoint of the holding cycle, then a clean run:
    the held file is in exactly one place, never in smeupdates' repodata."""
    shutil.copy(engine.layout.root / "9/smetest/i386/RPMS" / I386,
                engine.layout.root / "9/smeupdates/")
    template = tmp_path / "template"
    shutil.copytree(engine.layout.root, template, copy_function=shutil.copy2)
    crash_at, completed = 1, False
    while not completed:
        root = tmp_path / f"run{crash_at}"
        shutil.copytree(template, root, copy_function=shutil.copy2)
        completed = _cycle(root, crash_at).returncode == 0
        assert _cycle(root, 0).returncode == 0
        copies = [p for p in root.rglob(I386) if "smetest" not in p.parts]
        assert [p.relative_to(root).as_posix() for p in copies] == [
            f".updraft/held/9/smeupdates/stray/{I386}"], crash_at
        assert treekit.repo_hrefs(root / "9/smeupdates/i386") == []
        crash_at += 1
    assert crash_at > 3  # the hold itself was interrupted at several points


def _cycle(root: Path, crash_at: int) -> subprocess.CompletedProcess[str]:
    """`updraft update-repos` in a subprocess that SIGKILLs itself at checkpoint N."""
    env = {**os.environ, "UPDRAFT_CRASH_AT": str(crash_at)}
    return subprocess.run(
        [sys.executable, "-m", "updraft.cli", "--config", str(treekit.CONFIG_FILE),
         "--root", str(root), "update-repos"],
        capture_output=True, text=True, env=env, check=False)

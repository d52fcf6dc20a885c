"""dag.test() of build_iso: a real ISO from real signed RPMs, the release managers' gate
answered from a responder thread, the publish, and the freeze lifted whatever happens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kits import isokit
from tests.kits.gatekit import Responder, clear_questions, run_note
from tests.kits.signing import SigningKey
from updraft.engine.engine import Engine
from updraft.iso import freeze
from updraft.ledger.isos import iso_steps

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


@pytest.fixture
def iso_tree(tmp_path: Path, iso_files: isokit.IsoFiles, iso_key: SigningKey,
             monkeypatch: pytest.MonkeyPatch) -> Engine:
    engine = isokit.tree(tmp_path, iso_files, iso_key)
    monkeypatch.setenv("UPDRAFT_CONFIG", str(tmp_path / "sme.yaml"))
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
    return engine


def _run(dagbag, responder: Responder | None, **conf: object):
    dag = dagbag.get_dag("build_iso")
    if responder is not None:
        responder.attach(dag).start()
    run = dag.test(run_conf={"release": "10", "version": "10.1", **conf})
    if responder is not None:
        responder.join(timeout=30)
        assert responder.error is None, responder.error
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_an_approved_iso_is_published(dagbag, iso_tree: Engine) -> None:
    seen_frozen: list[bool] = []
    layout = iso_tree.layout

    def before() -> None:  # while the gate waits, the freeze holds
        seen_frozen.append(freeze.frozen(layout, "10") is not None)

    responder = Responder([("approve", "Approve")], before=before)
    run, states = _run(dagbag, responder)
    assert run.state == "success", states
    assert states["build_installer"] == "success" and states["publish"] == "success"
    assert states["thaw"] == "success" and seen_frozen == [True]
    assert freeze.frozen(layout, "10") is None
    question = responder.question
    assert question["assignees"] == [{"id": "releng", "name": "releng"}]
    iso = layout.root / "10.1" / "iso" / "x86_64" / "smeserver-10.1-x86_64.iso"
    sha = (iso.parent / "SHA256SUM").read_text().split()[0]
    assert sha in question["body"] and "packages: x86_64: 3" in question["body"]
    assert os.readlink(layout.root / "10") == "10.1"
    steps = [r.step for r in iso_steps(layout.ledger_url, "10", "10.1")]
    assert steps[:3] == ["freeze", "stage", "preflight"] and steps[-1] == "thaw"
    approval = next(r for r in iso_steps(layout.ledger_url, "10") if r.step == "approve")
    assert approval.detail.startswith("Approve by releng at "), approval.detail


def test_a_failed_preflight_publishes_nothing_and_lifts_the_freeze(
        dagbag, iso_tree: Engine) -> None:
    layout = iso_tree.layout
    cdrom = layout.root.parent / "cdrom.image" / "sme10" / "isolinux" / "isolinux.cfg"
    cdrom.write_text("menu title Welcome to SME Server 10.0\n")
    run, states = _run(dagbag, None)
    assert run.state == "failed"
    assert states["preflight"] == "failed" and states["publish"] == "upstream_failed"
    assert states["thaw"] == "success"
    assert freeze.frozen(layout, "10") is None
    assert os.readlink(layout.root / "10") == "10.0"
    failed = [r for r in iso_steps(layout.ledger_url, "10") if r.step == "preflight"]
    assert failed[0].outcome == "failed" and "menu title" in failed[0].detail


def test_a_rejected_iso_is_not_published(dagbag, iso_tree: Engine) -> None:
    layout = iso_tree.layout
    run, states = _run(dagbag, Responder([("approve", "Reject", {"comment": "respin"})]))
    assert states["approve"] == "success" and states["publish"] == "skipped"
    assert run.state == "success" and run_note(run) == "NoGo by releng: respin"
    assert states["thaw"] == "success" and freeze.frozen(layout, "10") is None
    assert os.readlink(layout.root / "10") == "10.0"
    assert not (layout.root / "10.1").exists()

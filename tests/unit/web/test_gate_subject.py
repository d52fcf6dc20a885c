"""The Gates and Family pages find the family behind a gate's label: Build? and Sign?
record an N-V-R, build_batch "name-V-R (9)" lists, the release gate its chosen
versions, the ISO gate a version (no family)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from updraft.ledger.gates import GateRecords, Question
from updraft.ledger.store import Ledger
from updraft.web.gate_subject import family_names
from updraft.web.timeline import timeline
from updraft.web.waiting import waiting


def test_labels_name_their_families() -> None:
    assert family_names("initscripts-9.03.49-1.el6.sme.1") == ("initscripts",)
    assert family_names("e-smith-base") == ("e-smith-base",)
    assert family_names("clamav") == ("clamav",)
    assert family_names("samba-4.6.2-12.el6 (9)") == ("samba",)
    assert family_names("samba-4.6.2-12.el6 (9), libtevent-0.9.31-2.el6 (9)") == (
        "samba", "libtevent")
    assert family_names("e-smith-base-5.0.0-14.el6.sme, smeserver-release-10.1-1") == (
        "e-smith-base", "smeserver-release")
    assert family_names("10.1") == ()
    assert family_names("") == ()


def _ask(records: GateRecords, task: str, kind: str, family: str, at: datetime) -> str:
    run = f"airflow:{kind}/manual__{task}"
    records.ask(Question(run=run, dag_id=kind, run_id=f"manual__{task}", task_id=task,
                         kind=kind, assigned=("releng",), release="9", family=family), at)
    return run


def test_the_family_page_shows_the_gates_asked_about_it(tmp_path: Path) -> None:
    at = datetime(2026, 12, 7, 3, 9, tzinfo=UTC)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        records = GateRecords(ledger)
        _ask(records, "build_gate", "build", "initscripts-9.03.49-1.el6.sme.1", at)
        _ask(records, "start_gate", "start_building", "samba-4.6.2-12.el6 (9)", at)
        _ask(records, "approve", "iso", "10.1", at)
        _ask(records, "other", "promote", "initscripts-extra-1.0-1", at)  # another family
        release = _ask(records, "go_nogo", "release", "", at)
        records.answer(release, "go_nogo", "releng",
                       ["clamav-0.97.5-2.rf", "initscripts-9.03.49-1.el6.sme.1"],
                       at + timedelta(minutes=3))
        with ledger.transaction() as session:
            events = [e for e in timeline(session, "initscripts") if e.kind == "gate"]
            texts = [e.text for e in events]
            assert any(t.startswith("build gate asked (build_gate)") for t in texts), texts
            assert any(t.startswith("release gate answered: clamav") for t in texts), texts
            assert not any("(other)" in t for t in texts), texts
            gates = {w.kind: w for w in waiting(session, {})}
        assert gates["build"].to_json(at)["family_url"] == "/updraft/families/initscripts"
        assert gates["start_building"].family_url == "/updraft/families/samba"
        assert gates["iso"].family_url == ""  # a version names no family

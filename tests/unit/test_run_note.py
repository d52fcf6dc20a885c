"""Run notes: each run of promote, build_package, release_updates and update_repos says
what it is about; the listener writes it once and keeps a note someone wrote."""

from __future__ import annotations

from types import SimpleNamespace

from updraft.run_note import MAX_NOTE, note_for


def test_a_promotion_names_the_package_the_target_and_the_release() -> None:
    note = note_for("promote", {"package": "clamav-0.97.6-1", "target": "smeupdates",
                                "release": "9"})
    assert note == "clamav-0.97.6-1 → smeupdates (9)"


def test_each_dag_has_its_own_note() -> None:
    assert note_for("build_package", {"package": "clamav-0.97.6-1.src.rpm", "release": "9",
                                      "bug": "7001"}) == \
        "build clamav-0.97.6-1.src.rpm (9), bug 7001"
    assert note_for("release_updates", {"release": "10"}) == "release updates of 10"
    assert note_for("update_repos", {}, ["9", "10"]) == "update repos of 9, 10"
    assert note_for("update_repos", {"release": "9", "dry_run": True}) == \
        "update repos of 9 (dry run)"
    assert note_for("update_repos", None) == "update repos of every release"
    assert note_for("build_iso", {"release": "9"}) is None


def test_conf_from_anyone_stays_one_bounded_line() -> None:
    note = note_for("promote", {"package": "a\nb\r\n" + "x" * 5000, "release": "9"})
    assert note is not None and "\n" not in note and len(note) <= MAX_NOTE


def test_the_listener_notes_a_run_once_and_keeps_a_written_note() -> None:
    from updraft_airflow.run_notes import on_dag_run_running

    run = SimpleNamespace(dag_id="promote", run_id="manual__1", note=None,
                          conf={"package": "clamav-0.97.6-1", "release": "9"},
                          consumed_asset_events=[])
    on_dag_run_running(dag_run=run, msg="")
    assert run.note == "clamav-0.97.6-1 → smeupdates (9)"
    run.note = "rolled back by hand"
    on_dag_run_running(dag_run=run, msg="")
    assert run.note == "rolled back by hand"
    asset = SimpleNamespace(dag_id="update_repos", run_id="asset__1", note=None, conf={},
                            consumed_asset_events=[SimpleNamespace(extra={"releases": ["10"]})])
    on_dag_run_running(dag_run=asset, msg="")
    assert asset.note == "update repos of 10"

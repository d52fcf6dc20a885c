"""Apply and publish as separate steps (Airflow's tasks): pending repodata, approved plans."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.engine import engine as engine_module
from updraft.engine import repodata
from updraft.engine.action import Touched
from updraft.engine.cycle import plan_digest
from updraft.engine.engine import Engine
from updraft.engine.lock import tree_lock, tree_locked
from updraft.engine.promote import Promotion
from updraft.engine.watch import TreeWatch
from updraft.errors import PlanChanged

DROP = "clamav-0.97.6-1.el4.rf.i386.rpm"


def _drop(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / DROP, root / "9/smeupdates-testing/")


def test_apply_leaves_repodata_pending_until_published(engine: Engine) -> None:
    root = engine.layout.root
    _drop(engine)

    applied = engine.apply()

    labels = [target.label for target in applied.unpublished]
    assert labels == ["9/smetest/i386", "9/smetest/x86_64", "9/smeupdates-testing/i386",
                      "9/smeupdates-testing/x86_64"]
    assert treekit.repo_hrefs(root / "9/smetest/i386")  # still the old repodata
    assert applied.report_file and applied.report_file.read_text() == applied.report
    assert "rebuild smetest/i386" in applied.report
    assert "9" in engine.settled()  # settled right after applying: the watcher stays quiet

    for target in applied.unpublished:
        engine.repodata.publish(target)

    assert treekit.repo_hrefs(root / "9/smetest/i386") == []
    assert engine.repodata.pending() == []
    assert engine.preview().nothing_to_do


def test_repodata_left_by_a_dead_run_is_published_by_the_next(engine: Engine) -> None:
    _drop(engine)
    engine.apply()  # ... and the process dies before publishing

    again = engine.update_repos()

    assert again.plan.empty and not again.nothing_to_do
    assert [target.label for target in again.rebuilt][:1] == ["9/smetest/i386"]
    assert treekit.repo_hrefs(engine.layout.root / "9/smetest/i386") == []
    assert engine.update_repos().nothing_to_do


def test_a_mark_made_during_a_rebuild_survives_it(engine: Engine, monkeypatch) -> None:
    target = Touched("9", "smetest", "i386")
    engine.repodata.mark([target])
    started, release = threading.Event(), threading.Event()
    real_rebuild = repodata.rebuild

    def slow_rebuild(*args, **kwargs) -> None:
        started.set()
        assert release.wait(30)
        real_rebuild(*args, **kwargs)

    monkeypatch.setattr(repodata, "rebuild", slow_rebuild)
    publisher = threading.Thread(target=engine.repodata.publish, args=(target,))
    publisher.start()
    assert started.wait(30)
    marker = threading.Thread(target=engine.repodata.mark, args=([target],))
    marker.start()  # blocks on the arch dir's lock until the rebuild is done
    release.set()
    publisher.join(30)
    marker.join(30)

    assert engine.repodata.pending() == [target]


@pytest.mark.unhealthy_tree("applies only: publishing is the DAG's repodata task, not run here")
def test_an_approved_plan_is_applied_only_while_it_still_holds(engine: Engine) -> None:
    promotion = Promotion(engine.layout, "clamav-0.97.6-1.el4.rf", "smeupdates", "9")
    shown = engine.preview(["9"], promotion)
    _drop(engine)  # a packager's cp after the release manager said Go
    before = treekit.rpm_files(engine.layout.root)

    with pytest.raises(PlanChanged, match="the tree changed since the plan was approved"):
        engine.apply(["9"], promotion, approved=plan_digest(shown.plan))

    assert treekit.rpm_files(engine.layout.root) == before
    current = engine.preview(["9"], promotion)
    assert engine.apply(["9"], promotion, approved=plan_digest(current.plan)).ok


def test_the_summary_is_small_and_says_what_moves(engine: Engine) -> None:
    _drop(engine)

    summary = engine.preview().summary(preview_lines=5)

    assert summary["families"] == ["clamav-0.97.5-2.rf (9)", "clamav-0.97.6-1.rf (9)"]
    assert summary["nothing_to_do"] is False and summary["dry_run"] is True
    assert summary["preview"].splitlines()[0] == "clamav (sme9)"
    assert summary["preview"].splitlines()[-1].startswith("... and ")
    assert len(summary["digest"]) == 64


def test_the_watch_announces_a_drop_once_it_holds_still(engine: Engine) -> None:
    watch = TreeWatch(engine.layout, engine.settled)
    assert watch.poll() == []  # settled

    _drop(engine)
    assert watch.poll() == []  # just seen: a copy may still be under way
    assert watch.poll() == ["9"]  # held still for a poll
    assert watch.poll() == []  # announced once

    engine.update_repos()
    assert watch.poll() == [] and watch.poll() == []  # the cycle settled it


def test_the_watch_says_nothing_while_a_writer_holds_the_tree(engine: Engine) -> None:
    """A writer's half-done moves may hold still for a poll (a long re-scan, createrepo_c):
    they are the engine's own work, never announced; a drop is, once the lock is free."""
    watch = TreeWatch(engine.layout, engine.settled)
    assert watch.poll() == []
    with tree_lock(engine.layout.state_dir, 1.0, "a writer"):
        assert tree_locked(engine.layout.state_dir)
        _drop(engine)
        assert watch.poll() == [] and watch.poll() == [] and watch.poll() == []
        assert watch.changing  # ...but it looks again soon
    assert not tree_locked(engine.layout.state_dir)
    assert watch.poll() == []
    assert watch.poll() == ["9"]
    assert not watch.changing


def test_a_reader_never_makes_the_lock_file(tmp_path: Path) -> None:
    assert not tree_locked(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_preview_names_the_consistent_releases_no_mark_describes(engine: Engine) -> None:
    """A preview writes no mark; it names the releases a writer may mark, and settle()
    marks them (moving nothing)."""
    marks = engine.settled()
    engine.settled_file.write_text(json.dumps({**marks, "9": "0" * 64}))
    before = treekit.rpm_files(engine.layout.root)

    assert engine.preview().unmarked == ["9"]
    assert engine.settled()["9"] == "0" * 64  # the preview wrote nothing

    engine.settle(["9"])
    assert engine.settled() == marks
    assert engine.preview().unmarked == []
    assert treekit.rpm_files(engine.layout.root) == before


def test_a_publish_ending_during_the_settling_scan_leaves_the_release_settled(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """update_repos publishes while the tree is settled: a dir walked before its first
    repodata is in place, whose mark is gone by the time the plan looks at the marks, is
    no unpublished dir (its release was left unsettled and the watcher announced it)."""
    target = Touched("9", "smetest", "i386")
    shutil.rmtree(engine.layout.repodata_dir("9", "smetest", "i386"))
    engine.repodata.mark([target])
    real_scan = engine_module.scan

    def scan_while_publishing(*args: object, **kwargs: object) -> object:
        tree = real_scan(*args, **kwargs)
        engine.repodata.publish(target)  # the publisher's thread ends meanwhile
        return tree

    monkeypatch.setattr(engine_module, "scan", scan_while_publishing)
    engine.settled_file.write_text("{}")

    engine.settle(["9"])

    assert engine.repodata.pending() == []
    assert "9" in engine.settled()

"""Issue 16 §1: the engine converges from any state — a package copied straight into
place is published, and an early kill never leaves the tree marked settled."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.checkkit import assert_healthy
from updraft.cli import main as cli
from updraft.devkit import rpmfactory
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine import engine as cycle
from updraft.engine.engine import Engine

_RUNNER = (
    "import sys; from updraft.cli import main as cli; from updraft.engine import faults; "
    "code = cli.run(sys.argv[1:]); "
    "print('CHECKPOINTS', faults.checkpoints_passed()); sys.exit(code)"
)


@pytest.fixture(scope="session")
def smeonly(rpm_store: Path) -> BuiltFamily:
    """An x86_64-only family: placed by hand, no action of the plan concerns it."""
    spec = rpmfactory.FamilySpec(name="smeonly", version="1.0", release="1",
                                 binary_dist=".el6.sme")
    return treekit.build(spec, rpm_store, ("x86_64",))


def _copy_straight_in(engine: Engine, family: BuiltFamily) -> list[str]:
    root = engine.layout.root
    names = []
    for built in family.files():
        target = "9/smetest/SRPMS" if built.name.endswith(".src.rpm") else \
            "9/smetest/x86_64/RPMS"
        shutil.copy(built, root / target)
        names.append(built.name)
    return names


def test_a_package_copied_straight_into_its_arch_dir_is_published(
    engine: Engine, smeonly: BuiltFamily
) -> None:
    root = engine.layout.root
    before = treekit.repo_hrefs(root / "9/smetest/x86_64")
    names = _copy_straight_in(engine, smeonly)
    binary = next(name for name in names if not name.endswith(".src.rpm"))

    result = engine.update_repos()

    assert result.ok and not result.nothing_to_do
    assert [t.label for t in result.rebuilt] == ["9/smetest/x86_64"]
    assert "repodata out of date: 9/smetest/x86_64 (1 file not listed)" in result.report
    assert treekit.repo_hrefs(root / "9/smetest/x86_64") == sorted([*before, f"RPMS/{binary}"])
    assert engine.update_repos().nothing_to_do
    assert_healthy(engine)


def test_a_file_removed_by_hand_is_unlisted(engine: Engine) -> None:
    root = engine.layout.root
    victim = next((root / "9/smetest/x86_64/RPMS").glob("clamd-*.rpm"))
    victim.unlink()  # no copy of that package is left: no action can bring it back

    result = engine.update_repos()

    assert [t.label for t in result.rebuilt] == ["9/smetest/x86_64"]
    assert "(1 file listed but gone)" in result.report
    assert f"RPMS/{victim.name}" not in treekit.repo_hrefs(root / "9/smetest/x86_64")


def test_a_preview_writes_no_settled_mark_nor_header_cache(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    cache = engine.layout.state_dir / "headers"

    def shards() -> dict[str, bytes]:
        return {shard.name: shard.read_bytes() for shard in cache.iterdir()}

    marks, rows = engine.settled_file.read_bytes(), shards()

    assert not engine.preview().plan.empty

    assert engine.settled_file.read_bytes() == marks and shards() == rows and rows


def test_death_while_planning_leaves_the_tree_to_be_planned(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan has read the new files' headers, then the process dies before its plan
    is done: the next run must not take the tree for settled."""
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")

    def dies(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(cycle, "plan_release", dies)
        with pytest.raises(SystemExit):
            engine.update_repos()

    rerun = engine.update_repos()

    assert rerun.ok and not rerun.plan.empty
    assert not list((root / "9/smetest").rglob("*.rpm"))
    assert len(treekit.repo_hrefs(root / "9/smeupdates-testing/i386")) == 3
    assert_healthy(engine)


def _cycle(root: Path, crash_at: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, "--config", str(treekit.CONFIG_FILE), "--root",
         str(root), "update-repos"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "UPDRAFT_CRASH_AT": str(crash_at)},
    )


def _settled_tree(root: Path, old: BuiltFamily, new: BuiltFamily,
                  smeonly: BuiltFamily) -> Engine:
    """The `engine` fixture's settled tree, then a packager's two `cp`s."""
    config = treekit.sme_config()
    engine = Engine(config, root)
    treekit.place(engine.layout, "9", "smetest", new)
    treekit.place(engine.layout, "9", "smeupdates-testing", old)
    assert engine.update_repos().ok and "9" in engine.settled()
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    _copy_straight_in(engine, smeonly)
    return engine


@pytest.mark.timeout(300)
def test_a_kill_before_the_journal_exists_is_planned_again(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily, smeonly: BuiltFamily
) -> None:
    """SIGKILL at each of the first checkpoints of a cycle on a settled tree with a
    packager's `cp`: the settled marks and the header cache are written before any
    journal exists, and the re-run must still plan and place everything."""
    reference = _settled_tree(tmp_path / "reference", clamav_old, clamav_new, smeonly)
    assert _cycle(reference.layout.root, 10**9).returncode == 0
    expected = treekit.rpm_files(reference.layout.root)
    for point in (1, 2, 3):
        trial = _settled_tree(tmp_path / f"crash-{point}", clamav_old, clamav_new, smeonly)
        root = trial.layout.root
        assert _cycle(root, point).returncode == -signal.SIGKILL

        rerun = Engine(trial.config, root).update_repos()

        assert rerun.ok and not rerun.nothing_to_do, point
        assert treekit.rpm_files(root) == expected, point
        for arch in ("i386", "x86_64"):
            assert treekit.repo_hrefs(root / "9/smetest" / arch) == treekit.repo_hrefs(
                reference.layout.root / "9/smetest" / arch), point
        assert_healthy(Engine(trial.config, root))


def test_a_tree_published_before_listings_existed_is_not_republished(engine: Engine) -> None:
    """Upgrading: each arch dir's listing is read once from its primary.xml."""
    listings = engine.layout.state_dir / "repodata-listing"
    shutil.rmtree(listings)
    repomd = engine.layout.root / "9/smetest/i386/repodata/repomd.xml"
    written = repomd.stat().st_mtime_ns

    assert engine.update_repos().nothing_to_do

    assert repomd.stat().st_mtime_ns == written
    assert (listings / "9/smetest/i386.json").is_file()


def test_a_reader_scanning_the_tree_hides_nothing_from_the_next_cycle(engine: Engine) -> None:
    """`updraft status` (and sync, inventory, build placement) scan too: their header
    reads must not make a packager's `cp` look already planned."""
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    assert cli.run(["--config", str(treekit.CONFIG_FILE), "--root", str(root), "status"]) == 0

    result = engine.update_repos()

    assert result.ok and not list((root / "9/smetest").rglob("*.rpm"))
    assert_healthy(engine)


@pytest.fixture(scope="session")
def wide(rpm_store: Path) -> BuiltFamily:
    """One family of 60 packages on two arches: a cycle of a few hundred actions."""
    spec = rpmfactory.FamilySpec(
        name="wide", version="1.0", release="1", binary_dist=".el6.sme",
        subpackages=tuple(rpmfactory.Subpackage(f"wide-part{n:02d}") for n in range(59)))
    return treekit.build(spec, rpm_store)


def _wide_tree(root: Path, wide: BuiltFamily) -> Engine:
    """Settled with the family in smetest, then a packager's `cp` of one of its binaries
    into smeupdates-testing: the whole family (and the stage) must follow."""
    engine = Engine(treekit.sme_config(), root)
    treekit.place(engine.layout, "9", "smetest", wide)
    assert engine.update_repos().ok and "9" in engine.settled()
    shutil.copy(root / "9/smetest/x86_64/RPMS/wide-1.0-1.el6.sme.x86_64.rpm",
                root / "9/smeupdates-testing/")
    return engine


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_large_cycle_killed_by_a_timer_is_finished_by_the_next(
    tmp_path: Path, wide: BuiltFamily
) -> None:
    """The issue's reproduction: SIGKILL a few hundred actions' `update-repos` at some
    moment (seeded), then run again: everything placed and published."""
    reference = _wide_tree(tmp_path / "reference", wide)
    started = time.monotonic()
    assert _cycle(reference.layout.root, 10**9).returncode == 0
    took = time.monotonic() - started
    expected = treekit.rpm_files(reference.layout.root)
    assert len(expected) == 242  # 60 packages x 2 arches + the SRPM, twice: the stage
    killed = journals = 0
    for fraction in sorted(random.Random(16).sample(range(30, 95), 4)):
        trial = _wide_tree(tmp_path / f"kill-{fraction}", wide)
        root = trial.layout.root
        process = subprocess.Popen(
            [sys.executable, "-m", "updraft.cli", "--config", str(treekit.CONFIG_FILE),
             "--root", str(root), "update-repos"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=took * fraction / 100)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
        killed += process.returncode == -signal.SIGKILL
        journals += bool(list((root / ".updraft/journal").glob("*.jsonl")))

        rerun = Engine(trial.config, root).update_repos()

        assert rerun.ok, fraction
        assert treekit.rpm_files(root) == expected, fraction
        assert treekit.repo_hrefs(root / "9/smetest/x86_64") == []
        assert len(treekit.repo_hrefs(root / "9/smeupdates-testing/x86_64")) == 60
        assert Engine(trial.config, root).update_repos().nothing_to_do
        assert_healthy(Engine(trial.config, root))
    # The timer really struck (at least twice: on a loaded machine a run can outpace the
    # reference it was timed by).
    assert killed >= 2, (killed, journals)

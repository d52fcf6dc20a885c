"""Apply in a subprocess, SIGKILLed at random points: a re-run always converges to the
tree of an uninterrupted run and no RPM is lost."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import treekit
from tests.checkkit import assert_healthy
from updraft.cycle import Engine
from updraft.layout import Layout
from updraft.rpmfactory import BuiltFamily

# Runs the CLI and reports how many fault-injection checkpoints it passed.
_RUNNER = (
    "import sys; from updraft import cli, faults; code = cli.run(sys.argv[1:]); "
    "print('CHECKPOINTS', faults.checkpoints_passed()); sys.exit(code)"
)
TRIALS = 24
# Trees are hardlinked copies (the engine only links and unlinks package files); the
# state dir's SQLite files are written in place, so each copy starts without them.
_STATE = shutil.ignore_patterns(".updraft")


def _seed_tree(root: Path, old: BuiltFamily, new: BuiltFamily, extra: BuiltFamily) -> None:
    layout = Layout(treekit.sme_config(), root)
    treekit.place(layout, "9", "smetest", new)
    treekit.place(layout, "9", "smeupdates-testing", old)
    treekit.place(layout, "9", "smetest", extra)
    Engine(layout.config, root).update_repos()
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    shutil.copy(root / "9/smetest/x86_64/RPMS/e-smith-lib-2.0.0-3.el6.sme.noarch.rpm",
                root / "9/smeupdates/")


def _cycle(root: Path, crash_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UPDRAFT_CRASH_AT": str(crash_at)}
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, "--config", str(treekit.CONFIG_FILE), "--root",
         str(root), "update-repos"],
        capture_output=True, text=True, env=env, check=False,
    )


def _state(root: Path) -> tuple[dict[str, int], dict[str, list[str]]]:
    repodata = {
        str(d.parent.relative_to(root)): treekit.repo_hrefs(d.parent)
        for d in sorted(root.glob("9/*/*/repodata"))
    }
    return treekit.rpm_files(root), repodata


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_at_random_points_always_converges(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily, rpm_store: Path
) -> None:
    extra = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), rpm_store, ("x86_64",))
    pristine = tmp_path / "pristine"
    _seed_tree(pristine, clamav_old, clamav_new, extra)

    reference = tmp_path / "reference"
    shutil.copytree(pristine, reference, copy_function=os.link, ignore=_STATE)
    clean = _cycle(reference, crash_at=10**9)
    assert clean.returncode == 0, clean.stderr
    checkpoints = int(clean.stdout.rsplit("CHECKPOINTS", 1)[1])
    expected = _state(reference)
    every_nevra = {Path(p).name for p in treekit.rpm_files(pristine)}
    assert checkpoints > TRIALS

    seed = int(os.environ.get("UPDRAFT_CRASH_SEED", "2012"))  # another seed: more points
    points = sorted(random.Random(seed).sample(range(1, checkpoints + 1), TRIALS))
    for point in points:
        trial = tmp_path / f"crash-{point}"
        shutil.copytree(pristine, trial, copy_function=os.link, ignore=_STATE)
        crashed = _cycle(trial, crash_at=point)
        assert crashed.returncode == -signal.SIGKILL, (point, crashed.stderr)

        rerun = Engine(treekit.sme_config(), trial).update_repos()

        assert rerun.ok, (point, rerun.failures)
        assert _state(trial) == expected, f"crash at checkpoint {point} did not converge"
        assert {Path(p).name for p in treekit.rpm_files(trial)} >= every_nevra - {
            name for name in every_nevra if "0.97.5" in name}, f"an RPM was lost at {point}"
        assert not list(trial.rglob("*.updraft-tmp"))
        assert not list((trial / ".updraft/journal").glob("*.jsonl"))
        assert Engine(treekit.sme_config(), trial).update_repos().nothing_to_do
        assert_healthy(Engine(treekit.sme_config(), trial))
        shutil.rmtree(trial)

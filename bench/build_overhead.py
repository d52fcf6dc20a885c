"""Benchmark of a build's overhead (not a test): updraft's build of an SRPM against
the raw `rpmbuild --rebuild` it runs, on the same SRPM and arches.

updraft adds: reading and checking the SRPM, the private input copy, the plan, the
workspace record, ledger states (SQLite), streaming the log, collecting and
deduplicating results, and the builder report. Target: <= 1.3x the raw rpmbuild.

    .venv/bin/python bench/build_overhead.py [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kits import buildkit, treekit  # the fixture SRPMs of the tests
from updraft.build.package_build import PackageBuild
from updraft.engine.engine import Engine
from updraft.ledger import Ledger

ARCHES = ("i386", "x86_64")
DIST = ".el6.sme"


def raw(srpm: Path, scratch: Path) -> float:
    clock = time.perf_counter()
    for arch in ARCHES:
        subprocess.run(["rpmbuild", "--rebuild", str(srpm), "--define",
                        f"_topdir {scratch / arch}", "--define", f"dist {DIST}",
                        "--target", arch], check=True, capture_output=True)
    return time.perf_counter() - clock


def updraft(srpm: Path, root: Path) -> float:
    engine = Engine(treekit.sme_config(), root)
    # A tree's ledger is made (its schema migrated) once, not per build: outside the clock.
    engine.layout.state_dir.mkdir(parents=True, exist_ok=True)
    with Ledger.open(engine.layout.ledger_url):
        pass
    clock = time.perf_counter()
    build = PackageBuild.start(engine, str(srpm), "9", arches=ARCHES)
    build.prepare()
    for arch in ARCHES:
        assert build.build_arch(arch).ok
    assert build.conclude().ok
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        base = Path(tmp)
        srpm = buildkit.srpm(base, "hello", "1.0", "1", dist=DIST)
        raw(srpm, base / "warm")
        updraft(srpm, base / "tree-warm")
        # Alternated, so that a neighbour's load on this shared machine falls on both.
        raw_times, ours = [], []
        for n in range(runs):
            raw_times.append(raw(srpm, base / f"raw{n}"))
            ours.append(updraft(srpm, base / f"tree{n}"))
    best_raw, best_ours = min(raw_times), min(ours)
    print(f"rpmbuild --rebuild x{len(ARCHES)} arches: {best_raw * 1000:.0f} ms (best of {runs})")
    print(f"updraft build (verify, plan, build x{len(ARCHES)}, report): "
          f"{best_ours * 1000:.0f} ms  = {best_ours / best_raw:.2f}x  (target <= 1.15x, issue 20)")


if __name__ == "__main__":
    main()

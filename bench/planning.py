"""Benchmark of planning alone (not a test): pulled families on a large settled release.

Each pulled family is a packager's `cp` of one binary from smetest into
smeupdates-testing (half of them older than what is there: a retention reject), on a
release of `--settled` families at rest (3 RPMs each, plus the stage's copies). The
tree is header facts only (tests/kits/facttrees.py), so the figure is the planner's own.
Target (issue 20): linear in the pulls, <= 3 s at 2,000.

    .venv/bin/python bench/planning.py [--settled 15000] [--pulled 500 1000 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.kits import facttrees  # noqa: E402
from updraft.config.dist import load_config  # noqa: E402
from updraft.engine.layout import Layout  # noqa: E402
from updraft.engine.plan import plan_release  # noqa: E402


def measure(layout: Layout, pulled: int, settled: int) -> tuple[float, int, int]:
    tree = facttrees.pulled_tree(layout, pulled, settled)
    started = time.perf_counter()
    plan = plan_release(tree, layout)
    return time.perf_counter() - started, len(tree.files), len(plan.actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settled", type=int, default=15000)
    parser.add_argument("--pulled", type=int, nargs="+", default=[500, 1000, 2000])
    args = parser.parse_args()
    layout = Layout(load_config(REPO / "config" / "sme.yaml"), Path("/srv/tree"))
    points = []
    for pulled in args.pulled:
        elapsed, files, actions = measure(layout, pulled, args.settled)
        points.append((pulled, elapsed))
        print(
            f"plan {pulled:6d} pulled families  {files:7d} rpm files  {actions:6d} actions  "
            f"{elapsed:7.2f} s   (target <= 3 s at 2,000)"
        )
    from scaling import exponent

    print(f"growth: time ~ pulled^{exponent(points):.2f}")


if __name__ == "__main__":
    main()

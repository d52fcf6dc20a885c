"""Growth fit for the benchmarks: the exponent k of time ~ size^k (least squares on logs).

k ~ 1 is linear, k ~ 2 quadratic. Used by bench/planning.py; on its own it fits figures
given on the command line, e.g. bench/engine.py's at its three sizes (RPMs:seconds):

    .venv/bin/python bench/scaling.py 5960:2.7 20860:9.4 104300:46.3

Issue 20's second round (7 December 2026, under load), over 5,960 / 20,860 / 104,300
RPMs: first full cycle k = 0.99 (2.7 / 9.4 / 46.3 s), no-op cycle k = 0.98
(59 / 166 / 952 ms; the bare stat walk 0.97), one-family promotion k = 0.88
(0.53 / 1.26 / 6.45 s), peak RSS above the interpreter k = 0.95 (35 / 122 / 526 MB).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence


def exponent(points: Sequence[tuple[float, float]]) -> float:
    """Slope of log(time) over log(size); nan with fewer than two distinct sizes."""
    usable = [(math.log(size), math.log(max(time, 1e-9))) for size, time in points if size > 0]
    if len({x for x, _ in usable}) < 2:
        return math.nan
    mean_x = sum(x for x, _ in usable) / len(usable)
    mean_y = sum(y for _, y in usable) / len(usable)
    spread = sum((x - mean_x) ** 2 for x, _ in usable)
    return sum((x - mean_x) * (y - mean_y) for x, y in usable) / spread


def main(arguments: list[str]) -> None:
    points = [tuple(float(part) for part in item.split(":")) for item in arguments]
    print(f"time ~ size^{exponent(points):.2f}  ({len(points)} points)")


if __name__ == "__main__":
    main(sys.argv[1:])

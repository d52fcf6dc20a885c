"""Growth fit for the benchmarks: the exponent k of time ~ size^k (least squares on logs).

k ~ 1 is linear, k ~ 2 quadratic. Used by bench/planning.py and bench/engine_scale.py;
on its own it fits figures given on the command line:

    .venv/bin/python bench/scaling.py 5000:1.2 20000:4.9 100000:26
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

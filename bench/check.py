"""Benchmark of `updraft check` (not a test): its time against the least it could cost.

The floor: a bare stat walk of the tree (os.scandir + stat of every file) plus reading
every published arch dir's primary.xml with createrepo_c. Target (issue 16): the check
within 3x that floor on the 20k-RPM bench tree of bench/engine.py (same generator and
cache under .bench/; pass smaller sizes to measure quickly, e.g. --families 30).

    .venv/bin/python bench/check.py [--families 140] [--subpackages 48]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import REPO, WORK, best_of, build_tree, stat_walk
from updraft.config.dist import load_config
from updraft.engine.check import check
from updraft.engine.engine import Engine
from updraft.engine.listing import Listings, read_primary


def floor(engine: Engine) -> int:
    """The stat walk plus every primary.xml read; returns the packages listed."""
    stat_walk(engine.layout.root)
    listed = 0
    listings = Listings(engine.layout)
    for release in engine.config.releases:
        for target in listings.published(release):
            repo_dir = engine.layout.repodata_dir(release, target.repo, target.archdir)
            listed += len(read_primary(repo_dir) or {})
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=140)
    parser.add_argument("--subpackages", type=int, default=48)
    args = parser.parse_args()
    root = WORK / f"check-tree-{args.families}x{args.subpackages}"
    total = build_tree(root, args.families, args.subpackages)
    engine = Engine(load_config(REPO / "config" / "sme.yaml"), root, trigger="bench")
    engine.update_repos()  # settled, header cache warm
    listed = floor(engine)
    health = check(engine)
    assert health.healthy, "\n".join(health.lines()[:20])
    base = best_of(5, lambda: floor(engine))
    walk = best_of(5, lambda: stat_walk(root))
    checked = best_of(5, lambda: check(engine))
    noop = best_of(5, lambda: engine.update_repos())
    print(f"tree: {total} rpms placed, {health.files} package files, {listed} listed in "
          "repodata")
    print(f"stat walk                        {walk * 1000:8.1f} ms")
    print(f"stat walk + every primary.xml    {base * 1000:8.1f} ms")
    print(f"updraft check                    {checked * 1000:8.1f} ms   "
          f"{checked / base:5.2f}x the walk + primaries   (target <= 3x)")
    print("  phases: " + ", ".join(f"{name} {seconds * 1000:.0f} ms"
                                   for name, seconds in check(engine).timings.items()))
    print(f"update-repos, nothing to do      {noop * 1000:8.1f} ms   "
          f"{noop / walk:5.2f}x the stat walk   (bench/engine.py's target <= 3x)")


if __name__ == "__main__":
    main()

"""Benchmark of the release analysis (not a test): releasability of >= 2,000 families
with >= 10,000 bugs, and how many Bugzilla requests it takes.

Part 1, at full scale: 2,000 source packages, one to three versions offered each, five
bugs per change (10,000+ bugs), 8% of them not verified, bugs shared across packages
in chains (soft dependencies). The statuses come from the Bugzilla REST stand-in over
HTTP through python-bugzilla (the raw work: one request per 500 bugs), then the
fixpoint decides. Target: < 1 s of analysis, ceil(bugs / 500) requests.

Part 2, on a real tree: N families built by rpmbuild (smeos + smeupdates-testing,
createrepo_c repodata), the whole `analyse` (scan, changelogs from headers, Bugzilla,
fixpoint, libsolv closure) against the stand-in.

    .venv/bin/python bench/releasability.py [--families 2000] [--tree 2000]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.kits import treekit
from tests.kits.bugzilla_server import BugzillaServer, bug
from updraft.config.release import DEFAULT_REFERENCE
from updraft.devkit import rpmfactory
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.release.analysis import analyse
from updraft.release.changelog import RefParser
from updraft.release.releasability import PackageVersions, VersionLog, decide
from updraft.release.tracker import BugTracker

PARSER = RefParser(DEFAULT_REFERENCE, "SME")
BUGS_PER_CHANGE = 5


def synthetic(families: int, seed: int = 7) -> tuple[list[PackageVersions], dict[int, str]]:
    rng = random.Random(seed)
    packages, states, next_bug = [], {}, 1000
    shared: list[int] = []
    for index in range(families):
        versions, history = rng.randint(1, 3), []
        for release in range(versions):
            bugs = list(range(next_bug, next_bug + BUGS_PER_CHANGE))
            next_bug += BUGS_PER_CHANGE
            if shared and rng.random() < 0.3:  # part of another package's fix
                bugs[-1] = rng.choice(shared[-200:])
            shared.extend(bugs[:1])
            for number in bugs:
                states.setdefault(number, "RESOLVED" if rng.random() < 0.08 else "VERIFIED")
            refs = ", ".join(f"SME: {n}" for n in bugs)
            history.insert(0, PARSER.entry(1_300_000_000 + release * 86400,
                                           f"Dev <dev@example.org> - 1.0-{release + 1}",
                                           f"- change {release} [{refs}]"))
        logs = tuple(VersionLog(f"1.0-{versions - i}.el6.sme", "smeupdates-testing",
                                tuple(history[i:])) for i in range(versions))
        packages.append(PackageVersions(f"pkg{index:05d}", None, logs))
    return packages, states


def part_one(families: int) -> None:
    packages, states = synthetic(families)
    bugs = {number: bug(number, state) for number, state in states.items()}
    with BugzillaServer(bugs) as server:
        tracker = BugTracker(server.url, api_key=server.api_key)
        clock = time.perf_counter()
        found = tracker.fetch(states)
        fetched = time.perf_counter() - clock
        requests = tracker.requests
    status = {number: answer.status for number, answer in found.items()}
    best = math.inf
    for _ in range(5):
        clock = time.perf_counter()
        verdicts = decide(packages, status.get, frozenset({"VERIFIED", "CLOSED"}))
        best = min(best, time.perf_counter() - clock)
    releasable = sum(1 for v in verdicts if v.releasable is not None)
    older = sum(1 for v in verdicts if v.releasable and v.releasable is not v.candidate)
    print(f"part 1: {families} families, {len(states)} bugs "
          f"({sum(1 for s in states.values() if s != 'VERIFIED')} not verified)")
    print(f"  Bugzilla: {requests} requests (ceil(bugs/500) = {math.ceil(len(states) / 500)}),"
          f" {fetched * 1000:.0f} ms over HTTP with python-bugzilla")
    print(f"  decide (fixpoint, best of 5): {best * 1000:.0f} ms; {releasable} releasable, "
          f"{older} of them an older version")
    print(f"  analysis besides the raw fetch: {best * 1000:.0f} ms "
          f"({(fetched + best) / fetched:.2f}x the fetch alone); target < 1 s")


def part_two(families: int, scratch: Path) -> None:
    specs, states = [], {}
    for index in range(families):
        name = f"smeserver-bench{index:04d}"

        def refs(r: int, index: int = index) -> str:
            return ", ".join(f"SME: {100_000 + index * 20 + r * 10 + k}"
                             for k in range(BUGS_PER_CHANGE))
        entries = tuple(rpmfactory.ChangelogEntry(
            "Mon Jul 02 2012", "Dev <dev@example.org>", f"1.0-{r}",
            (f"- change [{refs(r)}]",)) for r in (2, 1))
        for release in ("1", "2"):
            specs.append(rpmfactory.FamilySpec(
                name=name, version="1.0", release=release, main_arch="noarch",
                requires=("e-smith-base",) if index % 50 else ("no-such-thing",),
                changelog=entries[2 - int(release):], binary_dist=".el6.sme"))
        states.update({100_000 + index * 20 + r * 10 + k: "VERIFIED"
                       for r in (1, 2) for k in range(BUGS_PER_CHANGE)})
    specs.append(rpmfactory.FamilySpec(name="e-smith-base", version="5", release="1",
                                       main_arch="noarch", binary_dist=".el6.sme"))
    clock = time.perf_counter()
    built = rpmfactory.build_families(specs, scratch / "rpms", ("x86_64",), jobs=2)
    print(f"part 2: built {len(specs)} families with rpmbuild in "
          f"{time.perf_counter() - clock:.0f} s")
    config = treekit.sme_config()
    layout = Layout(config, scratch / "tree")
    for spec, family in zip(specs, built, strict=True):
        repo = "smeos" if spec.release == "1" or spec.name == "e-smith-base" else \
            "smeupdates-testing"
        treekit.place(layout, "9", repo, family)
    Engine(config, layout.root).update_repos(["9"])
    bugs = {number: bug(number, state) for number, state in states.items()}
    with BugzillaServer(bugs) as server:
        best, analysis = math.inf, None
        for _ in range(3):
            tracker = BugTracker(server.url, api_key=server.api_key)
            clock = time.perf_counter()
            found = analyse(layout, "9", tracker)
            if time.perf_counter() - clock < best:
                best, analysis = time.perf_counter() - clock, found
    assert analysis is not None
    timings = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in analysis.timings.items())
    held = sum(1 for p in analysis.packages if p["broken_requires"])
    besides = best - analysis.timings["tracker"]
    print(f"  analyse() of {families} offered families, {analysis.tracker['asked']} bugs: "
          f"{best * 1000:.0f} ms best of 3 ({timings}); {analysis.tracker['requests']} "
          f"Bugzilla request(s); {held} held back by libsolv")
    print(f"  analysis besides the Bugzilla fetch: {besides * 1000:.0f} ms "
          f"({best / analysis.timings['tracker']:.2f}x the fetch alone); target < 1 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--tree", type=int, default=2000, help="families of the real tree")
    args = parser.parse_args()
    part_one(args.families)
    if args.tree:
        with tempfile.TemporaryDirectory(prefix="updraft-bench-release-") as scratch:
            part_two(args.tree, Path(scratch))


if __name__ == "__main__":
    main()

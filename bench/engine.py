"""Benchmark of the repository engine (not a test): prints times and ratios.

Generates (once, cached under .bench/) a tree of >= 20,000 real RPMs over releases 9
and 10, settles it, then measures in one run:
  - a bare stat walk of the tree (os.scandir + stat of every file),
  - `update-repos` when nothing is to do (header cache warm),
  - a one-family promotion including its repodata,
  - createrepo_c --update of the touched repos alone (the raw work),
  - the first full cycle (every header read, every repodata written) against createrepo_c
    of every repo dir (issue 20's table: <= 1.5x),
  - `updraft promote` of one family (the CLI's Promotion intent) against createrepo_c of
    the dirs it touched (<= 1.2x),
  - the process's peak RSS per RPM (<= 2 kB),
and prints the ratios the README quotes. Targets: no-op <= 1 s and <= 1.3x the stat walk;
one-family promotion <= 1.1x createrepo_c of the touched repos.

Sizes: --families 40 / 140 / 700 (48 subpackages) make ~5k / ~21k / ~100k RPMs; each size
has its own cached tree under .bench/tree-<families>.

    .venv/bin/python bench/engine.py [--families 140] [--subpackages 48]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from updraft.config.dist import load_config
from updraft.devkit.rpmfactory import FamilySpec, Subpackage, build_families
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.promote import Promotion

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench"
# Where the generated families go: (release, repo, share of the families).
SPREAD = [("smeos", 0.4), ("smeupdates", 0.2), ("smeupdates-testing", 0.2), ("smetest", 0.2)]


def _specs(count: int, subpackages: int, dist: str) -> list[FamilySpec]:
    return [
        FamilySpec(
            name=f"bench{number:04d}",
            version="1.0",
            release="1",
            subpackages=tuple(
                Subpackage(f"bench{number:04d}-sub{sub:03d}") for sub in range(subpackages)
            ),
            binary_dist=dist,
        )
        for number in range(count)
    ]


def build_tree(root: Path, families: int, subpackages: int) -> int:
    """Build and lay out the tree (cached); return the number of RPM files in it.
    A fresh tree's settling cycle is the first full cycle: it is timed against
    createrepo_c of every repo dir (written to .bench-first)."""
    marker = root / ".bench-complete"
    if marker.exists():
        return int(marker.read_text())
    shutil.rmtree(root, ignore_errors=True)
    config = load_config(REPO / "config" / "sme.yaml")
    layout = Layout(config, root)
    total = 0
    for release, arches, dist in (("9", ("i386", "x86_64"), ".el6"), ("10", ("x86_64",), ".el7")):
        built = _built(_specs(families, subpackages, dist), WORK / "rpms" / release, arches)
        start = 0
        for repo, share in SPREAD:
            chosen = built[start : start + int(len(built) * share)]
            start += len(chosen)
            for files in chosen:
                total += _place(layout, release, repo, files)
    started = time.perf_counter()
    Engine(config, root, trigger="bench").update_repos()  # settle: stage, repodata
    first = time.perf_counter() - started
    raw = createrepo_everywhere(layout, WORK / f"raw-first-{families}")
    (root / ".bench-first").write_text(f"{first} {raw}")
    marker.write_text(str(total))
    return total


def createrepo_everywhere(layout: Layout, scratch: Path) -> float:
    """createrepo_c (no cache) of every repo arch dir, into scratch copies of their
    repodata, one per core as the engine runs them: the raw work of a first cycle."""
    shutil.rmtree(scratch, ignore_errors=True)
    dirs = [
        layout.repodata_dir(release, repo, archdir)
        for release in layout.config.releases
        for repo, settings in layout.config.repos.items()
        if settings.repodata and not settings.stage
        for archdir in layout.archdirs(release)
    ]
    dirs = [d for d in dirs if d.is_dir()]
    started = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    def one(number_dir: tuple[int, Path]) -> None:
        number, directory = number_dir
        out = scratch / str(number)
        out.mkdir(parents=True)
        subprocess.run(
            ["createrepo_c", "--quiet", "--outputdir", str(out), str(directory)], check=True
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(one, enumerate(dirs)))
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch, ignore_errors=True)
    return elapsed


def _built(specs: list[FamilySpec], store: Path, arches: tuple[str, ...]) -> list[list[Path]]:
    """Each family's RPM files, built once per release and reused by every tree size
    (a family bench0042 is the same package in the 5k, 20k and 100k trees)."""
    missing = [spec for spec in specs if not (store / spec.name / ".built").exists()]
    if missing:
        started = time.perf_counter()
        for spec, family in zip(
            missing,
            build_families(missing, store / ".incoming", arches, jobs=os.cpu_count() or 2),
            strict=True,
        ):
            home = store / spec.name
            home.mkdir(parents=True, exist_ok=True)
            for rpm_file in family.files():
                os.replace(rpm_file, home / rpm_file.name)
            (home / ".built").touch()
        print(
            f"built {len(missing)} families into {store} in {time.perf_counter() - started:.0f} s"
        )
    return [sorted((store / spec.name).glob("*.rpm")) for spec in specs]


def _place(layout: Layout, release: str, repo: str, files: list[Path]) -> int:
    count = 0
    for rpm_file in files:
        arch = rpm_file.name.rsplit(".", 2)[-2]
        dirs = (
            [layout.source_dir(release, repo)]
            if arch == "src"
            else [layout.binary_dir(release, repo, a) for a in layout.archdirs_for(release, arch)]
        )
        for directory in dirs:
            directory.mkdir(parents=True, exist_ok=True)
            os.link(rpm_file, directory / rpm_file.name)
            count += 1
    return count


def stat_walk(root: Path) -> int:
    seen = 0
    pending = [str(root)]
    while pending:
        for entry in os.scandir(pending.pop()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                entry.stat(follow_symlinks=False)
                seen += 1
    return seen


def _families_left(root: Path) -> list[Path]:
    """The main package of each bench family still in smetest (each round moves one)."""
    return sorted(
        (root / "9" / "smetest" / "x86_64" / "RPMS").glob("bench[0-9][0-9][0-9][0-9]-1.0-1.*.rpm")
    )


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def createrepo_alone(dirs: list[Path], cache: Path) -> float:
    started = time.perf_counter()
    for directory in dirs:
        subprocess.run(
            ["createrepo_c", "--quiet", "--update", "--cachedir", str(cache), str(directory)],
            check=True,
        )
    return time.perf_counter() - started


def promote_one(engine: Engine, root: Path, round_number: int) -> tuple[float, list[Path], float]:
    """Copy one rpm of a smetest family into smeupdates-testing, as a packager would."""
    victim = _families_left(root)[0]
    shutil.copy(victim, root / "9" / "smeupdates-testing")
    started = time.perf_counter()
    result = engine.update_repos()
    elapsed = time.perf_counter() - started
    assert result.ok and result.rebuilt, result.failures
    dirs = [engine.layout.repodata_dir(t.release, t.repo, t.archdir) for t in result.rebuilt]
    return elapsed, dirs, elapsed - result.timings["repodata"]


def promote_cli(engine: Engine, root: Path, round_number: int) -> tuple[float, list[Path]]:
    """`updraft promote FILE --to smeupdates-testing`: the Promotion intent, one cycle."""
    victim = _families_left(root)[-1]
    promotion = Promotion(engine.layout, str(victim), "smeupdates-testing", "9")
    started = time.perf_counter()
    result = engine.update_repos(intents=promotion)
    elapsed = time.perf_counter() - started
    assert result.ok and result.rebuilt, result.failures
    return elapsed, [
        engine.layout.repodata_dir(t.release, t.repo, t.archdir) for t in result.rebuilt
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=140)
    parser.add_argument("--subpackages", type=int, default=48)
    args = parser.parse_args()
    # The interpreter and its libraries (rpm, createrepo_c, pydantic, the ledger's
    # SQLAlchemy once a cycle records): what any process of updraft holds before a scan.
    import updraft.ledger.store  # noqa: F401  (loaded by the first cycle that records)

    at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    root = WORK / f"tree-{args.families}"
    if len(_families_left(root)) < 8:
        (root / ".bench-complete").unlink(missing_ok=True)  # promoted away by earlier runs
    total = build_tree(root, args.families, args.subpackages)
    engine = Engine(load_config(REPO / "config" / "sme.yaml"), root, trigger="bench")
    files = stat_walk(root)
    walk = best_of(5, lambda: stat_walk(root))
    noop = best_of(5, lambda: engine.update_repos())
    promotions, raws, overheads = [], [], []
    for round_number in range(5):
        engine.update_repos()  # the follow-up cycle after a change finds the tree consistent
        elapsed, dirs, overhead = promote_one(engine, root, round_number)
        promotions.append(elapsed)
        overheads.append(overhead)
        raws.append(createrepo_alone(dirs, WORK / "raw-cache"))
    cli_times, cli_raws = [], []
    for round_number in range(3):
        engine.update_repos()
        elapsed, dirs_cli = promote_cli(engine, root, round_number)
        cli_times.append(elapsed)
        cli_raws.append(createrepo_alone(dirs_cli, WORK / "raw-cache"))
    promotion, raw = statistics.median(promotions), statistics.median(raws)
    overhead = statistics.median(overheads)
    cli, cli_raw = statistics.median(cli_times), statistics.median(cli_raws)
    first_file = root / ".bench-first"
    first, first_raw = (
        map(float, first_file.read_text().split())
        if first_file.exists()
        else (float("nan"), float("nan"))
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    print(f"tree: {total} rpms placed, {files} files in the tree (stage included)")
    print(f"stat walk                        {walk * 1000:8.1f} ms")
    print(
        f"update-repos, nothing to do      {noop * 1000:8.1f} ms   "
        f"{noop / walk:5.2f}x the stat walk   (target <= 1 s and <= 1.3x)"
    )
    print(
        f"one-family promotion + repodata  {promotion * 1000:8.1f} ms   "
        f"{promotion / raw:5.2f}x createrepo_c   (target <= 1.1x)"
    )
    print(
        f"`updraft promote` of one family  {cli * 1000:8.1f} ms   "
        f"{cli / cli_raw:5.2f}x createrepo_c of its {len(dirs_cli)} dirs   (target <= 1.2x)"
    )
    print(
        f"first full cycle (when built)    {first:8.1f} s    "
        f"{first / first_raw:5.2f}x createrepo_c of every repo dir ({first_raw:.1f} s)   "
        "(target <= 1.5x)"
    )
    print(
        f"peak RSS of this run             {peak / 1024:8.1f} MB   "
        f"{peak * 1024 / total:6.0f} B per RPM   (target <= 2 kB; the first cycle's "
        "cycle is in it when this run built the tree)"
    )
    print(
        f"  above the loaded interpreter   {(peak - at_start) / 1024:8.1f} MB   "
        f"{(peak - at_start) * 1024 / total:6.0f} B per RPM   (the interpreter and "
        f"libraries: {at_start / 1024:.0f} MB)"
    )
    print(
        f"createrepo_c --update, {len(dirs)} repos {raw * 1000:8.1f} ms   "
        "(one after the other, as typed by hand; the engine runs one per core)"
    )
    print(
        f"until the apply returned          {overhead * 1000:8.1f} ms   "
        "(scan, plan, journal, verified copies, ledger, settling; createrepo_c starts "
        "before the settling)"
    )


if __name__ == "__main__":
    main()

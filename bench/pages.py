"""Benchmark of the Packages page's server work (not a test): prints times.

Generates (once, under .bench/pages/) a tree shaped like bench/engine.py's 20,000-RPM
tree — families of 1 SRPM + 48 binaries per arch dir over releases 9 and 10 — and a
ledger with a state row for every binary (the worst case: every package moved at least
once). The page reads SRPM names, never a header, so the files are empty; a real tree
costs the same here. Measures, best and median of 7 runs: the first page of Packages
(data + HTML rendering, as the plugin serves it), a search, the JSON twin, Repos.
Target (issue 18): first page < 300 ms server time.

    .venv/bin/python bench/pages.py [--families 210]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from updraft.config.dist import load_config
from updraft.engine.layout import Layout
from updraft.ledger.store import Ledger, StateChange
from updraft.markup import environment
from updraft.web.links import family_url
from updraft.web.packages import Query
from updraft.web.site import Site

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench" / "pages"
SPREAD = [("smeos", 0.4), ("smeupdates", 0.2), ("smeupdates-testing", 0.2), ("smetest", 0.2)]
SUBPACKAGES = 48


def build(layout: Layout, families: int) -> int:
    marker = layout.root / ".pages-complete"
    if marker.is_file():
        return int(marker.read_text())
    changes, count, at = [], 0, datetime(2026, 11, 1, tzinfo=UTC)
    for release in ("9", "10"):
        start = 0
        for repo, share in SPREAD:
            size = int(families * share)
            for number in range(start, start + size):
                name, evr = f"bench{number:04d}", "1.0-1.el6"
                srpms = layout.source_dir(release, repo)
                srpms.mkdir(parents=True, exist_ok=True)
                (srpms / f"{name}-{evr}.src.rpm").touch()
                count += 1
                for archdir in layout.archdirs(release):
                    rpms = layout.binary_dir(release, repo, archdir)
                    rpms.mkdir(parents=True, exist_ok=True)
                    for sub in range(SUBPACKAGES):
                        file = f"{name}-sub{sub:03d}-{evr}.x86_64.rpm"
                        (rpms / file).touch()
                        count += 1
                        changes.append(StateChange(release, name, evr, f"{archdir}/{file}",
                                                   repo, "signed/untested", at))
            start += size
    with Ledger.open(layout.ledger_url) as ledger:
        ledger.set_states(changes)
    marker.write_text(str(count))
    return count


def timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=210)
    args = parser.parse_args()
    layout = Layout(load_config(REPO / "config" / "sme.yaml"), WORK / "tree")
    files = build(layout, args.families)
    site = Site(layout, Ledger.open(layout.ledger_url))
    template = environment(trim_blocks=True, lstrip_blocks=True).get_template(
        "web/packages.html.j2")

    def first_page(query: Query) -> str:
        view = site.packages(query)
        return template.render(title="Packages", section="Packages", nav=[], dist="bench",
                               json_url="", age=str, family_url=family_url,
                               page_url=str, **view.context)

    print(f"tree: {files} rpm files, {len(site.packages(Query()).data['rows'])} rows a page")
    for label, work in (
            ("Packages, first page (HTML)", lambda: first_page(Query())),
            ("Packages, search 'bench0042'", lambda: first_page(Query.of("bench0042"))),
            ("Packages, first page (JSON)", lambda: site.packages(Query()).data),
            ("Repos (JSON)", lambda: site.repos().data)):
        best, median = timed(7, work)
        print(f"{label:<32} best {best * 1000:7.1f} ms   median {median * 1000:7.1f} ms")
    print("target: Packages' first page < 300 ms server time")


if __name__ == "__main__":
    main()

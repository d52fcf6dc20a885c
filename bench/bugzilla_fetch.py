"""Benchmark of the Bugzilla fetch (not a test): BugTracker.fetch vs a plain HTTP client.

19,000 bugs in 38 batches of 500 from the REST stand-in (a threading HTTP server on
loopback, in a process of its own as a real Bugzilla is: in this process it would share
the client's interpreter lock, and neither client could overlap its work with the
server's). The plain client is `requests` GETting the same 38 URLs one after the other
and parsing the JSON, nothing more: the raw cost of the transfer. Target (issue 20):
the tracker <= 1.5x the plain client. Best of 5 each.

    .venv/bin/python bench/bugzilla_fetch.py [--bugs 19000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from updraft.devkit.bugzilla_standin import bug
from updraft.release.tracker import FIELDS, BugTracker


def plain(url: str, key: str, ids: list[int], batch: int) -> int:
    session = requests.Session()
    seen = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        answer = session.get(
            f"{url}/rest/bug",
            params={
                "id": ",".join(map(str, chunk)),
                "permissive": 1,
                "include_fields": ",".join(FIELDS),
                "Bugzilla_api_key": key,
            },
            timeout=30,
        )
        answer.raise_for_status()
        seen += len(answer.json()["bugs"])
    return seen


def best_of(runs: int, work, setup=lambda: None) -> float:
    """The best time of `work(setup())`; setup's own time is not counted."""
    times = []
    for _ in range(runs):
        prepared = setup()
        started = time.perf_counter()
        work(prepared)
        times.append(time.perf_counter() - started)
    return min(times)


KEY = "bench-key"


@contextmanager
def standin(bugs: dict[int, dict[str, object]]) -> Iterator[str]:
    """The stand-in in its own process; yields its URL."""
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "bugs.json"
        listing.write_text(json.dumps({str(k): {f: v for f, v in b.items() if f in (
            "status", "resolution", "product", "version", "summary", "keywords",
            "depends_on", "blocks")} for k, b in bugs.items()}))
        server = subprocess.Popen(
            [sys.executable, "-m", "updraft.devkit.bugzilla_standin", "--bugs", str(listing),
             "--api-key", KEY], stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline() if server.stdout else ""
            yield line.split(" at ", 1)[1].split(" (", 1)[0]
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bugs", type=int, default=19000)
    args = parser.parse_args()
    ids = list(range(10_000, 10_000 + args.bugs))
    bugs = {number: bug(number, "VERIFIED") for number in ids}
    with standin(bugs) as url:
        base = url.removesuffix("/").removesuffix("/rest")
        assert plain(base, KEY, ids, BugTracker.BATCH) == len(ids)
        raw = best_of(5, lambda _: plain(base, KEY, ids, BugTracker.BATCH))

        def connected() -> BugTracker:
            tracker = BugTracker(url, api_key=KEY)
            tracker._connect()  # the one-off GET /rest/version is not a fetch
            return tracker

        def tracked(tracker: BugTracker) -> None:
            assert len(tracker.fetch(ids)) == len(ids)

        fetch = best_of(5, tracked, connected)
    batches = -(-len(ids) // BugTracker.BATCH)
    print(f"plain HTTP client, {batches} batches  {raw * 1000:8.1f} ms")
    print(
        f"BugTracker.fetch                 {fetch * 1000:8.1f} ms   "
        f"{fetch / raw:5.2f}x the plain client   (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()

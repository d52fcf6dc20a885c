"""Benchmark of the Bugzilla fetch (not a test): BugTracker.fetch vs a plain HTTP client.

19,000 bugs in 38 batches of 500 from the REST stand-in (a threading HTTP server on
loopback). The plain client is `requests` GETting the same 38 URLs one after the other
and parsing the JSON, nothing more: the raw cost of the transfer. Target (issue 20):
the tracker <= 1.5x the plain client. Best of 5 each.

    .venv/bin/python bench/bugzilla_fetch.py [--bugs 19000]
"""

from __future__ import annotations

import argparse
import time

import requests

from updraft.devkit.bugzilla_standin import BugzillaServer, bug
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


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bugs", type=int, default=19000)
    args = parser.parse_args()
    ids = list(range(10_000, 10_000 + args.bugs))
    bugs = {number: bug(number, "VERIFIED") for number in ids}
    with BugzillaServer(bugs) as server:
        base = server.url.removesuffix("/").removesuffix("/rest")
        assert plain(base, server.api_key, ids, BugTracker.BATCH) == len(ids)
        raw = best_of(5, lambda: plain(base, server.api_key, ids, BugTracker.BATCH))

        def tracked() -> None:
            tracker = BugTracker(server.url, api_key=server.api_key)
            tracker._connect()  # the one-off GET /rest/version is not a fetch
            assert len(tracker.fetch(ids)) == len(ids)

        fetch = best_of(5, tracked)
    batches = -(-len(ids) // BugTracker.BATCH)
    print(f"plain HTTP client, {batches} batches  {raw * 1000:8.1f} ms")
    print(
        f"BugTracker.fetch                 {fetch * 1000:8.1f} ms   "
        f"{fetch / raw:5.2f}x the plain client   (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()

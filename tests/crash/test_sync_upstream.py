"""`sync-upstream` against a real HTTP mirror, SIGKILLed mid-download (a `.part` left to
resume), before a verified file is renamed, mid-landing (the cycle's journal, copies and
repodata) and before its advisories are linked: every re-run converges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import crash as kit
from tests.kits import upstreamkit
from tests.kits.signing import SigningKey
from updraft.devkit.rpmfactory import BuiltFamily

pytestmark = [pytest.mark.slow, pytest.mark.timeout(kit.timeout())]
OFFER = ["tzdata-new", "php-new", "libtevent-new", "newpkg"]
TZDATA = [("tzdata", "2012i", "2.el5", arch) for arch in upstreamkit.ARCHES]


@pytest.fixture(scope="module")
def case(families: dict[str, BuiltFamily], keys: dict[str, SigningKey],
         signed: dict[str, Path]) -> Iterator[upstreamkit.Case]:
    case = upstreamkit.make_case(kit.scratch("sync"), families, keys["centos"].public)
    try:
        upstreamkit.publish(case.served, upstreamkit.offer(signed, families, OFFER),
                            advisories=[{"id": "CESA-2012:1", "title": "tzdata update",
                                         "severity": "Important", "packages": TZDATA}])
        yield case
    finally:
        case.server.stop()


def test_sync_upstream_converges(case: upstreamkit.Case) -> None:
    sync = kit.Command(["sync-upstream"], config=case.root / "dist.yaml")
    suite = kit.Suite("sync-upstream", case.layout.root, sync, kills=10, doubles=2,
                      config=case.root / "dist.yaml")
    outcome = kit.record(suite.run())
    assert outcome.checkpoints > 10


def test_the_kills_that_found_bugs_converge(case: upstreamkit.Case) -> None:
    """Killed after the first file of a landing is placed: the next mirror step pruned
    the files the unfinished journal still copied (a family without its SRPM). Killed
    after the landing applied: the next run had nothing to land and never linked the
    security advisory."""
    sync = kit.Command(["sync-upstream"], config=case.root / "dist.yaml")
    suite = kit.Suite("sync-upstream (pinned)", case.layout.root, sync, kills=0, doubles=0,
                      config=case.root / "dist.yaml")
    suite.run(named=["apply: file placed", "landing: applied"])

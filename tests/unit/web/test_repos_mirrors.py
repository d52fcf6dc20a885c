"""The Repos page's download mirrors (issue 18), its JSON twin from the facade: each
mirror's latest check over real HTTP, in sync / behind / unreachable against our repodata
revision as it is now, and when it was checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.kits.httprepo import RepoServer
from tests.kits.mirrorkit import repomd_path, template, write_repomd
from updraft.engine.engine import Engine
from updraft.ledger import Ledger
from updraft.ledger.mirrors import MirrorRecords, MirrorSeen
from updraft.release import mirrors
from updraft.web.site import Site

pytestmark = pytest.mark.timeout(60)
REPO = "smeupdates-testing"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MARKUP = "<script>alert(1)</script>"


def _repos(engine: Engine) -> dict:  # type: ignore[type-arg]
    with Ledger.open(engine.layout.ledger_url) as ledger:
        return Site(engine.layout, ledger).repos(NOW).data


def test_each_mirror_is_in_sync_behind_or_unreachable_with_its_age(
        engine: Engine, tmp_path: Path) -> None:
    masters = mirrors.master_revisions(engine.layout, "9", REPO, ["x86_64"])
    ours = masters["x86_64"]
    write_repomd(tmp_path / "lagging", "9", REPO, "x86_64", MARKUP)
    with RepoServer(engine.layout.root) as synced, RepoServer(tmp_path / "lagging") as lagging, \
            RepoServer(tmp_path / "lagging") as failing:
        failing.fail[repomd_path("9", REPO, "x86_64")] = 503
        checks = mirrors.check((template(synced), template(lagging), template(failing)),
                               "9", REPO, masters, timeout=5)
        mirrors.record(engine.layout.ledger_url, "9", REPO, checks,
                       NOW - timedelta(minutes=5))

    data = _repos(engine)

    rows = {row["mirror"]: row for row in data["mirror_checks"]}
    assert len(rows) == 3
    assert rows[template(synced)] == {
        "mirror": template(synced), "release": "9", "repo": REPO, "archdir": "x86_64",
        "url": f"{synced.url}{repomd_path('9', REPO, 'x86_64')}", "state": "in sync",
        "theirs": ours, "ours": ours, "error": "",
        "checked": (NOW - timedelta(minutes=5)).isoformat(), "age_seconds": 300}
    behind = rows[template(lagging)]
    assert (behind["state"], behind["theirs"], behind["ours"]) == ("behind", MARKUP, ours)
    down = rows[template(failing)]
    assert (down["state"], down["theirs"], down["error"]) == (
        "unreachable", "", "HTTP Error 503: Service Unavailable")
    arch = next(d for d in data["arch_dirs"]
                if (d["release"], d["repo"], d["archdir"]) == ("9", REPO, "x86_64"))
    assert arch["revision"] == ours  # "ours" is the page's own repodata revision


def test_a_mirror_in_sync_with_an_older_revision_of_ours_is_behind(engine: Engine) -> None:
    """The state is against our repodata now: a release published since the check leaves
    a mirror that had caught up behind again, until the next check says otherwise."""
    with Ledger.open(engine.layout.ledger_url) as ledger:
        MirrorRecords(ledger).record([MirrorSeen(
            "http://mirror.example.org/{release}/{repo}/{arch}", "9", REPO, "i386",
            "http://mirror.example.org/9/x/i386/repodata/repomd.xml", "1000", "1000", "",
            NOW - timedelta(days=2))])
    [row] = _repos(engine)["mirror_checks"]
    assert row["state"] == "behind" and row["theirs"] == "1000"
    assert row["ours"] and row["ours"] != "1000" and row["age_seconds"] == 2 * 86400

"""Analysis, typed: every part round-trips through the JSON the board, the gate and
`updraft releasability --format json` read, unchanged."""

from __future__ import annotations

import json

from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate
from updraft.release.changelog import Entry
from updraft.release.findings import Analysis, ChangeWithoutBug, NewerInSmetest, TrackerState
from updraft.release.releasability import Blocker
from updraft.release.tracker import Bug

FIX = Entry(1342000000, "Ian <i@example.org> 5.0.0-14.sme", "- fix [SME: 6104]", (6104,))


def analysis() -> Analysis:
    base = ReleaseCandidate(
        "e-smith-base", "5.0.0-16.el6.sme", "5.0.0-14.el6.sme",
        blocked_by=(Blocker("unverified", "bug 6248 is RESOLVED", 6248),), kind="sme",
        bugs=(6104, 6248), changes=(FIX,), release_changes=(FIX,))
    return Analysis(
        release="9", generated="2026-12-07T10:00:00+00:00",
        tracker=TrackerState("http://bugs/rest/", 1, True, None, 2),
        packages=[base],
        bugs={6104: BugFacts(Bug(6104, "VERIFIED", "FIXED"), ("e-smith-base-5.0.0-14.el6.sme",)),
              6248: BugFacts.unanswered(6248, ("e-smith-base-5.0.0-16.el6.sme",))},
        missing_bugs=[],
        changes_without_bugs=[ChangeWithoutBug("clamav", "0.97.5-2.rf", "smeupdates-testing",
                                               "* Tue Jul 10 2012 Dag - 0.97.5-2 - cron")],
        smetest_newer=[NewerInSmetest("e-smith-pop3", "2.0.0-3.el6.sme", "smetest",
                                      "/tree/e-smith-pop3-2.0.0-3.el6.sme.src.rpm")],
        unchecked=["i386"], timings={"inventory": 0.5})


def test_the_analysis_round_trips_through_its_json() -> None:
    found = analysis()
    raw = json.loads(json.dumps(found.to_json()))  # as the file and XCom carry it
    assert Analysis.from_json(raw) == found
    assert Analysis.from_json(raw).to_json() == raw


def test_the_json_keys_are_the_boards() -> None:
    raw = analysis().to_json()
    assert list(raw) == ["release", "generated", "tracker", "packages", "bugs", "missing_bugs",
                         "changes_without_bugs", "smetest_newer", "unchecked_requires",
                         "timings"]
    assert raw["tracker"] == {"url": "http://bugs/rest/", "requests": 1, "reachable": True,
                              "error": None, "asked": 2}
    assert list(raw["bugs"]) == ["6104", "6248"]
    assert raw["changes_without_bugs"] == [{
        "package": "clamav", "version": "0.97.5-2.rf", "repo": "smeupdates-testing",
        "entry": "* Tue Jul 10 2012 Dag - 0.97.5-2 - cron"}]
    assert raw["smetest_newer"] == [{"package": "e-smith-pop3", "version": "2.0.0-3.el6.sme",
                                     "repo": "smetest",
                                     "srpm": "/tree/e-smith-pop3-2.0.0-3.el6.sme.src.rpm"}]

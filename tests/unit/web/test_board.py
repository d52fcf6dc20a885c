"""The Release board, live, on a typed analysis: a package released since is no longer
offered, and the JSON twin keeps the analysis' shape with a verdict per package."""

from __future__ import annotations

from datetime import UTC, datetime

from updraft.release.candidate import ReleaseCandidate
from updraft.release.findings import Analysis, TrackerState
from updraft.release.releasability import Blocker
from updraft.web.board import live
from updraft.web.catalog import Shelf


def analysis() -> Analysis:
    return Analysis("9", "g", TrackerState("u", 1, True, None, 3), [
        ReleaseCandidate("clamav", "0.97.5-2.rf", "0.97.5-2.rf", bugs=()),
        ReleaseCandidate("e-smith-base", "5.0.0-16.el6.sme", "5.0.0-14.el6.sme",
                         blocked_by=(Blocker("unverified", "bug 6248 is RESOLVED", 6248),),
                         released="5.0.0-13.el6.sme", bugs=(6104, 6248), security=True),
        ReleaseCandidate("e-smith-pop3", "2.0.0-2.el6.sme", None,
                         blocked_by=(Blocker("soft", "part of bug 6262"),))], {}, [], [], [])


def test_a_package_released_since_is_shown_released() -> None:
    shelf = Shelf("9", "smeupdates", "e-smith-base", ("5.0.0-14.el6.sme", "5.0.0-13.el6.sme"),
                  datetime.now(UTC))
    before = analysis()
    board = live(before, [shelf], "smeupdates")
    assert [(o.name, o.verdict, o.releasable, o.released) for o in board.offers] == [
        ("clamav", "releasable", "0.97.5-2.rf", ""),
        ("e-smith-base", "released", "", "5.0.0-14.el6.sme"),
        ("e-smith-pop3", "held", "", "")]
    assert board.offers[1].reasons == ("5.0.0-14.el6.sme is in smeupdates now",)
    assert board.offers[2].reasons == ("part of bug 6262",)
    assert before.packages[1].releasable == "5.0.0-14.el6.sme"  # the analysis is kept as it is
    raw = board.to_json()
    base = raw["packages"][1]
    assert (base["releasable"], base["released"], base["verdict"]) == (
        None, "5.0.0-14.el6.sme", "released")
    assert raw["offers"][1] == {
        "name": "e-smith-base", "released": "5.0.0-14.el6.sme",
        "candidate": "5.0.0-16.el6.sme", "releasable": "", "verdict": "released",
        "reasons": ["5.0.0-14.el6.sme is in smeupdates now"], "bugs": [6104, 6248],
        "security": True}
    assert {k: v for k, v in raw.items() if k not in ("packages", "offers")} == {
        k: v for k, v in before.to_json().items() if k != "packages"}

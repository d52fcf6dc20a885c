"""Issue 21.1: "new since the released version" on real changelog histories.

SME packagers corrected headers that had long shipped ("- 2.2.0-5" -> "- 2.2.0-5.sme",
spacing, typos) and fixed dates; a release manager still sees those entries as shipped.
Pure tests of new_entries, then packages built by rpmbuild whose %changelog has those
edits, read back from their headers and through the whole analysis (Bugzilla stand-in).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.bugzilla_server import BugzillaServer, bug
from updraft.config.release import DEFAULT_REFERENCE
from updraft.devkit import rpmfactory
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.release.analysis import analyse
from updraft.release.changelog import Changelog, Entry, RefParser, new_entries, read_changelog
from updraft.release.tracker import BugTracker

PARSER = RefParser(DEFAULT_REFERENCE, "SME")
DAY = 86400
T0 = 1_341_000_000  # mid-2012
IAN = "Ian Wells <esmith@wellsi.com>"


def entry(day: int, header: str, text: str) -> Entry:
    return PARSER.entry(T0 + day * DAY, header, text)


RELEASED = [  # e-smith-lib 2.2.0-5 as shipped in smeos, newest first
    entry(30, f"{IAN} - 2.2.0-5", "- Fix the domain lookup [SME: 7001]"),
    entry(20, f"{IAN} - 2.2.0-4", "- Quote the password in the template\n  [SME: 7000]"),
    entry(10, f"{IAN} - 2.2.0-3", "- Roll new stream [SME: 6000]"),
]


def texts(entries: list[Entry]) -> list[str]:
    return [e.text for e in entries]


def test_re_headered_entries_stay_shipped() -> None:
    candidate = [
        entry(40, f"{IAN} - 2.2.0-6.sme", "- Drop ipchains [SME: 8000]"),
        entry(30, f"{IAN} - 2.2.0-5.sme", "- Fix the domain lookup [SME: 7001]"),
        entry(20, f"{IAN} 2.2.0-4.sme", "- Quote the password in the template\n  [SME: 7000]"),
        entry(10, f"{IAN}  -  2.2.0-3.sme", "- Roll new stream [SME: 6000]"),
    ]
    assert texts(new_entries(candidate, RELEASED)) == ["- Drop ipchains [SME: 8000]"]
    # the old rule (time, author line, text) took every re-headered entry for a change
    old_rule = {e.identity() for e in RELEASED}
    assert len([e for e in candidate if e.identity() not in old_rule]) == 4


def test_header_typos_and_rewrapped_text_stay_shipped() -> None:
    candidate = [
        entry(41, "Ian Wells <esmith@wellsi.com> - 2.2.0-6.sme", "- New thing [SME: 8001]"),
        entry(30, "Ian Wels <esmith@wellsi.com> - 2.2.0-5", "- Fix the domain lookup [SME: 7001]"),
        entry(20, f"{IAN} - 2.2.0.-4", "- Quote the password in the template  [SME: 7000]"),
        *RELEASED[2:],
    ]
    assert [e.bugs for e in new_entries(candidate, RELEASED)] == [(8001,)]


def test_a_fixed_date_in_its_place_stays_shipped() -> None:
    candidate = [
        entry(40, f"{IAN} - 2.2.0-6", "- New thing [SME: 8001]"),
        entry(31, f"{IAN} - 2.2.0-5.sme", "- Fix the domain lookup [SME: 7001]"),  # was day 30
        *RELEASED[1:],
    ]
    assert [e.bugs for e in new_entries(candidate, RELEASED)] == [(8001,)]


def test_every_date_fixed_still_meets_by_text_in_place() -> None:
    shifted = [PARSER.entry(e.time + DAY, e.author, e.text) for e in RELEASED]
    candidate = [entry(50, f"{IAN} - 2.2.0-6", "- New thing [SME: 8001]"), *shifted]
    assert [e.bugs for e in new_entries(candidate, RELEASED)] == [(8001,)]
    released = RELEASED[:1]  # one entry, its date fixed: both histories end there
    candidate = [entry(50, f"{IAN} - 2.2.0-6", "- New [SME: 8001]"), shifted[0]]
    assert [e.bugs for e in new_entries(candidate, released)] == [(8001,)]


def test_a_really_new_entry_with_an_old_date_is_new() -> None:
    candidate = [
        entry(5, f"{IAN} - 2.2.0-6", "- Backport the lookup fix [SME: 8002]"),  # older date
        *RELEASED,
    ]
    assert [e.bugs for e in new_entries(candidate, RELEASED)] == [(8002,)]
    # a new entry repeating an old line ("- Rebuild") at the top is still new
    rebuild = [entry(30, f"{IAN} - 1-2", "- Rebuild"), entry(20, f"{IAN} - 1-1", "- Rebuild")]
    assert new_entries([entry(40, f"{IAN} - 1-3", "- Rebuild"), *rebuild], rebuild) == [
        entry(40, f"{IAN} - 1-3", "- Rebuild")]


def test_histories_that_never_meet_are_all_new_and_nothing_released_is_all_new() -> None:
    other = [entry(60, "Upstream <u@example.org> - 3.0-1", "- Upstream rewrite")]
    assert new_entries(other, RELEASED) == other
    assert Changelog(list(RELEASED)).since(None) == RELEASED
    assert new_entries(RELEASED, RELEASED) == []


def test_an_entry_the_released_version_has_and_the_candidate_dropped() -> None:
    candidate = [entry(40, f"{IAN} - 2.2.0-6", "- New [SME: 8001]"), *RELEASED[1:]]
    assert [e.bugs for e in new_entries(candidate, RELEASED)] == [(8001,)]


# -- real packages: rpmbuild writes the %changelog, rpm's header gives it back ------------------

def lib(release: str, log: list[tuple[str, str, str, tuple[str, ...]]]) -> rpmfactory.FamilySpec:
    return rpmfactory.FamilySpec(
        name="e-smith-lib", version="2.2.0", release=release, main_arch="noarch",
        binary_dist=".el6.sme",
        changelog=tuple(rpmfactory.ChangelogEntry(date, author, evr, lines)
                        for date, author, evr, lines in log))


SHIPPED = [
    ("Mon Jul 30 2012", IAN, "2.2.0-5", ("- Fix the domain lookup [SME: 7001]",)),
    ("Fri Jul 20 2012", IAN, "2.2.0-4", ("- Quote the password in the template",
                                         "  [SME: 7000]")),
    ("Tue Jul 10 2012", IAN, "2.2.0-3", ("- Roll new stream [SME: 6000]",)),
]
# "Minor changelog fixes in version number": the same history, headers corrected, one
# date fixed, and a new entry that (copied from the one below) carries its old date.
CORRECTED = [
    ("Mon Jul 30 2012", "Ian Wells <esmith@wellsi.com>", "2.2.0-6.sme",
     ("- Stop the lookup from timing out [SME: 8000]",)),
    ("Mon Jul 30 2012", IAN + " ", "2.2.0-5.sme", ("- Fix the domain lookup [SME: 7001]",)),
    ("Sat Jul 21 2012", IAN, "2.2.0-4.sme", ("- Quote the password in the template",
                                             "  [SME: 7000]")),
    ("Tue Jul 10 2012", "Ian Welss <esmith@wellsi.com>", "2.2.0-3.sme",
     ("- Roll new stream [SME: 6000]",)),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[rpmfactory.BuiltFamily]:
    return rpmfactory.build_families([lib("5", SHIPPED), lib("6", CORRECTED)],
                                     tmp_path_factory.mktemp("libs"), ("x86_64",))


def test_rpm_headers_of_re_headered_history_give_one_change(
        built: list[rpmfactory.BuiltFamily]) -> None:
    released = read_changelog(built[0].srpm, PARSER)
    candidate = read_changelog(built[1].srpm, PARSER)
    assert [e.evr for e in candidate.entries] == ["2.2.0-6.sme", "2.2.0-5.sme", "2.2.0-4.sme",
                                                  "2.2.0-3.sme"]
    assert candidate.entries[1].author != released.entries[0].author  # the header changed
    assert [e.bugs for e in candidate.since(released)] == [(8000,)]


def test_the_analysis_asks_only_the_new_bug_and_a_reopened_old_one_blocks_nothing(
        tmp_path: Path, built: list[rpmfactory.BuiltFamily]) -> None:
    config = treekit.sme_config()
    layout = Layout(config, tmp_path / "tree")
    treekit.place(layout, "9", "smeos", built[0])
    treekit.place(layout, "9", "smeupdates-testing", built[1])
    engine = Engine(config, tmp_path / "tree")
    assert engine.update_repos(["9"]).ok
    bugs = {7000: bug(7000, "REOPENED", product="SME Server 9.X"),
            7001: bug(7001, "CLOSED", resolution="FIXED", product="SME Server 9.X"),
            8000: bug(8000, "VERIFIED", resolution="FIXED", product="SME Server 9.X")}
    with BugzillaServer(bugs) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    package = analysis.packages[0].to_json()
    assert len(analysis.packages) == 1
    assert package["releasable"] == "2.2.0-6.el6.sme" and package["blocked_by"] == []
    assert package["bugs"] == [8000]
    assert [c["text"] for c in package["changes"]] == [
        "- Stop the lookup from timing out [SME: 8000]"]
    assert sorted(analysis.bugs) == [8000]  # long-closed bugs are not asked again

"""The Bugzilla tracker, through the real python-bugzilla, against the REST stand-in."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from tests.kits.bugzilla_server import BugzillaServer, bug
from updraft.errors import ConfigError
from updraft.release.tracker import Bug, BugTracker, TrackerUnavailable, tracker_from_env

KEY = "k3y-Zq9-stand-in-secret"


@pytest.fixture
def bugzilla() -> Iterator[BugzillaServer]:
    bugs = {
        6248: bug(6248, "RESOLVED", "FIXED", summary="e-smith-base: DHCP range",
                  depends_on=[6262], blocks=[4633]),
        6262: bug(6262, "VERIFIED", "FIXED", keywords=["Security", "Regression"]),
        4633: bug(4633, "VERIFIED", "FIXED", product="SME Server 8.X", version="8.0"),
        7001: bug(7001, "NEW", product="SME Server", version="9.2"),
    }
    with BugzillaServer(bugs, api_key=KEY, denied={5908}) as server:
        yield server


@pytest.fixture
def tracker(bugzilla: BugzillaServer) -> BugTracker:
    return BugTracker(bugzilla.url, api_key=KEY)


def test_fetch_reads_every_field(tracker: BugTracker) -> None:
    bugs = tracker.fetch([6248, 6262, 6248])
    assert sorted(bugs) == [6248, 6262]
    assert bugs[6248] == Bug(6248, "RESOLVED", "FIXED", "SME Server", "9",
                             "e-smith-base: DHCP range", (), (6262,), (4633,))
    assert bugs[6262].keywords == ("Security", "Regression")
    assert bugs[6262].security and not bugs[6248].security
    assert bugs[6262].known and tracker.requests == 1


def test_denied_and_missing_numbers_are_marked(tracker: BugTracker) -> None:
    bugs = tracker.fetch([5908, 424242, 6262])
    assert bugs[5908] == Bug(5908, None, access_denied=True)
    assert bugs[424242] == Bug(424242, None, missing=True)
    assert not bugs[5908].known and not bugs[5908].product_matches("SME Server")
    assert bugs[6262].status == "VERIFIED"


def test_a_bug_left_out_without_a_fault_is_access_denied(
        bugzilla: BugzillaServer, tracker: BugTracker) -> None:
    bugzilla.search_faults = False  # Bugzilla 5's /rest/bug search hides, without a fault
    bugs = tracker.fetch([5908, 6262])
    assert bugs[5908] == Bug(5908, None, access_denied=True)
    assert bugs[6262].status == "VERIFIED"


def test_one_request_per_batch_of_500(bugzilla: BugzillaServer) -> None:
    bugzilla.bugs.update({n: bug(n, "VERIFIED", "FIXED") for n in range(10_000, 11_201)})
    tracker = BugTracker(bugzilla.url, api_key=KEY)
    bugs = tracker.fetch(range(10_000, 11_201))
    assert len(bugs) == 1201 and all(found.status == "VERIFIED" for found in bugs.values())
    assert tracker.requests == 3
    assert bugzilla.requests_to("GET", "/rest/bug") == 3
    # connecting asks the version once; python-bugzilla makes no other set-up call
    assert bugzilla.log.count(("GET", "/rest/version")) == 1 and len(bugzilla.log) == 4


def test_product_mismatch_is_flagged(tracker: BugTracker) -> None:
    bugs = tracker.fetch([6248, 4633, 7001])
    assert bugs[6248].product_matches("SME Server", "9")
    assert bugs[7001].product_matches("sme server", "9")  # 9.2 is within release 9
    assert not bugs[7001].product_matches("SME Server", "10")
    assert not bugs[4633].product_matches("SME Server", "9")


def test_bug_round_trips_through_json() -> None:
    original = Bug(6248, "RESOLVED", "FIXED", "SME Server", "9", "s", ("security",),
                   (6262,), (4633,))
    assert Bug.from_json(original.to_json()) == original
    assert Bug.from_json(Bug(5908, None, access_denied=True).to_json()).access_denied


def test_wrong_api_key_is_one_clear_line_without_the_key(bugzilla: BugzillaServer) -> None:
    wrong = "wrong-" + KEY
    with pytest.raises(TrackerUnavailable) as caught:
        BugTracker(bugzilla.url, api_key=wrong).fetch([6248])
    message = str(caught.value)
    assert "\n" not in message and wrong not in message and KEY not in message
    assert bugzilla.url.rstrip("/") in message and "API key" in message


def test_server_down_is_unavailable(bugzilla: BugzillaServer, tracker: BugTracker) -> None:
    tracker.fetch([6248])
    bugzilla.down = True
    with pytest.raises(TrackerUnavailable, match="check that Bugzilla is up"):
        tracker.fetch([6262])
    with pytest.raises(TrackerUnavailable):
        tracker.close([6248], "FIXED", "released")
    assert bugzilla.bugs[6248]["status"] == "RESOLVED" and not bugzilla.comments


def test_nobody_listening_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TrackerUnavailable, match=f"127.0.0.1:{port}"):
        BugTracker(f"http://127.0.0.1:{port}", api_key=KEY, timeout=2).fetch([1])


def test_close_sets_resolution_with_a_comment_once(
        bugzilla: BugzillaServer, tracker: BugTracker) -> None:
    comment = "Released in smeupdates: e-smith-base-5.0.0-16.el5.sme"
    assert tracker.close([6248, 6262, 5908], "FIXED", comment, status="CLOSED") == [6248, 6262]
    assert bugzilla.bugs[6248]["status"] == "CLOSED"
    assert bugzilla.bugs[6248]["resolution"] == "FIXED"
    assert bugzilla.comments == {6248: [comment], 6262: [comment]}
    puts = bugzilla.requests_to("PUT", "/rest/bug/6248")
    assert tracker.close([6248, 6262], "FIXED", comment, status="CLOSED") == []
    assert bugzilla.comments == {6248: [comment], 6262: [comment]}
    assert bugzilla.requests_to("PUT", "/rest/bug/6248") == puts == 1


def test_api_key_never_reaches_the_logs(
        bugzilla: BugzillaServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = BugTracker(bugzilla.url, api_key=KEY)
    tracker.fetch([6248, 5908])
    tracker.close([7001], "FIXED", "released")
    with pytest.raises(TrackerUnavailable):
        BugTracker(bugzilla.url, api_key=KEY + "x").fetch([1])
    assert "GET /rest/bug?" in caplog.text  # urllib3 did log the request lines
    assert KEY not in caplog.text and KEY not in repr(tracker)


def test_url_from_the_environment_overrides_the_config(
        bugzilla: BugzillaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPDRAFT_BUGZILLA_URL", raising=False)
    monkeypatch.delenv("UPDRAFT_BUGZILLA_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="bugzilla.url"):
        tracker_from_env(None)
    assert tracker_from_env("bugs.example.org").url == "https://bugs.example.org/rest/"
    monkeypatch.setenv("UPDRAFT_BUGZILLA_URL", bugzilla.url)
    monkeypatch.setenv("UPDRAFT_BUGZILLA_API_KEY", KEY)
    tracker = tracker_from_env("https://bugs.example.org/")
    assert tracker.fetch([6262])[6262].status == "VERIFIED"


def test_a_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ftp://bugs"):
        BugTracker("ftp://bugs.example.org")


def test_stand_in_takes_a_comment_as_bugzilla_documents(bugzilla: BugzillaServer) -> None:
    import requests

    url = f"{bugzilla.url}rest/bug/6248/comment"
    answer = requests.post(url, json={"comment": "tested on 9.2"}, timeout=5,
                           headers={"X-BUGZILLA-API-KEY": KEY})
    assert answer.status_code == 200 and answer.json() == {"id": 1}
    refused = requests.post(url, json={"comment": "x"}, params={"api_key": "nope"}, timeout=5)
    assert refused.status_code == 401 and refused.json()["code"] == 306
    assert bugzilla.comments == {6248: ["tested on 9.2"]}


def test_the_fast_shapes_read_as_the_general_rule_does() -> None:
    """REST's own shapes (a str, a list of ints, no keywords) take a short way (issue 20):
    the same values as the general rule, which every other shape still goes through."""
    from updraft.release.tracker import _numbers, _text, _words

    assert _text("  VERIFIED ") == "VERIFIED" and _text(["a", " b"]) == "a, b"
    assert _text("") == "" and _text(None) == ""
    assert _words([]) == () and _words(None) == () and _words("") == ()
    assert _words("a, b,a") == ("a", "b") and _words(["security", "x,y"]) == (
        "security", "x", "y")
    assert _numbers([3, 3, 1]) == (3, 1) and _numbers([-1, 2]) == (2,)
    assert _numbers(["4, 5", 6]) == (4, 5, 6) and _numbers([True]) == ()
    assert Bug.from_json({"id": " 12 ", "status": "NEW"}).id == 12
    assert Bug.from_json({"id": 12, "status": "NEW", "access_denied": True}).access_denied

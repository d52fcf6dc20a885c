"""BugzillaHook: the tracker from the `updraft_bugzilla` connection, against the stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.kits.bugzilla_server import BugzillaServer, bug
from updraft.errors import ConfigError

pytestmark = pytest.mark.timeout(60)

KEY = "hook-stand-in-key-7Qx"


@pytest.fixture
def bugzilla() -> Iterator[BugzillaServer]:
    with BugzillaServer({6262: bug(6262, "VERIFIED", "FIXED", keywords=["security"])},
                        api_key=KEY, denied={5908}) as server:
        yield server


def _connect(monkeypatch: pytest.MonkeyPatch, **connection: object) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_BUGZILLA",
                       json.dumps({"conn_type": "bugzilla", **connection}))


def test_tracker_from_a_url_in_host(bugzilla: BugzillaServer,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from updraft_airflow.hooks.bugzilla_hook import BugzillaHook

    _connect(monkeypatch, host=bugzilla.url, password=KEY, extra={"batch": 100})
    tracker = BugzillaHook().get_tracker()
    assert tracker.batch == 100 and KEY not in repr(tracker)
    bugs = tracker.fetch([6262, 5908])
    assert bugs[6262].status == "VERIFIED" and bugs[6262].security
    assert bugs[5908].access_denied


def test_tracker_from_schema_host_and_port(bugzilla: BugzillaServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from updraft_airflow.hooks.bugzilla_hook import BugzillaHook

    port = int(bugzilla.url.rstrip("/").rsplit(":", 1)[1])
    _connect(monkeypatch, host="127.0.0.1", port=port, schema="http", password=KEY)
    hook = BugzillaHook()
    assert hook.bugzilla_conn_id == BugzillaHook.default_conn_name == "updraft_bugzilla"
    assert hook.get_tracker().fetch([6262])[6262].resolution == "FIXED"


def test_a_connection_without_host_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from updraft_airflow.hooks.bugzilla_hook import BugzillaHook

    _connect(monkeypatch, password=KEY)
    with pytest.raises(ConfigError, match="updraft_bugzilla: set the host"):
        BugzillaHook().get_tracker()

"""Bugzilla fields as real deployments give them (issue 15, §6), read through the real
python-bugzilla against the REST stand-in serving those shapes.

Red Hat's Bugzilla answers `version` (and `component`, `target_release`) as lists,
fields may be null, old deployments give `keywords` as one comma-separated string and
bug numbers as strings. Each is read as a value, never stored or shown as a Python repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kits.bugzilla_server import BugzillaServer, bug
from updraft.release.tracker import Bug, BugTracker

KEY = "k3y-fields-stand-in"


def _shaped(bug_id: int, **fields: Any) -> dict[str, Any]:
    raw = bug(bug_id, "VERIFIED", "ERRATA", product="Red Hat Enterprise Linux 6")
    raw.update(fields)
    return raw


BUGS = {
    1001: _shaped(1001, version=["6.10"], component=["tzdata"], target_release=["---"],
                  cf_fixed_in=None, cf_doc_type=["Bug Fix"]),
    1002: _shaped(1002, version=["6.9", "6.10"], product=["Red Hat Enterprise Linux 6"]),
    1003: _shaped(1003, resolution=None, summary=None, keywords=None, depends_on=None,
                  blocks=None, version=None),
    1004: _shaped(1004, keywords="Security, ZStream", depends_on=["1001", 1002],
                  blocks="1003"),
    1005: _shaped(1005, version=[], product=[None, "RHEL 6"], summary=["one", "two"]),
}


@pytest.fixture
def fetched() -> Iterator[dict[int, Bug]]:
    with BugzillaServer(BUGS, api_key=KEY) as server:
        yield BugTracker(server.url, api_key=KEY).fetch(BUGS)


def test_a_list_of_one_is_its_value(fetched: dict[int, Bug]) -> None:
    assert fetched[1001].version == "6.10"
    assert fetched[1001].product_matches("Red Hat Enterprise Linux 6", "6")


def test_several_values_are_joined_and_each_matches(fetched: dict[int, Bug]) -> None:
    many = fetched[1002]
    assert many.version == "6.9, 6.10" and many.product == "Red Hat Enterprise Linux 6"
    assert many.product_matches("Red Hat Enterprise Linux 6", "6")
    assert not many.product_matches("Red Hat Enterprise Linux 6", "7")


def test_null_fields_read_as_empty(fetched: dict[int, Bug]) -> None:
    empty = fetched[1003]
    assert (empty.resolution, empty.summary, empty.version) == ("", "", "")
    assert (empty.keywords, empty.depends_on, empty.blocks) == ((), (), ())
    assert empty.status == "VERIFIED" and empty.known


def test_keywords_as_a_string_and_numbers_as_strings(fetched: dict[int, Bug]) -> None:
    old = fetched[1004]
    assert old.keywords == ("Security", "ZStream") and old.security
    assert old.depends_on == (1001, 1002) and old.blocks == (1003,)


def test_nothing_stored_or_shown_is_a_python_repr(fetched: dict[int, Bug]) -> None:
    stored = json.dumps({bug_id: found.to_json() for bug_id, found in fetched.items()})
    for repr_mark in ("['", "[None", "None", "\"[", "('"):
        assert repr_mark not in stored, (repr_mark, stored)
    assert fetched[1005].product == "RHEL 6" and fetched[1005].summary == "one, two"
    again = {bug_id: Bug.from_json(json.loads(json.dumps(found.to_json())))
             for bug_id, found in fetched.items()}
    assert again == fetched


def test_a_record_stored_with_list_fields_reads_back_as_values() -> None:
    """An analysis cached from a deployment's raw shapes reads back clean."""
    raw = {"id": 7, "status": ["VERIFIED"], "resolution": None, "product": ["SME Server"],
           "version": ["9.2"], "summary": None, "keywords": "Security",
           "depends_on": None, "blocks": ["8"]}
    read = Bug.from_json(raw)
    assert (read.status, read.product, read.version) == ("VERIFIED", "SME Server", "9.2")
    assert read.security and read.blocks == (8,) and read.product_matches("SME Server", "9")

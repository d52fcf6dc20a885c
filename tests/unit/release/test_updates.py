"""Update: the bugs and changes of a released version typed inside, the JSON of
updates.json and the advisory task's XCom as before."""

from __future__ import annotations

import json

from updraft.release.bugfacts import BugFacts
from updraft.release.changelog import Entry
from updraft.release.tracker import Bug
from updraft.release.updates import Update, UpdatedFile

FIX = Entry(1342000000, "Ian <i@example.org> 5.0.0-14.sme", "- fix [SME: 6104]", (6104,))


def update() -> Update:
    file = UpdatedFile("noarch", "/tree/e-smith-base-5.0.0-14.el6.sme.noarch.rpm",
                       "e-smith-base-5.0.0-14.el6.sme.noarch.rpm", "e-smith-base", "0",
                       "5.0.0", "14.el6.sme", "noarch", "0" * 64,
                       "e-smith-base-5.0.0-14.el6.sme.src.rpm")
    return Update("e-smith-base", "5.0.0-14.el6.sme", "e-smith-base-5.0.0-14", "5.0.0",
                  "14.el6.sme", "base", "the base", "", "sme", "bugfix", "",
                  bugs=[BugFacts(Bug(6104, "VERIFIED", summary="Drop ipchains"),
                                 ("e-smith-base-5.0.0-14.el6.sme",))],
                  changes=[FIX], files=[file], advisory="SME-2026:2",
                  references=[{"type": "cve", "id": "CVE-2026-1", "href": "h", "title": "t"}])


def test_an_update_round_trips_through_its_json() -> None:
    found = update()
    raw = json.loads(json.dumps(found.to_json()))
    assert Update.from_json(raw) == found
    assert raw["bugs"][0] == found.bugs[0].to_json() and raw["bugs"][0]["summary"] == \
        "Drop ipchains"
    assert raw["changes"] == [FIX.to_json()]
    assert raw["files"][0]["filename"] == "e-smith-base-5.0.0-14.el6.sme.noarch.rpm"
    assert list(raw) == ["name", "label", "nvr", "version", "release", "summary",
                         "description", "url", "kind", "type", "severity", "bugs", "changes",
                         "files", "advisory", "issued", "references", "members", "part_of"]

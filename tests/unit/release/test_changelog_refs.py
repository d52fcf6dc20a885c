"""Bug references as real SME changelogs write them, read from real package headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from updraft.config.release import DEFAULT_REFERENCE
from updraft.devkit import rpmfactory
from updraft.release.changelog import RefParser, read_changelog

PARSER = RefParser(DEFAULT_REFERENCE, "SME")


@pytest.mark.parametrize(("text", "bugs", "foreign"), [
    ("- Make CipherSuite secure by default [SME: 6425]", (6425,), ()),
    ("- Fix the console [SME 1795]", (1795,), ()),
    ("- Two fixes [SME: 790, SME: 1541]", (790, 1541), ()),
    ("- Two fixes [SME: 1285,1300]", (1285, 1300), ()),
    ("- Typo'd list [SME: 659. 679]", (659, 679), ()),
    ("- Fix the backup menu\n  and the restore menu [SME: 11000]", (11000,), ()),
    ("- First [SME: 1]\n- Second [SME: 2]", (1, 2), ()),
    ("- Updated to release 0.97.6.", (), ()),
    ("- Upstream fix [SF: 1362528] for [SME: 42]", (42,), ("SF: 1362528",)),
    ("- A reference split over lines [SME:\n  6425]", (6425,), ()),
    ("- lower case label [sme: 7]", (7,), ()),
])
def test_reference_forms(text: str, bugs: tuple[int, ...], foreign: tuple[str, ...]) -> None:
    found = PARSER.refs(text)
    assert found.bugs == bugs
    assert found.foreign == foreign


def test_another_distribution_configures_its_own_label() -> None:
    cern = RefParser(DEFAULT_REFERENCE, "SLC")
    assert cern.refs("- fix [SLC: 12] and [SME: 13]").bugs == (12,)
    assert cern.refs("- fix [SLC: 12] and [SME: 13]").foreign == ("SME: 13",)


def test_entries_come_from_the_header_with_their_evr(tmp_path: Path) -> None:
    entries = (
        rpmfactory.ChangelogEntry("Wed Jul 18 2012", "Ian Wells <esmith@wellsi.com>",
                                  "5.0.0-17.sme", ("- Make CipherSuite secure by default",
                                                   "  by default [SME: 6141]")),
        rpmfactory.ChangelogEntry("Mon Jul 02 2012", "Ian Wells <esmith@wellsi.com>",
                                  "5.0.0-16.sme", ("- No bug here",)),
    )
    spec = rpmfactory.FamilySpec(name="e-smith-base", version="5.0.0", release="17",
                                 main_arch="noarch", changelog=entries, binary_dist=".el4.sme")
    built = rpmfactory.build_family(spec, tmp_path, ("x86_64",))
    log = read_changelog(built.srpm, PARSER)
    assert [(e.evr, e.bugs) for e in log.entries] == [("5.0.0-17.sme", (6141,)),
                                                       ("5.0.0-16.sme", ())]
    assert log.entries[0].heading() == (
        "* Wed Jul 18 2012 Ian Wells <esmith@wellsi.com> - 5.0.0-17.sme")

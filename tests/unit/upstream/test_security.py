"""Security followed to the end (issue 17 §4): upstream CVEs and severity into our
advisory and notes, the waiting reminder, the announcement; coupled units in one
advisory (§3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.kits import treekit
from updraft.engine.evr import DistTag
from updraft.ledger.upstream import AdvisoryLink
from updraft.release.advisory import record
from updraft.release.coupling import merge_units
from updraft.release.notes import release_note
from updraft.release.updates import Update, UpdatedFile
from updraft.upstream.security import (
    Announced,
    advise,
    announcement_mail,
    reminder_mails,
    security_for,
    split_waiting,
    strongest,
)

CONFIG = treekit.sme_config()
DIST = DistTag(CONFIG.dist_tag_pattern)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CVE = {
    "type": "cve",
    "id": "CVE-2017-12150",
    "href": "https://www.redhat.com/security/data/cve/CVE-2017-12150.html",
    "title": "",
}


def _link(
    family: str = "libtevent",
    evr: str = "0.9.31-2.el6",
    severity: str = "Important",
    advisory: str = "RHSA-2017:2790",
    waiting: bool = True,
) -> AdvisoryLink:
    return AdvisoryLink(
        "9",
        "centos",
        advisory,
        "security",
        severity,
        f"{family} security",
        "2017-09-21",
        family,
        evr,
        "smetest",
        T0,
        "plan-1",
        (CVE, {"type": "self", "id": advisory, "href": "https://rh/x", "title": advisory}),
        waiting,
    )


def _update(name: str, label: str, kind: str = "bugfix") -> Update:
    version, release = label.split("-")
    file = UpdatedFile(
        "x86_64",
        f"/t/{name}-{label}.x86_64.rpm",
        f"{name}-{label}.x86_64.rpm",
        name,
        "0",
        version,
        release,
        "x86_64",
        "0" * 64,
        f"{name}-{label}.src.rpm",
    )
    return Update(
        name,
        label,
        f"{name}-{version}-{release.split('.')[0]}",
        version,
        release,
        f"{name} summary",
        "description",
        "",
        "upstream",
        kind,
        "",
        files=[file],
    )


def test_the_strongest_severity_wins_and_unknown_words_rank_lowest() -> None:
    assert strongest(["Low", "critical", "Moderate"]) == "Critical"
    assert strongest(["bogus", ""]) == "" and strongest([]) == ""


def test_an_upstream_advisory_covers_its_version_and_our_rebuilds_of_later_ones() -> None:
    links = [_link(), _link(severity="Critical", advisory="RHSA-2017:2791")]
    facts = security_for(links, "libtevent", "0.9.31-2.el6.1", DIST)
    assert facts is not None
    assert (facts.severity, facts.cves) == ("Critical", ("CVE-2017-12150",))
    assert facts.advisories == ("RHSA-2017:2790", "RHSA-2017:2791")
    assert security_for(links, "libtevent", "0.9.30-1.el6", DIST) is None
    assert security_for(links, "samba", "4.6.2-12.el6", DIST) is None


def test_cves_and_severity_flow_into_updateinfo_and_the_release_note() -> None:
    update = _update("libtevent", "0.9.31-2.el6")
    advise([update], [_link()], DIST)
    assert (update.type, update.severity) == ("security", "Important")
    assert update.title == "libtevent-0.9.31-2 security update"
    update.advisory = "SME-2026:7"
    entry = record(update, "x86_64", T0, "SME Server 9", None)
    assert entry is not None and entry.severity == "Important" and entry.type == "security"
    assert [(r.type, r.id, r.href) for r in entry.references] == [
        ("cve", "CVE-2017-12150", CVE["href"]),
        ("self", "RHSA-2017:2790", "https://rh/x"),
    ]
    note = release_note(CONFIG, "9", update)
    assert f"CVE-2017-12150 - {CVE['href']}" in note


def test_a_coupled_unit_is_one_advisory_listing_every_package() -> None:
    tevent, samba, clamav = (
        _update("libtevent", "0.9.31-2.el6"),
        _update("samba", "4.6.2-12.el6.sme"),
        _update("clamav", "0.97.6-1"),
    )
    advise([tevent, samba, clamav], [_link()], DIST)
    updates = merge_units(CONFIG, [tevent, samba, clamav])
    assert updates == [tevent, samba, clamav]  # same shape: every family is released
    assert samba.members == ["libtevent-0.9.31-2"] and tevent.part_of == samba.nvr
    assert (samba.type, samba.severity) == ("security", "Important")
    assert record(tevent, "x86_64", T0, "SME Server 9", None) is None
    entry = record(samba, "x86_64", T0, "SME Server 9", None)
    assert entry is not None
    assert entry.title == "samba-4.6.2-12 security update with libtevent-0.9.31-2"
    [collection] = entry.collections
    assert sorted(p.name for p in collection.packages) == ["libtevent", "samba"]
    assert "CVE-2017-12150" in [r.id for r in entry.references]
    assert clamav.part_of == "" and clamav.members == []


def test_waiting_updates_are_reminded_with_how_long_until_released() -> None:
    links = [
        _link(),
        _link("openssl", "1.0.1e-57.el6", advisory="RHSA-2017:0001"),
        _link("bash", "4.1.2-48.el6", waiting=False),
    ]
    now = T0 + timedelta(days=3, hours=5)
    waiting, released = split_waiting(links, {"openssl": ["1.0.1e-57.el6"]}, DIST, now)
    assert [w.link.family for w in waiting] == ["libtevent"] and waiting[0].waited_text == (
        "3 days 5 hours"
    )
    assert [link.family for link in released] == ["openssl"]
    [mail] = reminder_mails(CONFIG, waiting, {"libtevent": ["tevent@example.org"]})
    assert mail["Subject"] == (
        "[updatesteam] Security update waiting 3 days 5 hours: RHSA-2017:2790 libtevent (sme9)"
    )
    assert mail["To"] == "tevent@example.org"
    body = mail.get_content()
    assert "waiting: 3 days 5 hours since it landed (2026-12-01 08:00 UTC)" in body
    assert "CVE-2017-12150" in body


def test_the_announcement_gives_cves_severity_and_the_update_command() -> None:
    facts = security_for([_link()], "libtevent", "0.9.31-2.el6", DIST)
    assert facts is not None
    mail = announcement_mail(
        CONFIG, Announced("9", ("libtevent-0.9.31-2.el6",), ("libtevent", "python-tevent"), facts)
    )
    assert mail["Subject"] == (
        "[security] SME Server 9 Security Update: libtevent-0.9.31-2.el6 (Important)"
    )
    assert mail["To"] == "updatesannounce@contribs.org"
    body = mail.get_content()
    assert f"CVE-2017-12150  {CVE['href']}" in body
    assert "Severity:         Important" in body
    assert "  yum update libtevent python-tevent" in body


def test_a_fresh_wait_is_said_in_words_not_as_zero_hours() -> None:
    from datetime import timedelta

    from updraft.upstream.security import Waiting

    def said(waited: timedelta) -> str:
        return Waiting(link=None, waited=waited).waited_text  # type: ignore[arg-type]

    assert said(timedelta(minutes=12)) == "less than an hour"
    assert said(timedelta(hours=1)) == "1 hour"
    assert said(timedelta(days=2, hours=3)) == "2 days 3 hours"

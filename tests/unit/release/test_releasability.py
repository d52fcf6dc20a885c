"""Releasability: seed 000's soft-dependency example, exactly, and the fixpoint's edges."""

from __future__ import annotations

from updraft.config.release import DEFAULT_REFERENCE
from updraft.release.changelog import Changelog, Entry, RefParser
from updraft.release.releasability import PackageVersions, VersionLog, decide

PARSER = RefParser(DEFAULT_REFERENCE, "SME")
VERIFIED = frozenset({"VERIFIED", "CLOSED"})


def entry(day: int, evr: str, text: str) -> Entry:
    return PARSER.entry(1_350_000_000 + day * 86400, f"Ian Wells <esmith@wellsi.com> - {evr}",
                        text)


def versions(name: str, base: str, history: list[Entry], offered: list[str],
             watched: list[str] = ()) -> PackageVersions:  # type: ignore[assignment]
    """history newest first; a version's changelog is its entry and everything older."""
    def log(label: str, repo: str) -> VersionLog:
        index = next(i for i, e in enumerate(history) if e.evr == label)
        mine, released = Changelog(history[index:]), Changelog(
            history[next(i for i, e in enumerate(history) if e.evr == base):])
        return VersionLog(f"{label}.el6.sme", repo, tuple(mine.since(released)))
    return PackageVersions(name, base, tuple(log(v, "smeupdates-testing") for v in offered),
                           tuple(log(v, "smetest") for v in watched))


SEED = [
    versions("e-smith-base", "5.0.0-13", [
        entry(16, "5.0.0-16", "- some text some text some text [SME: 6262]"),
        entry(15, "5.0.0-15", "- some text some text some text [SME: 6248]"),
        entry(14, "5.0.0-14", "- some text some text some text [SME: 6104]"),
        entry(13, "5.0.0-13", "- Roll new stream"),
    ], ["5.0.0-16", "5.0.0-14"]),
    versions("e-smith-pop3", "2.0.0-0", [
        entry(16, "2.0.0-2", "- some text some text some text [SME: 6262]"),
        entry(10, "2.0.0-1", "- some text some text some text [SME: 4633]"),
        entry(1, "2.0.0-0", "- Roll new stream"),
    ], ["2.0.0-2"]),
    versions("e-smith-apache", "2.0.0-5", [
        entry(17, "2.0.0-7", "- some text some text some text [SME: 6769]"),
        entry(11, "2.0.0-6", "- some text some text some text [SME: 4633]"),
        entry(2, "2.0.0-5", "- Fix ServerName"),
    ], ["2.0.0-7"]),
]
SEED_STATES = {6262: "VERIFIED", 6248: "RESOLVED", 6104: "VERIFIED", 4633: "VERIFIED",
               6769: "VERIFIED"}


def by_name(verdicts: list) -> dict:  # type: ignore[type-arg]
    return {verdict.name: verdict for verdict in verdicts}


def test_the_seed_example_gives_the_seed_verdicts() -> None:
    found = by_name(decide(SEED, SEED_STATES.get, VERIFIED))

    base = found["e-smith-base"]
    assert base.candidate.label == "5.0.0-16.el6.sme"
    assert base.releasable.label == "5.0.0-14.el6.sme"  # "It may be possible to release"
    assert [(b.kind, b.bug) for b in base.blocked_by] == [("unverified", 6248)]
    assert "bug 6248 is RESOLVED" in base.blocked_by[0].reason

    pop3 = found["e-smith-pop3"]
    assert pop3.releasable is None
    assert [(b.kind, b.bug, b.package, b.version) for b in pop3.blocked_by] == [
        ("soft", 6262, "e-smith-base", "5.0.0-16")]

    apache = found["e-smith-apache"]
    assert apache.releasable is None
    assert [(b.kind, b.bug, b.package, b.version) for b in apache.blocked_by] == [
        ("soft", 4633, "e-smith-pop3", "2.0.0-1")]
    assert "part of the fix for bug 4633 is in e-smith-pop3 2.0.0-1" in apache.blocked_by[0].reason


def test_once_6248_is_verified_everything_goes() -> None:
    found = by_name(decide(SEED, {**SEED_STATES, 6248: "VERIFIED"}.get, VERIFIED))
    assert {name: v.releasable.label for name, v in found.items()} == {
        "e-smith-base": "5.0.0-16.el6.sme", "e-smith-pop3": "2.0.0-2.el6.sme",
        "e-smith-apache": "2.0.0-7.el6.sme"}
    assert all(not v.blocked_by for v in found.values())


def test_an_unknown_status_fails_closed() -> None:
    states = {**SEED_STATES, 6248: "VERIFIED"}
    del states[6769]  # access denied or unknown to the tracker
    found = by_name(decide(SEED, states.get, VERIFIED))
    assert found["e-smith-apache"].releasable is None
    assert found["e-smith-apache"].unknown_bugs == [6769]
    # apache 2.0.0-6 holds part of 4633 and apache stays, so pop3 stays too, and with
    # pop3 part of 6262: base 5.0.0-16 stays, 5.0.0-14 may go.
    assert found["e-smith-pop3"].releasable is None
    assert [(b.bug, b.package) for b in found["e-smith-pop3"].blocked_by] == [
        (4633, "e-smith-apache")]
    assert found["e-smith-base"].releasable.label == "5.0.0-14.el6.sme"


def test_a_follow_up_fix_waiting_in_smetest_holds_the_candidate_back() -> None:
    history = [entry(20, "1.0-3", "- follow-up [SME: 500]"),
               entry(19, "1.0-2", "- fix [SME: 500]"), entry(1, "1.0-1", "- first")]
    package = versions("tool", "1.0-1", history, ["1.0-2"], watched=["1.0-3"])
    verdict = decide([package], {500: "VERIFIED"}.get, VERIFIED)[0]
    assert verdict.releasable is None
    assert verdict.blocked_by[0].package == "tool" and verdict.blocked_by[0].version == "1.0-3"


def test_a_broken_requirement_holds_the_version_back_and_frees_the_older_one() -> None:
    def requires(release_set: dict) -> dict:  # type: ignore[type-arg]
        chosen = release_set.get("e-smith-base")
        return {"e-smith-base": ["e-smith-lib >= 2.0.0-2"]} if (
            chosen and chosen.label.startswith("5.0.0-14")) else {}
    found = by_name(decide(SEED, SEED_STATES.get, VERIFIED, requires))
    assert found["e-smith-base"].releasable is None
    assert found["e-smith-base"].broken_requires == ["e-smith-lib >= 2.0.0-2"]


COUPLED = [
    versions("libtevent", "0.9.30-1", [
        entry(20, "0.9.31-2", "- Update to 0.9.31 [SME: 7001]"),
        entry(1, "0.9.30-1", "- Roll"),
    ], ["0.9.31-2"]),
    versions("samba", "4.6.2-1", [
        entry(21, "4.6.2-2", "- Rebuild against libtevent 0.9.31 [SME: 7002]"),
        entry(2, "4.6.2-1", "- Roll"),
    ], ["4.6.2-2"]),
    versions("clamav", "0.97.5-2", [
        entry(22, "0.97.6-1", "- Update [SME: 7003]"),
        entry(3, "0.97.5-2", "- Roll"),
    ], ["0.97.6-1"]),
]
PARTNERS = {"libtevent": ("samba",)}  # one way round in the config, both ways in effect


def test_a_coupled_package_waits_for_its_partner_whole() -> None:
    """libtevent's bug is verified, samba's rebuild is not: releasing libtevent alone
    would ship what samba was not rebuilt against. Both wait; clamav goes."""
    states = {7001: "VERIFIED", 7002: "RESOLVED", 7003: "VERIFIED"}
    found = by_name(decide(COUPLED, states.get, VERIFIED,
                           partners=lambda name: PARTNERS.get(name, ())))
    assert found["libtevent"].releasable is None
    [why] = [b for b in found["libtevent"].blocked_by if b.kind == "coupled"]
    assert why.package == "samba" and "together or not at all" in why.reason
    assert found["samba"].releasable is None
    assert [b.kind for b in found["samba"].blocked_by] == ["unverified"]
    assert found["clamav"].releasable is not None

    # The other way round: samba verified, libtevent not; samba waits for libtevent.
    states = {7001: "RESOLVED", 7002: "VERIFIED", 7003: "VERIFIED"}
    found = by_name(decide(COUPLED, states.get, VERIFIED,
                           partners=lambda name: PARTNERS.get(name, ())))
    assert found["samba"].releasable is None
    assert [b.package for b in found["samba"].blocked_by if b.kind == "coupled"] == ["libtevent"]

    # Both verified: both go, as one unit.
    states = {7001: "VERIFIED", 7002: "VERIFIED", 7003: "VERIFIED"}
    found = by_name(decide(COUPLED, states.get, VERIFIED,
                           partners=lambda name: PARTNERS.get(name, ())))
    assert found["libtevent"].releasable is not None and found["samba"].releasable is not None


def test_a_partner_with_nothing_offered_does_not_hold_a_coupled_package() -> None:
    """samba's rebuild was released before: libtevent alone has nothing to wait for."""
    states = {7001: "VERIFIED", 7003: "VERIFIED"}
    found = by_name(decide([COUPLED[0], COUPLED[2]], states.get, VERIFIED,
                           partners=lambda name: PARTNERS.get(name, ())))
    assert found["libtevent"].releasable is not None


SAMBA_REBUILD_IN_SMETEST = versions("samba", "4.6.2-1", [
    entry(21, "4.6.2-2", "- Rebuild against libtevent 0.9.31 [SME: 7002]"),
    entry(2, "4.6.2-1", "- Roll"),
], [], ["4.6.2-2"])


def test_a_partner_whose_rebuild_is_still_in_smetest_holds_the_coupled_package() -> None:
    """samba was rebuilt (so libtevent could move up to the candidates) but the rebuild is
    not offered yet (smetest): libtevent alone would ship what the released samba was not
    built against. It waits; samba's rebuild, once offered, goes with it."""
    states = {7001: "VERIFIED", 7002: "VERIFIED", 7003: "VERIFIED"}
    found = by_name(decide([COUPLED[0], SAMBA_REBUILD_IN_SMETEST, COUPLED[2]], states.get,
                           VERIFIED, partners=lambda name: PARTNERS.get(name, ())))
    assert found["libtevent"].releasable is None
    assert [b.package for b in found["libtevent"].blocked_by if b.kind == "coupled"] == [
        "samba"]
    assert found["clamav"].releasable is not None
    # An older samba offered, its rebuild newer in smetest: still not the one built
    # against this libtevent.
    older_offered = versions("samba", "4.6.2-1", [
        entry(22, "4.6.2-3", "- Rebuild against libtevent 0.9.31 [SME: 7002]"),
        entry(21, "4.6.2-2", "- Fix [SME: 7004]"),
        entry(2, "4.6.2-1", "- Roll"),
    ], ["4.6.2-2"], ["4.6.2-3"])
    found = by_name(decide([COUPLED[0], older_offered], {**states, 7004: "VERIFIED"}.get,
                           VERIFIED, partners=lambda name: PARTNERS.get(name, ())))
    assert found["libtevent"].releasable is None and found["samba"].releasable is None


def test_units_chain_and_cycle_all_or_none() -> None:
    """A with B, B with C (and C with A): one unverified member holds all three; a member
    whose releasable version is an older one holds the unit too."""
    chain = [
        versions(name, "1-1", [entry(20, "1-3", f"- Fix [SME: {bug}]"),
                               entry(10, "1-2", f"- Older [SME: {bug + 100}]"),
                               entry(1, "1-1", "- Roll")], ["1-3", "1-2"])
        for name, bug in (("a", 8001), ("b", 8002), ("c", 8003))]
    every = {8001: "VERIFIED", 8002: "VERIFIED", 8003: "VERIFIED", 8101: "VERIFIED",
             8102: "VERIFIED", 8103: "VERIFIED"}
    for links in ({"a": ("b",), "b": ("c",)}, {"a": ("b",), "b": ("c",), "c": ("a",)}):
        found = by_name(decide(chain, every.get, VERIFIED,
                               partners=lambda name, links=links: links.get(name, ())))
        assert all(found[n].releasable is found[n].candidate for n in "abc")
        for late in (8001, 8003):  # an end of the chain; its older version is verified
            found = by_name(decide(chain, {**every, late: "RESOLVED"}.get, VERIFIED,
                                   partners=lambda name, links=links: links.get(name, ())))
            assert [found[n].releasable for n in "abc"] == [None, None, None], (links, late)

"""BugFacts: the tracker's answer plus the analysis' facts, and its JSON form (the
analysis file's `bugs`, updates.json's and XCom's) kept as it was."""

from __future__ import annotations

from updraft.release.bugfacts import BugFacts
from updraft.release.tracker import Bug

VERIFIED = Bug(6104, "VERIFIED", "FIXED", "SME Server 9.X", "9.0", "Drop ipchains",
               keywords=("Security",), depends_on=(6000,))


def test_an_answered_bug_reads_as_the_tracker_gave_it_and_keeps_every_key() -> None:
    facts = BugFacts(VERIFIED, ("e-smith-base-5.0.0-14.el6.sme",), product_mismatch=True)
    assert (facts.id, facts.status, facts.summary, facts.security) == (
        6104, "VERIFIED", "Drop ipchains", True)
    raw = facts.to_json()
    assert raw == {**VERIFIED.to_json(), "packages": ["e-smith-base-5.0.0-14.el6.sme"],
                   "security": True, "product_mismatch": True}
    assert BugFacts.from_json(raw) == facts


def test_an_unanswered_bug_keeps_its_short_form() -> None:
    """The tracker was down: only the number and who names it are known."""
    facts = BugFacts.unanswered(4633, ("e-smith-pop3-2.0.0-2.el6.sme",))
    raw = facts.to_json()
    assert raw == {"id": 4633, "status": None, "packages": ["e-smith-pop3-2.0.0-2.el6.sme"],
                   "security": False, "product_mismatch": False}
    assert BugFacts.from_json(raw) == facts and not BugFacts.from_json(raw).answered


def test_a_denied_bug_is_answered_with_no_status() -> None:
    facts = BugFacts(Bug.denied(6769))
    again = BugFacts.from_json(facts.to_json())
    assert again == facts and again.answered and again.access_denied and again.status is None

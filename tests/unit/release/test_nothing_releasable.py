"""The run's note of a release with nothing releasable (issue 18): how many candidates were
held back, and why, by the blockers' kinds."""

from __future__ import annotations

from updraft.release.choice import nothing_releasable


def test_counts_each_candidate_once_per_reason() -> None:
    note = nothing_releasable([["unverified"], ["unverified", "soft"], ["requires"]],
                              "smeupdates")
    assert note == ("Nothing releasable: 3 candidates held back (2 with unverified bugs, "
                    "1 sharing a bug with a held-back package, 1 with unmet Requires), see "
                    "the release board; nobody was asked, nothing was released")


def test_one_candidate_and_no_candidate() -> None:
    assert nothing_releasable([["unknown"]], "smeupdates").startswith(
        "Nothing releasable: 1 candidate held back (1 with bugs the tracker does not know)")
    assert nothing_releasable([], "smeupdates") == (
        "Nothing releasable: no candidate newer than smeupdates; nobody was asked, nothing "
        "was released")


def test_a_coupled_unit_held_for_its_partner_says_so() -> None:
    note = nothing_releasable([["coupled"], ["unverified"]], "smeupdates")
    assert "(1 with unverified bugs, 1 waiting for a coupled partner)" in note

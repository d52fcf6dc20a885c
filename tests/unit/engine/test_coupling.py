"""Coupled families (issue 17 §3): held below the candidates until their partners are
rebuilt, released as one unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.kits import treekit
from updraft.engine.action import PHASE_ARRIVE, Action, Plan, Touched
from updraft.engine.coupling import (
    Rebuilt,
    SplitUnit,
    Unit,
    check_choice,
    coupling_of,
    hold_coupled,
    hold_reason,
    release_units,
)

CONFIG = treekit.sme_config()
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _move(family: str, evr: str, to_repo: str, from_repo: str = "smetest") -> Action:
    name = f"{family}-{evr}.x86_64.rpm"
    return Action(
        "move",
        "9",
        family,
        evr,
        family,
        name,
        "x86_64",
        f"9/{from_repo}/x86_64/RPMS/{name}",
        f"9/{to_repo}/x86_64/RPMS/{name}",
        from_repo,
        to_repo,
        PHASE_ARRIVE,
        True,
    )


def test_the_policy_couples_libtevent_and_python_tevent_with_samba() -> None:
    coupling = coupling_of(CONFIG, "libtevent")
    assert coupling is not None
    assert (coupling.partners, coupling.hold_at) == (("samba",), "smeupdates-testing")
    assert coupling_of(CONFIG, "samba") is None and coupling_of(CONFIG, "clamav") is None


def test_held_until_samba_is_rebuilt_after_libtevent_arrived() -> None:
    coupling = coupling_of(CONFIG, "libtevent")
    assert coupling is not None
    before = [Rebuilt("samba", "4.6.2-10.el6.sme", T0 - timedelta(days=3))]
    reason = hold_reason(coupling, "0.9.31-2.el6", T0, before)
    assert reason == (
        "libtevent-0.9.31-2.el6 is coupled with samba: held below "
        "smeupdates-testing until samba has been rebuilt against it (its "
        'landing requested the rebuild: "Start building?")'
    )
    after = [*before, Rebuilt("samba", "4.6.2-11.el6.sme", T0 + timedelta(hours=2))]
    assert hold_reason(coupling, "0.9.31-2.el6", T0, after) == ""


def test_a_plan_moving_a_held_family_up_keeps_everything_else() -> None:
    plan = Plan(
        actions=[
            _move("libtevent", "0.9.31-2", "smeupdates-testing"),
            _move("clamav", "0.97.6-1", "smeupdates-testing"),
        ],
        touched=[Touched("9", "smeupdates-testing", "x86_64"), Touched("9", "smetest", "x86_64")],
    )
    asked = []

    def reason_for(family: str, label: str) -> str:
        asked.append((family, label))
        return "held: samba not rebuilt"

    assert hold_coupled(CONFIG, plan, reason_for)
    assert [a.family for a in plan.actions] == ["clamav"]
    assert plan.warnings == ["held: samba not rebuilt"] and asked == [("libtevent", "0.9.31-2")]
    assert len(plan.touched) == 2  # clamav still changes both arch dirs


def test_moves_below_the_hold_and_satisfied_couplings_pass() -> None:
    plan = Plan(actions=[_move("libtevent", "0.9.31-2", "smetest", "smedev")])
    assert not hold_coupled(CONFIG, plan, lambda *_: pytest.fail("not asked below the hold"))
    plan = Plan(actions=[_move("libtevent", "0.9.31-2", "smeupdates")])
    assert not hold_coupled(CONFIG, plan, lambda *_: "")
    assert len(plan.actions) == 1


def test_a_release_from_the_candidates_has_passed_the_hold() -> None:
    """libtevent in smeupdates-testing went through the hold: its release with samba is
    never cut in half, whatever the ledger says of the rebuilds."""
    plan = Plan(actions=[_move("libtevent", "0.9.31-2", "smeupdates", "smeupdates-testing")])
    assert not hold_coupled(CONFIG, plan, lambda *_: pytest.fail("not asked past the hold"))
    assert len(plan.actions) == 1


def test_a_release_offers_coupled_families_as_one_unit_all_or_none() -> None:
    units = release_units(CONFIG, ["clamav", "libtevent", "samba", "python-tevent"])
    assert units == [Unit(("clamav",)), Unit(("libtevent", "samba", "python-tevent"))]
    assert check_choice(units, ["samba", "libtevent", "python-tevent"]) == [
        "libtevent",
        "samba",
        "python-tevent",
    ]
    assert check_choice(units, ["clamav"]) == ["clamav"]
    with pytest.raises(SplitUnit, match="libtevent \\+ samba \\+ python-tevent go together"):
        check_choice(units, ["clamav", "libtevent"])
    # samba not offered (released before): libtevent is its own unit then. (A samba
    # offered but not releasable holds libtevent back in the analysis: releasability.)
    assert release_units(CONFIG, ["libtevent"]) == [Unit(("libtevent",))]

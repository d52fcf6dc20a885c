"""Red team: under the FAB auth manager (docker-compose) Airflow's HITL record names the
responder by FAB's user id, the row number ("3"), and by name ("releng"); the gates
assign user names. An assigned release manager's Go was refused as "answered by 3", so
no gated step could ever proceed there; the answer is now recorded under the name
Airflow checked, and a non-assignee is still refused whatever their id."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.security.test_gate_forgery import _answers, _apply, _ask, _context, _plan
from updraft_airflow.gates import GoNoGoOperator

pytestmark = pytest.mark.timeout(240)


def _fab_event(row: str, name: str) -> dict[str, Any]:
    return {"chosen_options": ["Approve"], "params_input": {},
            "responded_at": datetime.now(UTC), "responded_by_user": {"id": row, "name": name}}


def test_a_go_under_fab_is_recorded_by_user_name_and_applies(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])
    GoNoGoOperator(task_id="approve", target="smeupdates").execute_complete(
        _context("approve", plan=plan), _fab_event("3", "releng"))

    _apply().execute(_context("apply", plan=plan))

    assert _answers(clamav_tree) == [("approve", "releng", ("Approve",))]
    assert (clamav_tree / "9/smeupdates/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm").is_file()


def test_a_packager_under_fab_is_still_refused(clamav_tree: Path) -> None:
    plan = _plan(clamav_tree)
    _ask(clamav_tree, plan["digest"])

    with pytest.raises(AirflowFailException, match="not among the assigned"):
        GoNoGoOperator(task_id="approve", target="smeupdates").execute_complete(
            _context("approve", plan=plan), _fab_event("7", "packager"))

    assert _answers(clamav_tree) == []
    assert not list((clamav_tree / "9/smeupdates").rglob("*.rpm"))

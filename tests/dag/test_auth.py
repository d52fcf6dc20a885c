"""The FAB auth manager of docker-compose answers gates assigned by user name."""

from __future__ import annotations

from types import SimpleNamespace

from updraft_airflow.auth import UpdraftFabAuthManager


def test_fab_auth_manager_matches_gate_assignees_by_user_name() -> None:
    # FAB's user id is the row number: the config can only name people.
    releng = SimpleNamespace(get_id=lambda: "3", get_name=lambda: "releng")
    packager = SimpleNamespace(get_id=lambda: "4", get_name=lambda: "packager")
    check = UpdraftFabAuthManager.is_authorized_hitl_task
    manager = object.__new__(UpdraftFabAuthManager)
    assert check(manager, assigned_users={"releng"}, user=releng)
    assert not check(manager, assigned_users={"releng"}, user=packager)
    assert check(manager, assigned_users={"4"}, user=packager)

"""The FAB auth manager of docker-compose, with gates assigned by user name.

Gates take their `assigned_users` from the config's roles (updraft.access), and the ids
there are user names: stable across databases and the same under SimpleAuthManager,
whose user id is the name. FAB's user id is the row's number (`"3"`), which no config can
know in advance, so Airflow's default check (`user.get_id() in assigned_users`) would
turn away every assignee. Compose selects this class with
AIRFLOW__CORE__AUTH_MANAGER=updraft_airflow.auth.UpdraftFabAuthManager.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager


class UpdraftFabAuthManager(FabAuthManager):
    def is_authorized_hitl_task(self, *, assigned_users: set[str], user: Any) -> bool:
        # The name first: that is what the config assigns. The numeric id still counts,
        # for a gate someone assigned by id through the API.
        return user.get_name() in assigned_users or str(user.get_id()) in assigned_users

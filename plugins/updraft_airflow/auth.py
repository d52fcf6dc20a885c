"""The auth managers of `make run` and docker-compose, with updraft's permissions.

Both ask updraft.permissions before Airflow's own role check (SimpleAuthManager's
viewer < user < op < admin, FAB's roles), so a person can do at most what both allow:
read, trigger the DAGs of their roles, answer the gates they are assigned to; only an
admin deletes, pauses, clears, sets states, writes XComs or edits connections,
variables and pools. The person's roles come from the config (`roles:`, by user name,
re-read when the file changes), admin from the auth manager's own role.

Selected with AIRFLOW__CORE__AUTH_MANAGER: updraft_airflow.auth.UpdraftSimpleAuthManager
(scripts/airflow-env.sh; scripts/airflow_standalone.py keeps `airflow standalone` from
replacing it) and updraft_airflow.auth.UpdraftFabAuthManager (docker-compose.yaml).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager

from updraft import permissions
from updraft.config.dist import DistConfig
from updraft.errors import ConfigError
from updraft_airflow import distribution

log = logging.getLogger(__name__)


_last_error: list[str] = []  # logged once, not on every check of every request


def _config() -> DistConfig | None:
    try:
        return distribution.load()
    except ConfigError as error:  # fail closed: nobody but admins changes anything
        if _last_error != [str(error)]:
            _last_error[:] = [str(error)]
            log.error("updraft permissions: %s; until it is fixed only admins may change "
                      "anything", error)
        return None


def _method(method: str) -> str:
    return "GET" if method == "MENU" else method  # FAB's "may see the menu entry"


class _UpdraftPolicy:
    """Mixed in before an auth manager: every check asks updraft.permissions first."""

    def _person(self, user: Any) -> permissions.Person:
        raise NotImplementedError

    def _may(self, user: Any, kind: str, method: str, dag_id: str | None = None) -> bool:
        return permissions.allowed(self._person(user), kind, _method(method), dag_id)

    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None,
                          details: Any = None) -> bool:
        kind = access_entity.value.lower() if access_entity else permissions.DAG
        dag_id = details.id if details else None
        return self._may(user, kind, method, dag_id) and super().is_authorized_dag(  # type: ignore[misc]
            method=method, user=user, access_entity=access_entity, details=details)

    def is_authorized_connection(self, *, method: Any, user: Any, details: Any = None) -> bool:
        return self._may(user, "connection", method) and super().is_authorized_connection(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_variable(self, *, method: Any, user: Any, details: Any = None) -> bool:
        return self._may(user, "variable", method) and super().is_authorized_variable(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_pool(self, *, method: Any, user: Any, details: Any = None) -> bool:
        return self._may(user, "pool", method) and super().is_authorized_pool(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_configuration(self, *, method: Any, user: Any, details: Any = None) -> bool:
        return self._may(user, "configuration", method) and super().is_authorized_configuration(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_asset(self, *, method: Any, user: Any, details: Any = None) -> bool:
        # POST is an asset event or a materialisation: a DAG run nobody triggered by hand
        return self._may(user, "asset", method) and super().is_authorized_asset(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_asset_alias(self, *, method: Any, user: Any, details: Any = None) -> bool:
        return self._may(user, "asset_alias", method) and super().is_authorized_asset_alias(  # type: ignore[misc]
            method=method, user=user, details=details)

    def is_authorized_view(self, *, access_view: Any, user: Any) -> bool:
        # The UI draws the plugins' nav entries (updraft's pages) from GET /api/v2/plugins,
        # which FAB grants its Op and Admin roles only: every person of the config may read
        # that list (plugin names and links, nothing secret), so their Browse menu has the
        # pages their roles need. Every other view stays as the auth manager decides.
        if getattr(access_view, "value", access_view) == "PLUGINS" and self._person(user).roles:
            return True
        return super().is_authorized_view(access_view=access_view, user=user)  # type: ignore[misc]

    def is_authorized_custom_view(self, *, method: Any, resource_name: str, user: Any) -> bool:
        return self._may(user, "custom_view", method) and super().is_authorized_custom_view(  # type: ignore[misc]
            method=method, resource_name=resource_name, user=user)

    # The list filters (bulk PATCH /dags, the connection and variable lists) do not go
    # through the checks above in FAB: filter what they return too.
    def get_authorized_dag_ids(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        dag_ids = super().get_authorized_dag_ids(user=user, method=method, **kw)  # type: ignore[misc]
        return {dag_id for dag_id in dag_ids if self._may(user, permissions.DAG, method, dag_id)}

    def get_authorized_connections(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        if not self._may(user, "connection", method):
            return set()
        return super().get_authorized_connections(user=user, method=method, **kw)  # type: ignore[misc]

    def get_authorized_variables(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        if not self._may(user, "variable", method):
            return set()
        return super().get_authorized_variables(user=user, method=method, **kw)  # type: ignore[misc]

    def get_authorized_pools(self, *, user: Any, method: str = "GET", **kw: Any) -> set[str]:
        if not self._may(user, "pool", method):
            return set()
        return super().get_authorized_pools(user=user, method=method, **kw)  # type: ignore[misc]

    def filter_authorized_menu_items(self, menu_items: list[Any], *, user: Any) -> list[Any]:
        granted = super().filter_authorized_menu_items(menu_items, user=user)  # type: ignore[misc]
        labels = set(permissions.visible_menus(
            self._person(user), [m.value for m in menu_items], [m.value for m in granted]))
        return [item for item in menu_items if item.value in labels]


class UpdraftSimpleAuthManager(_UpdraftPolicy, SimpleAuthManager):
    """`make run`'s auth manager: SimpleAuthManager's users, updraft's permissions."""

    def _person(self, user: Any) -> permissions.Person:
        admin = (user.role or "").upper() == "ADMIN"
        return permissions.person(_config(), user.username, admin=admin)


# The policy's methods take FAB's arguments loosely typed (Any): what mypy calls a
# conflicting definition is the same signature, not narrowed.
class UpdraftFabAuthManager(_UpdraftPolicy, FabAuthManager):  # type: ignore[misc]
    """docker-compose's auth manager: FAB's users and roles, updraft's permissions, and
    gates assigned by user name.

    Gates take their `assigned_users` from the config's roles (updraft_airflow.users), and the
    ids there are user names: stable across databases and the same under
    SimpleAuthManager, whose user id is the name. FAB's user id is the row's number
    (`"3"`), which no config can know in advance, so Airflow's default check
    (`user.get_id() in assigned_users`) would turn away every assignee.
    """

    def _person(self, user: Any) -> permissions.Person:
        try:
            roles = {role.name for role in user.roles}
        except RuntimeError:  # the public user's roles need a Flask app context
            roles = set()
        name = getattr(user, "username", None) or ""
        return permissions.person(_config(), name, admin="Admin" in roles)

    def is_authorized_hitl_task(self, *, assigned_users: set[str], user: Any) -> bool:
        # The name first: that is what the config assigns. The numeric id still counts,
        # for a gate someone assigned by id through the API.
        return user.get_name() in assigned_users or str(user.get_id()) in assigned_users

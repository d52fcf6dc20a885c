"""What each of the config's roles may do in Airflow: one policy for both auth managers.

Airflow asks its auth manager "may this user do METHOD on this kind of resource (of this
DAG)?". Its stock answers are coarse: a SimpleAuthManager "user" or a FAB "User" may
delete a DAG with its history, delete runs, mark them success, clear a rejected Go/NoGo,
write XComs and pause DAGs; an "op" may re-point connections. updraft_airflow.auth asks
this module instead, with the person's updraft roles (from the config, by user name) and
whether their Airflow role is admin:

- everyone logged in reads (DAGs, runs, task instances, logs, gates, pools, assets), but
  not connections, variables or the configuration, which hold secrets;
- a person triggers the DAGs of their roles (TRIGGERS; release managers every DAG) and
  answers gates; which gate is then Airflow's assignee check (`assigned_users`);
- only admins change anything else: delete, pause, clear, set states, write XComs,
  edit connections, variables or pools.
Plain Python on purpose (no airflow import): the adapters translate Airflow's enums
into the strings below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import get_args

from updraft.config.dist import DistConfig
from updraft.config.repos import RoleName

# Airflow's resource kinds: "dag" is the DAG itself (pause = PUT, delete = DELETE); the
# others are its DagAccessEntity values in lower case ("run", "task_instance", "xcom",
# "hitl_detail", "task_logs", ...), or a top-level kind ("connection", "variable", ...).
DAG = "dag"
RUN = "run"
HITL_DETAIL = "hitl_detail"
# Read only by admins: connections and variables hold passwords and API keys (the
# Bugzilla key, the SMTP password), the configuration may show secrets too.
SECRET_KINDS = frozenset({"connection", "variable", "configuration"})

# Who may trigger which DAG, besides release managers (who may trigger every DAG). A DAG
# not named here is triggered by release managers (and admins) only.
TRIGGERS: dict[str, frozenset[RoleName]] = {
    "build_package": frozenset({"packagers", "signers"}),   # a build, then Build?/Sign?
    "update_repos": frozenset({"packagers", "qa"}),         # the cycle after a `cp`
    "promote": frozenset({"packagers", "qa"}),              # gated targets ask Go/NoGo
    "upstream_sync": frozenset({"packagers"}),
    "release_updates": frozenset(),
    "build_iso": frozenset(),
}
EVERY_DAG: frozenset[RoleName] = frozenset({"release_managers"})

# The UI's menu entries that only lead to admin-only pages, and the one every person
# needs (the gates; FAB shows it to its Op role only, and people are User there).
ADMIN_MENUS = frozenset({"Connections", "Variables", "Config"})
PEOPLE_MENUS = frozenset({"Required Actions"})


@dataclass(frozen=True)
class Person:
    """Who asks: their user name, their updraft roles, whether Airflow calls them admin."""

    name: str
    roles: frozenset[RoleName]
    admin: bool = False


def person(config: DistConfig | None, name: str, *, admin: bool) -> Person:
    """The person `name` with the roles the config gives them (none without a config)."""
    roles: set[RoleName] = set()
    if config is not None:
        for role in get_args(RoleName):
            if name in getattr(config.roles, role):
                roles.add(role)
    return Person(name, frozenset(roles), admin)


def may_trigger(who: Person, dag_id: str | None) -> bool:
    if who.admin or who.roles & EVERY_DAG:
        return True
    return dag_id is not None and bool(who.roles & TRIGGERS.get(dag_id, frozenset()))


def allowed(who: Person, kind: str, method: str, dag_id: str | None = None) -> bool:
    """May `who` do `method` (GET/POST/PUT/DELETE) on `kind` (of DAG `dag_id`)?"""
    if who.admin:
        return True
    if method == "GET":
        return kind not in SECRET_KINDS
    if kind == RUN and method == "POST":  # a new run (trigger; a backfill is runs too)
        return may_trigger(who, dag_id)
    if kind == HITL_DETAIL and method == "PUT":  # an answer; the gate checks assignees
        return bool(who.roles)
    return False


def visible_menus(who: Person, offered: Iterable[str], granted: Iterable[str]) -> list[str]:
    """The UI menu entries (labels) to show `who`: of those `offered`, what the auth
    manager `granted`, the gates to every person, the admin pages to admins only."""
    allowed_by_airflow = set(granted)
    return [menu for menu in offered
            if (menu in allowed_by_airflow or (who.roles and menu in PEOPLE_MENUS))
            and (who.admin or menu not in ADMIN_MENUS)]

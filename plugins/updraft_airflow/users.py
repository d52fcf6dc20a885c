"""Who may do what: the config's roles as Airflow users, Airflow roles and gate assignees.

Run as `python -m updraft_airflow.users --config C [--format table|simple|tsv]` (with
plugins/ on the path): what scripts/airflow-env.sh and compose-init.sh give Airflow.

The YAML's `roles:` (release_managers, packagers, qa, signers) is the only list of
people. From it come the users of both auth managers — SimpleAuthManager in `make run`'s
standalone (`AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS`), the FAB auth manager in
docker-compose (`airflow users create`) — and the `assigned_users` of every gate, whose
ids are the user names in both (see updraft_airflow.auth for FAB's numeric ids).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.models.hitl import HITLUser

from updraft.config.dist import DistConfig, load_config
from updraft.config.repos import RoleName

# The Airflow role each updraft role needs, lowest first. Answering a gate and triggering
# a DAG need "user" (SimpleAuthManager) / "User" (FAB); nobody needs "op", which would let
# a release manager re-point connections under a plain auth manager (updraft's auth
# managers deny it anyway: updraft.permissions). A person in several roles gets the highest.
AIRFLOW_ROLES: tuple[str, ...] = ("viewer", "user", "op", "admin")
ROLE_GRANTS: dict[RoleName, str] = {
    "release_managers": "user",
    "signers": "user",
    "packagers": "user",
    "qa": "user",
}
# The issue's and the seeds' words for the roles (release-manager), for printing.
ROLE_TITLES: dict[RoleName, str] = {
    "packagers": "packager",
    "qa": "qa",
    "signers": "signer",
    "release_managers": "release-manager",
}
ADMIN = "admin"


@dataclass(frozen=True)
class AirflowUser:
    name: str
    airflow_role: str  # lower case, SimpleAuthManager's spelling; FAB's is .capitalize()
    roles: tuple[RoleName, ...]  # the updraft roles that put the user here

    @property
    def fab_role(self) -> str:
        return self.airflow_role.capitalize()

    @property
    def titles(self) -> str:
        return ", ".join(ROLE_TITLES[role] for role in self.roles) or "administrator"


def airflow_users(config: DistConfig, admin: str | None = ADMIN) -> list[AirflowUser]:
    """Every person of the config's roles once, with the Airflow role they need; `admin`
    (an administrator outside the roles) first unless None."""
    granted: dict[str, list[RoleName]] = {}
    for role in ROLE_GRANTS:
        for name in getattr(config.roles, role):
            granted.setdefault(name, []).append(role)
    users = [] if admin is None or admin in granted else [AirflowUser(admin, "admin", ())]
    for name, roles in granted.items():
        level = max(AIRFLOW_ROLES.index(ROLE_GRANTS[role]) for role in roles)
        users.append(AirflowUser(name, AIRFLOW_ROLES[level], tuple(roles)))
    return users


def simple_auth_manager_users(config: DistConfig, admin: str | None = ADMIN) -> str:
    """The value of AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: "admin:admin,releng:user,..."."""
    return ",".join(f"{user.name}:{user.airflow_role}" for user in airflow_users(config, admin))


def assignees(config: DistConfig, role: RoleName | None) -> list[HITLUser]:
    """A gate's `assigned_users` for a role: the ids are user names."""
    if role is None:
        return []
    return [{"id": name, "name": name} for name in getattr(config.roles, role)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m updraft_airflow.users",
                                     description="the Airflow users the config's roles make")
    parser.add_argument("--config", default=os.environ.get("UPDRAFT_CONFIG", "config/sme.yaml"))
    parser.add_argument("--format", choices=("table", "simple", "tsv"), default="table",
                        help="simple: AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS; tsv: name, "
                             "FAB role, updraft roles (what compose's init creates)")
    parser.add_argument("--admin", default=ADMIN, help="the administrator ('' for none)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    if args.format == "simple":
        print(simple_auth_manager_users(config, args.admin or None))
        return 0
    for user in airflow_users(config, args.admin or None):
        if args.format == "tsv":
            print(f"{user.name}\t{user.fab_role}\t{user.titles}")
        else:
            print(f"{user.name:<12} {user.airflow_role:<6} {user.titles}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

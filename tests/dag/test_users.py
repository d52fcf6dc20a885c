"""The config's roles as Airflow users (both auth managers) and as gate assignees."""

from __future__ import annotations

import subprocess

from tests.kits import treekit
from updraft_airflow import users as access


def _config(**roles: list[str]):
    raw = treekit.sme_config().model_dump(exclude={"source_file"})
    raw["roles"] = roles
    raw["repos"]["smeupdates"]["approval"] = None if "release_managers" not in roles \
        else "release_managers"
    return type(treekit.sme_config()).model_validate(raw)


def test_sme_roles_become_airflow_users_with_the_least_role_they_need() -> None:
    users = {user.name: user for user in access.airflow_users(treekit.sme_config())}
    assert {name: user.airflow_role for name, user in users.items()} == {
        "admin": "admin", "releng": "user", "packager": "user", "qa": "user"}
    assert users["releng"].roles == ("release_managers", "signers")
    assert users["releng"].fab_role == "User" and users["releng"].titles == \
        "release-manager, signer"
    assert access.simple_auth_manager_users(treekit.sme_config()) == \
        "admin:admin,releng:user,packager:user,qa:user"


def test_a_person_in_several_roles_is_listed_once_with_the_highest() -> None:
    config = _config(release_managers=["ana"], packagers=["ana", "bo"], signers=["bo"])
    assert access.simple_auth_manager_users(config, admin=None) == "ana:user,bo:user"
    # An administrator who is also a release manager stays the role user, not doubled.
    assert access.simple_auth_manager_users(config, admin="ana") == "ana:user,bo:user"


def test_gate_assignees_are_the_role_members_by_name() -> None:
    config = treekit.sme_config()
    assert access.assignees(config, "release_managers") == [{"id": "releng", "name": "releng"}]
    assert access.assignees(config, "packagers") == [{"id": "packager", "name": "packager"}]
    assert access.assignees(_config(packagers=["a", "b"]), "qa") == []


def test_users_command_prints_what_each_auth_manager_needs(capsys) -> None:
    config = ["--config", str(treekit.CONFIG_FILE)]
    assert access.main([*config, "--format", "simple"]) == 0
    assert capsys.readouterr().out == "admin:admin,releng:user,packager:user,qa:user\n"
    assert access.main([*config, "--format", "tsv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "releng\tUser\trelease-manager, signer"



def test_standalone_gets_its_users_from_the_config() -> None:
    shown = subprocess.run(
        ["bash", "-c", 'source scripts/airflow-env.sh && '
                       'echo "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"'],
        cwd=treekit.REPO, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == access.simple_auth_manager_users(treekit.sme_config())

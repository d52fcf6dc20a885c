"""Issue 15, Airflow permissions: each of the config's roles over REST, under both auth
managers (`make run`'s UpdraftSimpleAuthManager, compose's UpdraftFabAuthManager).

Found: qa and packager could delete DAGs with their history, delete others' runs, mark
runs, clear a rejected Go/NoGo, set task states, write XComs and pause DAGs; a release
manager could re-point the connection that holds the Bugzilla key. Now people read,
trigger the DAGs of their roles and answer the gates assigned to them; only admin does
the rest. Every request goes through Airflow's real API app and auth manager.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kits import airflowkit, treekit
from tests.kits.airflowkit import FAB, SIMPLE, Api
from updraft import permissions

pytestmark = pytest.mark.timeout(120)

PEOPLE = ("releng", "packager", "qa")  # release manager + signer, packager, qa
EVERYONE = ("admin", *PEOPLE)
PROMOTE = {"package": "clamav", "target": "smeupdates", "release": "9"}
BUILD = {"package": "clamav-0.97.6-1.el4.rf.src.rpm", "release": "9"}
CONF = {"promote": PROMOTE, "build_package": BUILD, "build_iso": {"version": "10.1"},
        "update_repos": {}, "upstream_sync": {}, "release_updates": {}}


@dataclass(frozen=True)
class World:
    api: Api
    run: str     # a promote run: its gate `approve` asks releng
    build: str   # a build_package run: its gate `build_gate` asks the packagers


@pytest.fixture(scope="module")
def database() -> None:
    airflowkit.prepare_database()


@pytest.fixture(scope="module", params=[SIMPLE, FAB], ids=["simple", "fab"])
def world(request: pytest.FixtureRequest, database: None) -> Iterator[World]:
    airflowkit.sync_dags()  # again: the admin's test deletes a DAG
    airflowkit.reset_objects()  # as init made them: the admin's test changes them
    with airflowkit.api(request.param) as api:
        run = api.trigger("promote", PROMOTE)
        build = api.trigger("build_package", BUILD)
        airflowkit.add_gate("promote", run, "approve", ["releng"])
        airflowkit.add_gate("build_package", build, "build_gate", ["packager"])
        yield World(api, run, build)


# -- only admins: (name, method, path, body); {run} is a promote run ------------------------
RUN = "/api/v2/dags/promote/dagRuns/{run}"
TI = RUN + "/taskInstances/plan"
ADMIN_ONLY: list[tuple[str, str, str, Any]] = [
    ("delete DAG with its history", "DELETE", "/api/v2/dags/build_iso", None),
    ("delete a run", "DELETE", RUN, None),
    ("mark a run success", "PATCH", RUN, {"state": "success"}),
    ("mark a run failed", "PATCH", RUN, {"state": "failed"}),
    ("clear a run", "POST", RUN + "/clear", {"dry_run": False}),
    ("clear a gate (reopen a NoGo)", "POST", "/api/v2/dags/promote/clearTaskInstances",
     {"dry_run": False, "dag_run_id": "{run}", "task_ids": ["approve"], "only_failed": False}),
    ("set a task's state", "PATCH", TI, {"new_state": "success"}),
    ("delete a task instance", "DELETE", TI, None),
    ("write an XCom", "POST", TI + "/xcomEntries", {"key": "forged", "value": "x"}),
    ("pause a DAG", "PATCH", "/api/v2/dags/promote", {"is_paused": True}),
    ("pause every DAG", "PATCH", "/api/v2/dags?dag_id_pattern=%25", {"is_paused": True}),
    ("re-point a connection", "PATCH", "/api/v2/connections/updraft_bugzilla",
     {"connection_id": "updraft_bugzilla", "conn_type": "generic",
      "host": "https://evil.example.org"}),
    ("add a connection", "POST", "/api/v2/connections",
     {"connection_id": "planted", "conn_type": "generic", "host": "https://evil.example.org"}),
    ("read a connection (the Bugzilla key)", "GET", "/api/v2/connections/updraft_bugzilla",
     None),
    ("add a variable", "POST", "/api/v2/variables", {"key": "planted", "value": "x"}),
    ("resize a pool", "PATCH", "/api/v2/pools/repo_tree", {"pool": "repo_tree", "slots": 9,
                                                             "include_deferred": False}),
]
# What admin gets for each: done, not refused.
ADMIN_STATUS = {"delete DAG with its history": 204, "delete a run": 204,
                "delete a task instance": 200, "write an XCom": 201,
                "add a connection": 201, "add a variable": 201}


def _fill(value: Any, run: str) -> Any:
    if isinstance(value, str):
        return value.replace("{run}", run)
    if isinstance(value, dict):
        return {key: _fill(item, run) for key, item in value.items()}
    return value


@pytest.mark.parametrize("user", PEOPLE)
@pytest.mark.parametrize(("action", "method", "path", "body"), ADMIN_ONLY,
                         ids=[a[0] for a in ADMIN_ONLY])
def test_only_admin_may(world: World, user: str, action: str, method: str, path: str,
                        body: Any) -> None:
    answer = world.api.call(user, method, _fill(path, world.run), _fill(body, world.run))
    assert answer.status_code == 403, (action, answer.text)


def test_the_refused_changes_changed_nothing(world: World) -> None:
    api = world.api
    assert airflowkit.connection_host("updraft_bugzilla") == airflowkit.BUGZILLA
    run = api.call("admin", "GET", RUN.format(run=world.run)).json()
    assert run["state"] == "queued"
    assert api.call("admin", "GET", "/api/v2/dags/promote").json()["is_paused"] is True
    assert api.call("admin", "GET", "/api/v2/dags/build_iso").status_code == 200
    ti = api.call("admin", "GET", TI.format(run=world.run)).json()
    assert ti["state"] is None
    assert api.call("admin", "GET", TI.format(run=world.run) + "/xcomEntries/forged"
                    ).status_code == 404


# -- triggering: each person their DAGs, release managers every DAG --------------------------
TRIGGERS = {
    "packager": {"build_package", "promote", "update_repos", "upstream_sync"},
    "qa": {"promote", "update_repos"},
    "releng": set(CONF),  # release manager (and signer)
    "admin": set(CONF),
}


@pytest.mark.parametrize("user", EVERYONE)
@pytest.mark.parametrize("dag_id", sorted(CONF))
def test_people_trigger_the_dags_of_their_roles(world: World, user: str, dag_id: str) -> None:
    answer = world.api.call(user, "POST", f"/api/v2/dags/{dag_id}/dagRuns",
                            {"logical_date": None, "conf": CONF[dag_id]})
    assert answer.status_code == (200 if dag_id in TRIGGERS[user] else 403), answer.text


@pytest.mark.parametrize("user", EVERYONE)
@pytest.mark.parametrize("path", [
    "/api/v2/dags", "/api/v2/dags/promote/details", RUN, RUN + "/taskInstances", TI,
    "/api/v2/dags/~/dagRuns/~/hitlDetails", "/api/v2/pools"])
def test_everyone_reads(world: World, user: str, path: str) -> None:
    answer = world.api.call(user, "GET", path.format(run=world.run))
    assert answer.status_code == 200, answer.text


# -- gates: only their assignees, not even admin ---------------------------------------------
@pytest.mark.parametrize("user", EVERYONE)
@pytest.mark.parametrize(("gate", "assignee"), [("approve", "releng"),
                                                ("build_gate", "packager")])
def test_only_the_assignees_answer_a_gate(world: World, user: str, gate: str,
                                          assignee: str) -> None:
    dag_id, run = ("promote", world.run) if gate == "approve" else ("build_package", world.build)
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run}/taskInstances/{gate}/-1/hitlDetails"
    # "Maybe" is no option: an assignee gets past the permission check (400) and the gate
    # stays open for the others' attempts.
    answer = world.api.call(user, "PATCH", path, {"chosen_options": ["Maybe"],
                                                  "params_input": {}})
    assert answer.status_code == (400 if user == assignee else 403), answer.text


def test_an_assignee_answers_once(world: World) -> None:
    run = world.api.trigger("promote", PROMOTE)
    airflowkit.add_gate("promote", run, "approve", ["releng"])
    path = f"/api/v2/dags/promote/dagRuns/{run}/taskInstances/approve/-1/hitlDetails"
    answer = {"chosen_options": ["Reject"], "params_input": {}}
    assert world.api.call("releng", "PATCH", path, answer).status_code == 200
    assert world.api.call("releng", "PATCH", path, answer).status_code == 409
    detail = world.api.call("qa", "GET", path).json()
    assert detail["chosen_options"] == ["Reject"]
    assert detail["responded_by_user"]["name"] == "releng"


# -- the UI's menu -------------------------------------------------------------------------
@pytest.mark.parametrize("user", EVERYONE)
def test_admin_pages_are_hidden_from_people(world: World, user: str) -> None:
    menus = world.api.call(user, "GET", "/ui/auth/menus").json()["authorized_menu_items"]
    assert "Dags" in menus and "Required Actions" in menus
    shown = {"Connections", "Variables", "Config"} & set(menus)
    assert shown == (set() if user != "admin" else shown | {"Connections", "Variables"})


# -- admin still does all of it (last: it deletes a DAG and runs) ----------------------------
@pytest.mark.parametrize(("action", "method", "path", "body"), ADMIN_ONLY,
                         ids=[a[0] for a in ADMIN_ONLY])
def test_admin_may(world: World, action: str, method: str, path: str, body: Any) -> None:
    run = world.api.trigger("promote", PROMOTE)  # its own: admin's changes are real
    answer = world.api.call("admin", method, _fill(path, run), _fill(body, run))
    assert answer.status_code == ADMIN_STATUS.get(action, 200), (action, answer.text)


# -- both deployments select these auth managers ---------------------------------------------
def test_make_run_and_compose_select_the_updraft_auth_managers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = treekit.REPO
    compose = yaml.safe_load((repo / "docker-compose.yaml").read_text())
    assert compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == FAB
    assert f'FAB_AUTH_MANAGER = "{FAB}"' in (repo / "tests/kits/stack.py").read_text()
    sourced = subprocess.run(["bash", "-c", 'source scripts/airflow-env.sh && '
                              'echo "$AIRFLOW__CORE__AUTH_MANAGER"'],
                             cwd=repo, capture_output=True, text=True, check=True)
    assert sourced.stdout.strip() == SIMPLE
    # `airflow standalone` swaps any auth manager for its SimpleAuthManager in what it
    # starts; make run's launcher puts updraft's back.
    script = repo / "scripts" / "airflow_standalone.py"
    spec = importlib.util.spec_from_file_location("airflow_standalone", script)
    assert spec and spec.loader
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER", SIMPLE)
    env = launcher.UpdraftStandalone(SIMPLE).calculate_env()
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == SIMPLE == os.environ[launcher.KEY]
    monkeypatch.setenv("AIRFLOW__CORE__AUTH_MANAGER",
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    assert launcher.main() == 2  # refuses to run without updraft's


# -- the policy itself: strangers and a broken config --------------------------------------
def test_a_user_outside_the_roles_only_reads() -> None:
    stranger = permissions.person(treekit.sme_config(), "guest", admin=False)
    assert stranger.roles == frozenset()
    assert permissions.allowed(stranger, "dag", "GET", "promote")
    for kind, method in [("run", "POST"), ("hitl_detail", "PUT"), ("dag", "PUT"),
                         ("connection", "GET"), ("variable", "GET")]:
        assert not permissions.allowed(stranger, kind, method, "promote"), (kind, method)


def test_a_broken_config_leaves_only_admins_changing_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    from updraft_airflow import auth
    from updraft_airflow.auth import UpdraftSimpleAuthManager

    logged: list[str] = []
    monkeypatch.setattr(auth.log, "error", lambda text, *args: logged.append(text % args))

    broken = tmp_path / "sme.yaml"
    broken.write_text("roles: [this is not a mapping\n")
    monkeypatch.setenv("UPDRAFT_CONFIG", str(broken))
    manager = UpdraftSimpleAuthManager()
    releng = SimpleAuthManagerUser(username="releng", role="user")
    admin = SimpleAuthManagerUser(username="admin", role="admin")
    assert not manager.is_authorized_dag(method="DELETE", user=releng)
    assert manager.is_authorized_dag(method="DELETE", user=admin)
    assert manager.is_authorized_dag(method="GET", user=releng)
    assert len(logged) == 1 and str(broken) in logged[0], logged  # once, naming the file

"""Airflow's real API app in-process, under either of updraft's auth managers.

One migrated SQLite database (tests/kits/airflow_env.py's throwaway home) with the FAB auth
manager's tables too, the DAGs of dags/ synced into it, and the config's people as users:
under SimpleAuthManager through AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS (what
`python -m updraft_airflow.users --format simple` prints), under FAB created like
compose-init.sh does.
Tokens come from each auth manager's own POST /auth/token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.kits import treekit
from tests.kits.airflow_env import HOME  # sets Airflow's environment first
from updraft_airflow import users as access

SIMPLE = "updraft_airflow.auth.UpdraftSimpleAuthManager"
FAB = "updraft_airflow.auth.UpdraftFabAuthManager"
BUGZILLA = "https://bugs.example.org"
PASSWORDS = {"admin": "admin-pw", "releng": "releng-pw", "packager": "packager-pw",
             "qa": "qa-pw"}


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """os.environ with `values`, as it was afterwards (other tests expect Airflow's default
    auth manager)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prepare_database() -> None:
    """A fresh database with the FAB tables (created when FAB is the auth manager)."""
    from airflow.models import import_all_models
    from airflow.utils import db

    with environment(AIRFLOW__CORE__AUTH_MANAGER=FAB):
        db.resetdb()
    import_all_models()


def sync_dags() -> None:
    """dags/ into the database, as the dag-processor would (again after a DAG's deletion)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(treekit.REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)


@dataclass
class Api:
    client: Any  # fastapi.testclient.TestClient
    manager: str
    _tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            answer = self.client.post("/auth/token",
                                      json={"username": user, "password": PASSWORDS[user]})
            assert answer.status_code == 201, (user, answer.text)
            self._tokens[user] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        return self.client.request(method, path, headers=self.headers(user), json=body)

    def trigger(self, dag_id: str, conf: dict[str, Any], user: str = "admin") -> str:
        answer = self.call(user, "POST", f"/api/v2/dags/{dag_id}/dagRuns",
                           {"logical_date": None, "conf": conf})
        assert answer.status_code == 200, answer.text
        return answer.json()["dag_run_id"]


def _fab_users() -> None:
    """The config's people as FAB users, with the FAB role `updraft_airflow.users` names."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        for user in access.airflow_users(treekit.sme_config()):
            if appbuilder.sm.find_user(username=user.name) is None:
                made = appbuilder.sm.add_user(
                    user.name, user.name, user.titles, f"{user.name}@localhost",
                    appbuilder.sm.find_role(user.fab_role), PASSWORDS[user.name])
                assert made, f"FAB did not create {user.name}"


@contextmanager
def api(manager: str) -> Iterator[Api]:
    """The API server's app (the core API, the auth manager's /auth app) as a TestClient."""
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    passwords = HOME / "simple-passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    users = access.simple_auth_manager_users(treekit.sme_config())
    purge_cached_app()
    try:
        with environment(AIRFLOW__CORE__AUTH_MANAGER=manager,
                         UPDRAFT_CONFIG=str(treekit.CONFIG_FILE),
                         AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=users,
                         AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords)), \
                TestClient(create_app("core")) as client:
            if manager == FAB:
                _fab_users()  # after the app: its start synced FAB's roles
            yield Api(client, manager)
    finally:
        purge_cached_app()


def add_gate(dag_id: str, run_id: str, task_id: str, assignees: list[str]) -> None:
    """A gate waiting for an answer, as the HITL operator leaves it."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id)).one()
        session.add(HITLDetail(ti_id=ti.id, options=["Approve", "Reject"], subject="Go?",
                               assignees=[{"id": name, "name": name} for name in assignees],
                               params={}))


def reset_objects() -> None:
    """The Bugzilla connection and the pool as init makes them; nothing planted."""
    # The ORM models (the Task SDK's Connection and Variable cannot write to the database).
    from airflow.models import Pool
    from airflow.models.connection import Connection
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(Connection).filter(
            Connection.conn_id.in_(["updraft_bugzilla", "planted"])).delete()
        session.query(Variable).filter_by(key="planted").delete()
        session.query(Pool).filter_by(pool="repo_tree").delete()
        session.add(Connection(conn_id="updraft_bugzilla", conn_type="generic",
                               host=BUGZILLA, password="bz-key"))
        session.add(Pool(pool="repo_tree", slots=1, description="the tree", include_deferred=False))


def connection_host(conn_id: str) -> str | None:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(Connection).filter_by(conn_id=conn_id).one().host

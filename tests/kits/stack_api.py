"""The REST API of a running stack, as people and scripts use it: trigger a DAG, wait for
its gate, answer it as a given user, wait for the run to end.

Polling is the only way an API client can wait: Airflow's REST API has no event stream.
Every wait has a deadline and fails at once (with the component's log) when a process of
the stack has died.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.kits.stack import Stack

POLL = 0.5  # s between two looks at a run
DONE = {"success", "failed"}
STUCK = {"failed", "upstream_failed", "skipped", "removed"}


@dataclass(frozen=True)
class Run:
    dag_id: str
    run_id: str

    @property
    def path(self) -> str:
        return f"/api/v2/dags/{self.dag_id}/dagRuns/{self.run_id}"


class ApiError(AssertionError):
    pass


class Api:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = httpx.Client(base_url=stack.url, timeout=30)
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        self.client.close()

    # -- plumbing -------------------------------------------------------------------------

    def token(self, user: str) -> str:
        if user not in self._tokens:
            answer = self.client.post("/auth/token", json={
                "username": user, "password": self.stack.passwords[user]})
            if answer.status_code not in (200, 201):
                raise ApiError(f"login as {user}: {answer.status_code} {answer.text}")
            self._tokens[user] = answer.json()["access_token"]
        return self._tokens[user]

    def request(self, method: str, path: str, user: str = "admin",
                **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, user: str = "admin", **kwargs: Any) -> Any:
        answer = self.request(method, path, user, **kwargs)
        if answer.status_code >= 300:
            raise ApiError(f"{method} {path} as {user}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    def _poll(self, look: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.stack.check_alive()
            found = look()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise ApiError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(POLL)

    # -- set-up ---------------------------------------------------------------------------

    def add_connection(self, conn_id: str, **fields: Any) -> None:
        """A connection in the metadata database, for every worker (e.g. a Bugzilla's)."""
        self.ok("POST", "/api/v2/connections", json={"connection_id": conn_id, **fields})

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the dag-processor has parsed and serialised the DAG."""
        self._poll(lambda: True if self.request("GET", f"/api/v2/dags/{dag_id}/details")
                   .status_code == 200 else None, timeout, f"DAG {dag_id} to be parsed")

    # -- runs and gates -------------------------------------------------------------------

    def trigger(self, dag_id: str, conf: dict[str, Any], user: str = "admin") -> Run:
        """Start a run of a DAG (unpausing it: the stack creates DAGs paused)."""
        self.wait_for_dag(dag_id)
        self.ok("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        run = self.ok("POST", f"/api/v2/dags/{dag_id}/dagRuns", user,
                      json={"logical_date": None, "conf": conf})
        return Run(dag_id, run["dag_run_id"])

    def task_states(self, run: Run) -> dict[str, str | None]:
        listing = self.ok("GET", f"{run.path}/taskInstances", params={"limit": 100})
        return {ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]":
                ti["state"] for ti in listing["task_instances"]}

    def task(self, run: Run, task_id: str) -> dict[str, Any]:
        return self.ok("GET", f"{run.path}/taskInstances/{task_id}")

    def wait_for_gate(self, run: Run, task_id: str, timeout: float = 360) -> dict[str, Any]:
        """The gate's question once it waits for an answer (subject, body, assignees...)."""
        def look() -> dict[str, Any] | None:
            state = self.task(run, task_id)["state"]
            if state in STUCK:
                raise ApiError(f"{run.dag_id}.{task_id} is {state}, not waiting for an "
                               f"answer: {self.task_states(run)}")
            if state != "awaiting_input":
                return None
            return self.ok("GET", f"{run.path}/taskInstances/{task_id}/-1/hitlDetails")
        return self._poll(look, timeout, f"gate {run.dag_id}.{task_id}")

    def answer_gate(self, run: Run, task_id: str, user: str, options: list[str],
                    params: dict[str, Any] | None = None) -> httpx.Response:
        """Answer a gate as `user`; the response is returned as is (200, 403, 409...)."""
        return self.request("PATCH", f"{run.path}/taskInstances/{task_id}/-1/hitlDetails",
                            user, json={"chosen_options": options, "params_input": params or {}})

    def wait_for(self, run: Run, timeout: float = 300) -> str:
        """The run's final state, success or failed."""
        def look() -> str | None:
            state = self.ok("GET", run.path)["state"]
            return state if state in DONE else None
        return self._poll(look, timeout, f"run {run.dag_id} {run.run_id} to end")

    def end_unfinished_runs(self) -> list[Run]:
        """Mark every queued or running run failed, and wait until none is left: a run left
        waiting at a gate would hold a `max_active_runs=1` DAG (release_updates) for the
        next test, whose own run would queue behind it forever."""
        def unfinished() -> list[Run]:
            listing = self.ok("GET", "/api/v2/dags/~/dagRuns",
                              params={"state": ["queued", "running"], "limit": 100})
            return [Run(run["dag_id"], run["dag_run_id"]) for run in listing["dag_runs"]]
        ended = unfinished()
        for run in ended:
            self.ok("PATCH", run.path, json={"state": "failed"})
        self._poll(lambda: True if not unfinished() else None, 60, "unfinished runs to end")
        return ended

    def explain(self, run: Run) -> str:
        """Task states and the failed tasks' log tails, for an assertion message."""
        states = self.task_states(run)
        lines = [f"{run.dag_id} {run.run_id}: {states}"]
        for task_id, state in states.items():
            if state == "failed" and "[" not in task_id:
                log = self.request("GET", f"{run.path}/taskInstances/{task_id}/logs/1",
                                   headers={"Accept": "application/json"})
                lines.append(f"--- {task_id} ---\n{log.text[-3000:]}")
        return "\n".join(lines)

"""A production-shaped Airflow on this machine: api-server, scheduler, dag-processor,
triggerer and Celery workers as background processes, on the PostgreSQL and Redis
servers that run here.

Each stack gets a fresh database (created here, dropped in stop()), a Redis key prefix
of its own (Celery's `global_keyprefix`; its keys are deleted in stop()), free ports and
a private AIRFLOW_HOME. Every process runs in its own session, so stop() can end each
whole process group — task subprocesses included — and nothing outlives the test.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.kits import treekit

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
REDIS_URL = "redis://127.0.0.1:6379/0"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
INIT_SCRIPT = treekit.REPO / "scripts" / "compose-init.sh"
FAB_AUTH_MANAGER = "updraft_airflow.auth.UpdraftFabAuthManager"  # as docker-compose.yaml
START_TIMEOUT = 180.0  # s, from the first process to the DAGs being served (2 cores)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Worker:
    """A Celery worker: the queues it serves and environment only it has (the signer's key)."""

    name: str
    queues: tuple[str, ...]
    concurrency: int = 2
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()  # more `airflow celery worker` options


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class StackError(RuntimeError):
    pass


class Stack:
    """start() brings everything up; stop() takes everything down, whatever happened."""

    def __init__(self, home: Path, *, tree: Path, users: str, passwords: Mapping[str, str],
                 workers: list[Worker], env: Mapping[str, str] | None = None,
                 init: Mapping[str, str] | None = None) -> None:
        """users/passwords: SimpleAuthManager's. init: run docker-compose's init script
        (scripts/compose-init.sh) with this environment instead of `airflow db migrate`,
        with compose's FAB auth manager; `passwords` is then read from what it made."""
        self.home = home
        self.tree = tree
        self.workers = workers
        self.database = f"updraft_e2e_{os.getpid()}_{secrets.token_hex(3)}"
        self.key_prefix = f"{self.database}:"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.passwords = dict(passwords)
        self.processes: list[Process] = []
        self._database_made = False
        db_url = f"postgresql+psycopg2://{POSTGRES['user']}@127.0.0.1:5432/{self.database}"
        (home / "logs").mkdir(parents=True, exist_ok=True)
        password_file = home / "passwords.json"
        password_file.write_text(json.dumps(self.passwords))
        password_file.chmod(0o600)
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("AIRFLOW", "UPDRAFT"))}
        self.env = {
            **inherited,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db_url,
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": self.key_prefix,
            "AIRFLOW__CORE__DAGS_FOLDER": str(treekit.REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(treekit.REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # FAB's login limit (5 per 40 s) stays on; the browser tests log in as every
            # role in turn, faster than a person would.
            "AIRFLOW__FAB__AUTH_RATE_LIMIT": "60 per 40 second",
            # Only the DAGs a test unpauses run: no cron or asset-watcher runs in between.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": users,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "UPDRAFT_ROOT": str(tree),
            "UPDRAFT_CONFIG": str(treekit.CONFIG_FILE),
            **(env or {}),
        }
        self.init = None if init is None else {
            **self.env,
            "PATH": f"{Path(AIRFLOW).parent}:{self.env.get('PATH', '')}",
            "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
            "UPDRAFT_SECRETS_DIR": str(home / "secrets"),
            "_AIRFLOW_WWW_USER_USERNAME": "admin",
            "_AIRFLOW_WWW_USER_PASSWORD": self.passwords.setdefault(
                "admin", secrets.token_urlsafe(12)),
            **init,
        }
        if self.init is not None:
            self.env["AIRFLOW__CORE__AUTH_MANAGER"] = FAB_AUTH_MANAGER

    # -- up -----------------------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        self._create_database()
        if self.init is None:
            self._run("airflow db migrate", [AIRFLOW, "db", "migrate"], self.env)
        else:
            self._run("compose-init.sh", ["bash", str(INIT_SCRIPT)], self.init)
            made = json.loads((self.home / "secrets" / "passwords.json").read_text())
            self.passwords.update(made)
        self._spawn("api-server", ["api-server", "--host", "127.0.0.1", "--port",
                                   str(self.port)])
        self._spawn("scheduler", ["scheduler"])
        self._spawn("dag-processor", ["dag-processor"])
        self._spawn("triggerer", ["triggerer", "--skip-serve-logs"])
        for worker in self.workers:
            self._spawn(f"worker-{worker.name}", [
                "celery", "worker", "--queues", ",".join(worker.queues),
                "--concurrency", str(worker.concurrency),
                "--celery-hostname", f"{worker.name}@%h",
                "--skip-serve-logs", "--without-mingle", "--without-gossip", *worker.args,
            ], worker.env)
        self._wait_until(lambda: self._get("/api/v2/version") == 200,
                         time.monotonic() + START_TIMEOUT, "the api-server to answer")
        self.started_in = time.monotonic() - started

    def _run(self, what: str, argv: list[str], env: Mapping[str, str]) -> None:
        log = self.home / "logs" / f"{Path(argv[-1]).name}.log"
        with log.open("ab") as out:
            done = subprocess.run(argv, env=env, cwd=self.home, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=300)
        if done.returncode:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise StackError(f"{what} failed ({done.returncode}):\n{tail}")

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> None:
        log = self.home / "logs" / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen([AIRFLOW, *args], env={**self.env, **(env or {})},
                                     cwd=self.home, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(Process(name, popen, log))

    def _get(self, path: str) -> int:
        try:
            return httpx.get(self.url + path, timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def check_alive(self) -> None:
        """Fail at once, with its log, when a component has died."""
        for process in self.processes:
            if process.popen.poll() is not None:
                raise StackError(f"{process.name} exited ({process.popen.returncode}):\n"
                                 f"{process.tail()}")

    def _wait_until(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise StackError(f"timed out waiting for {what}")
            time.sleep(0.5)

    def _create_database(self) -> None:
        with _admin_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        self._database_made = True

    # -- down ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process group, drop the database, delete the Redis keys. Each step
        runs even when one before it failed; the first error is raised at the end."""
        errors: list[BaseException] = []
        # Workers and scheduler first (they hold task subprocesses), the API server last:
        # tasks still finishing report to it.
        for process in reversed(self.processes):
            _try(errors, _stop_group, process.popen, signal.SIGTERM, 20.0)
        for process in self.processes:
            _try(errors, _stop_group, process.popen, signal.SIGKILL, 10.0)
        if self._database_made:
            _try(errors, self._drop_database)
        _try(errors, self._delete_redis_keys)
        if errors:
            raise errors[0]

    def _drop_database(self) -> None:
        with _admin_cursor() as cursor:
            # FORCE (PostgreSQL 13+): a connection a killed process left is cut, not waited for.
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._database_made = False

    def _delete_redis_keys(self) -> None:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=self.key_prefix + "*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    def leftovers(self) -> dict[str, object]:
        """What stop() should have removed and may still exist (for the teardown test)."""
        import redis

        with _admin_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
            database = cursor.fetchone() is not None
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=self.key_prefix + "*", count=500))
        finally:
            client.close()
        alive = [p.name for p in self.processes if _group_alive(p.popen.pid)]
        return {"database": database, "redis_keys": keys, "processes": alive}


@contextmanager
def _admin_cursor() -> Iterator[Any]:
    """A cursor on the server's `postgres` database, outside any transaction (CREATE and
    DROP DATABASE refuse to run in one)."""
    import psycopg2

    connection = psycopg2.connect(**POSTGRES)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _try(errors: list[BaseException], step: Callable[..., object], *args: object) -> None:
    try:
        step(*args)
    except BaseException as exc:  # collected and raised after the rest ran
        errors.append(exc)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose members are all zombies still "exists": look at their states.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _stop_group(popen: subprocess.Popen[bytes], sig: signal.Signals, grace: float) -> None:
    """Signal a process group we started, and wait up to `grace` s for all of it to end."""
    if not _group_alive(popen.pid):
        popen.poll()
        return
    try:
        os.killpg(popen.pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        popen.poll()  # reaps the leader once it exits
        if not _group_alive(popen.pid):
            return
        time.sleep(0.2)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()

"""Secrets at rest under `make run`, and updraft's own state: encrypted connections,
0600 files in 0700 dirs whatever the umask, no passwords in the console, nothing
listening beyond 127.0.0.1.

bootstrap_airflow.py runs for real against a throwaway AIRFLOW_HOME (the Airflow
database, GnuPG's demo key, the connections); the rows are read back with sqlite3.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.kits import treekit
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.ledger.store import Ledger

pytestmark = pytest.mark.timeout(180)

SCRIPTS = treekit.REPO / "scripts"
USERS = "admin:admin,releng:op,packager:user"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _bootstrap(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "UPDRAFT_CONFIG": str(treekit.CONFIG_FILE),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "UPDRAFT_SMTP_PORT": "8025",
           "UPDRAFT_BUGZILLA_PORT": "8089"}
    env.pop("AIRFLOW__CORE__FERNET_KEY", None)
    # A loose umask, as a login shell has: the script must not rely on the caller's.
    return subprocess.run([sys.executable, str(SCRIPTS / "bootstrap_airflow.py")], env=env,
                          capture_output=True, text=True, timeout=170, check=False,
                          preexec_fn=lambda: os.umask(0o022))


def _rows(home: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(home / "airflow.db") as db:
        db.row_factory = sqlite3.Row
        return {row["conn_id"]: dict(row) for row in db.execute(
            "SELECT conn_id, password, extra, is_encrypted, is_extra_encrypted FROM connection")}


def _fernet_key(home: Path) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(home / "airflow.cfg")
    return parser["core"]["fernet_key"]


def _fernet(home: Path) -> Fernet:
    return Fernet(_fernet_key(home).encode())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    done = _bootstrap(home)
    assert done.returncode == 0, done.stderr[-2000:]
    return home


def test_bootstrap_stores_the_connections_encrypted(home: Path) -> None:
    rows = _rows(home)
    assert set(rows) >= {"updraft_gpg", "updraft_smtp", "updraft_bugzilla"}
    for conn_id in ("updraft_gpg", "updraft_bugzilla"):
        assert rows[conn_id]["is_encrypted"] == 1, conn_id
    for conn_id in ("updraft_gpg", "updraft_smtp"):
        assert rows[conn_id]["is_extra_encrypted"] == 1, conn_id
    passphrase = (home / "signing" / "passphrase").read_text()
    fernet = _fernet(home)  # the key the API server and the workers will read
    assert fernet.decrypt(rows["updraft_gpg"]["password"].encode()).decode() == passphrase
    assert fernet.decrypt(rows["updraft_bugzilla"]["password"].encode()) == b"demo-key"


def test_no_secret_occurs_in_the_database_file(home: Path) -> None:
    raw = (home / "airflow.db").read_bytes()
    passphrase = (home / "signing" / "passphrase").read_bytes()
    assert len(passphrase) >= 16 and passphrase not in raw
    assert b"demo-key" not in raw
    for password in json.loads((home / "passwords.json").read_text()).values():
        assert password.encode() not in raw


def test_every_file_bootstrap_makes_is_private_under_a_loose_umask(home: Path) -> None:
    assert _mode(home) == 0o700
    for name in ("airflow.db", "airflow.cfg", "passwords.json", "signing/passphrase"):
        assert _mode(home / name) == 0o600, name
    assert _mode(home / "signing") == 0o700
    loose = [str(path.relative_to(home)) for path in home.rglob("*")
             if path.is_file() and _mode(path) & 0o077]
    assert not loose, loose


def test_a_rerun_encrypts_what_an_earlier_run_left_in_clear_with_the_same_key(
        home: Path) -> None:
    key_before = _fernet_key(home)  # the key must not change
    with sqlite3.connect(home / "airflow.db") as db:  # what main's bootstrap left behind
        db.execute("UPDATE connection SET password = 'clear-key', is_encrypted = 0 "
                   "WHERE conn_id = 'updraft_bugzilla'")
    (home / "airflow.db").chmod(0o644)
    done = _bootstrap(home)
    assert done.returncode == 0, done.stderr[-2000:]
    row = _rows(home)["updraft_bugzilla"]
    assert row["is_encrypted"] == 1 and row["password"] != "clear-key"
    assert _fernet_key(home) == key_before
    assert _fernet(home).decrypt(row["password"].encode()) == b"clear-key"
    assert _mode(home / "airflow.db") == 0o600


def _banner_code() -> str:
    script = (SCRIPTS / "standalone.sh").read_text()
    match = re.search(r"logins=\$\(\"\$PY\" - <<'PYTHON'\n(.*?)\nPYTHON\n", script, re.S)
    assert match, "the banner's login listing moved: update this test"
    return match.group(1)


def test_the_banner_names_the_password_file_not_the_passwords(home: Path) -> None:
    passwords = json.loads((home / "passwords.json").read_text())
    assert set(passwords) == {"admin", "releng", "packager"}
    env = {**os.environ, "UPDRAFT_CONFIG": str(treekit.CONFIG_FILE),
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(treekit.REPO / "plugins"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json")}
    done = subprocess.run([sys.executable, "-c", _banner_code()], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert [line.split()[0] for line in done.stdout.splitlines()] == [
        "admin", "releng", "packager"]
    for password in passwords.values():
        assert password not in done.stdout + done.stderr
    banner = (SCRIPTS / "standalone.sh").read_text().split("<<BANNER", 1)[1]
    banner = banner.split("\nBANNER\n", 1)[0]
    assert "the passwords are in $AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in banner


def test_make_runs_environment_binds_to_localhost_only() -> None:
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("AIRFLOW__", "UPDRAFT_"))}
    done = subprocess.run(["bash", "-c", f"source {SCRIPTS / 'airflow-env.sh'} && env"],
                          env=clean, capture_output=True, text=True, timeout=60, check=True)
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://127.0.0.1:")
    script = (SCRIPTS / "standalone.sh").read_text()
    assert "umask 077" in script
    assert "exec setsid airflow standalone" not in script
    assert 'scripts/airflow_standalone.py' in script
    assert "updraft.devkit.mailsink --dir \"$UPDRAFT_MAIL_DIR\" --host 127.0.0.1" in script


def test_standalone_starts_no_log_server_on_all_interfaces() -> None:
    """Airflow's serve_logs binds host "" (every interface) with no option: make run's
    standalone must start the scheduler and the triggerer without it."""
    from airflow.cli.commands import standalone_command
    from airflow.utils.serve_logs import core

    assert 'host=""' in Path(core.__file__).read_text()  # still true: the fix is needed
    spec = importlib.util.spec_from_file_location("airflow_standalone",
                                                  SCRIPTS / "airflow_standalone.py")
    assert spec and spec.loader
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    original = standalone_command.SubCommand
    try:
        launcher.patch()
        launcher.patch()  # idempotent
        make = standalone_command.SubCommand
        commands = {name: make(None, name, [name], {}).command
                    for name in ("scheduler", "dag-processor", "api-server", "triggerer")}
    finally:
        standalone_command.SubCommand = original
    assert commands == {"scheduler": ["scheduler", "--skip-serve-logs"],
                        "dag-processor": ["dag-processor"], "api-server": ["api-server"],
                        "triggerer": ["triggerer", "--skip-serve-logs"]}


# -- updraft's own state --------------------------------------------------------------------

def test_a_new_ledger_is_0600_in_a_0700_state_dir_under_a_loose_umask(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    layout = Layout(treekit.sme_config(), tmp_path / "tree")
    with _umask(0o022):
        Ledger.open(layout.ledger_url)
    assert _mode(layout.state_dir) == 0o700
    assert _mode(layout.state_dir / "ledger.sqlite") == 0o600
    sidecars = [p for p in layout.state_dir.iterdir() if p.name.startswith("ledger.sqlite")]
    assert all(_mode(p) == 0o600 for p in sidecars), sidecars


def test_an_earlier_world_readable_state_dir_and_ledger_are_tightened(tmp_path: Path) -> None:
    state = tmp_path / "tree" / ".updraft"
    state.mkdir(parents=True, mode=0o755)
    state.chmod(0o755)
    Ledger.open(f"sqlite:///{state / 'ledger.sqlite'}")
    (state / "ledger.sqlite").chmod(0o644)
    layout = Layout(treekit.sme_config(), tmp_path / "tree")
    assert layout.state_dir == state and _mode(state) == 0o700
    Ledger.open(layout.ledger_url)
    assert _mode(state / "ledger.sqlite") == 0o600


def test_a_cycle_keeps_its_state_private_and_the_tree_public(tmp_path: Path, clamav_old: Any,
                                                             clamav_new: Any) -> None:
    config = treekit.sme_config()
    layout = Layout(config, tmp_path / "tree")
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    with _umask(0o022):
        engine = Engine(config, layout.root)
        assert engine.update_repos().ok
    state = layout.state_dir
    assert _mode(state) == 0o700
    private = [state / "ledger.sqlite", *state.glob("headers/*.marshal"), state / "lock",
               *state.glob("journal/**/*.jsonl"), *state.glob("locks/**/*.lock")]
    assert (state / "headers" / "9+smetest.marshal").exists() and len(private) > 4
    assert _mode(state / "headers") == 0o700
    assert {str(p.relative_to(state)): _mode(p) for p in private} == {
        str(p.relative_to(state)): 0o600 for p in private}
    published = [*layout.root.glob("9/*/*/repodata/repomd.xml"),
                 *layout.root.glob("9/*/*/RPMS/*.rpm")]
    assert published and all(_mode(p) & 0o004 for p in published)  # mirrors still read it


def test_make_runs_airflow_publishes_a_tree_others_can_read() -> None:
    """umask 077 keeps make run's own files private; the Airflow components, which write
    the distribution tree (RPMs, repodata, ISOs) that mirrors serve, run under 022."""
    script = (SCRIPTS / "standalone.sh").read_text()
    start = next(line for line in script.splitlines()
                 if "UPDRAFT_COMPONENT_GROUPS=" in line and line.lstrip().startswith("("))
    assert "umask 022" in start

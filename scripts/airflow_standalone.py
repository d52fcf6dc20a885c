"""`airflow standalone` for `make run`, with updraft's auth manager and no log servers
listening on every interface.

Airflow's standalone replaces any [core] auth_manager but its own SimpleAuthManager in
the environment of the components it starts (StandaloneCommand.calculate_env), which
would drop updraft's permissions (updraft_airflow.auth.UpdraftSimpleAuthManager, a
SimpleAuthManager subclass: same users, same login): the configured class is put back.

The scheduler (for LocalExecutor) and the triggerer each start a log server, and
airflow.utils.serve_logs binds it to all interfaces (host "", no option to change it).
Here every component runs on this machine and writes its logs where the API server reads
them directly, so both run with `--skip-serve-logs`. The API server binds
AIRFLOW__API__HOST (127.0.0.1, airflow-env.sh). Run by scripts/standalone.sh with
airflow-env.sh sourced.

The console is updraft's (issue 18 §4): each component's output goes to
$AIRFLOW_HOME/logs/<component>.log; the console shows updraft's own lines (its loggers'
names start with "updraft"), the components' errors, and the banner (written by
standalone.sh to $UPDRAFT_BANNER) again once every component is up. On SIGINT every
component's process group (a scheduler and its LocalExecutor workers) gets SIGTERM at
once, then SIGKILL after STOP_GRACE seconds, and standalone exits 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import IO

# Library deprecations are for whoever upgrades them, not for make run's console (the
# components' own go to their log files).
warnings.simplefilter("ignore", DeprecationWarning)
try:  # a UserWarning, not a DeprecationWarning: FastAPI's imports raise two of them
    from starlette.exceptions import StarletteDeprecationWarning
except ImportError:  # an older Starlette, which does not warn
    pass
else:
    warnings.simplefilter("ignore", StarletteDeprecationWarning)

from airflow.cli.commands import standalone_command  # noqa: E402

KEY = "AIRFLOW__CORE__AUTH_MANAGER"
# The components that would start a log server, and standalone's names for them.
NO_LOG_SERVER = frozenset({"scheduler", "triggerer"})
STOP_GRACE = 5.0  # seconds every component gets, together, after SIGTERM
# A component line worth the console: an updraft logger's, or an error (structlog's
# "[error    ]", plain logging's "ERROR"; the traceback under it is in the log file).
# "updraft:" but not "updraft://": Airflow's own lines about updraft's assets
# ("AssetModel ... updraft://9/smetest ... not found") are not updraft's.
_CONSOLE = re.compile(r"\[updraft[\w.]*\]|\bupdraft[\w.]*:(?!//)|\[(error|critical)\s*\]|"
                      r"\b(ERROR|CRITICAL)\b")


def for_console(line: str) -> bool:
    return bool(_CONSOLE.search(line))


def patch() -> None:
    """Standalone's components start without a log server (idempotent)."""
    base = standalone_command.SubCommand

    class LocalSubCommand(base):  # type: ignore[misc, valid-type]
        def __init__(self, parent: object, name: str, command: list[str],
                     env: dict[str, str]) -> None:
            if command[:1] and command[0] in NO_LOG_SERVER and "--skip-serve-logs" not in command:
                command = [*command, "--skip-serve-logs"]
            super().__init__(parent, name, command, env)

        def run(self) -> None:
            # Its own process group: stop() signals the component and its workers at once.
            self.process = subprocess.Popen(
                ["airflow", *self.command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=self.env, start_new_session=True)
            groups = os.environ.get("UPDRAFT_COMPONENT_GROUPS")
            if groups:  # for standalone.sh, should this process die before it stops them
                with open(groups, "a") as stream:
                    stream.write(f"{self.process.pid}\n")
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.parent.output_queue.append((self.name, line))

        def stop(self) -> None:
            """SIGTERM to the component's group now, SIGKILL after STOP_GRACE: standalone
            then joins this thread, which ends when the group's last process is gone."""
            self.parent.stopping = True  # what dying components say goes to the files only
            if self.process is not None and self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    return
                timer = threading.Timer(STOP_GRACE, self.kill)
                timer.daemon = True
                timer.start()

        def kill(self) -> None:
            if self.process is not None and self.process.poll() is None:
                # One write, newline included: every component's timer fires at once,
                # and print()'s separate "\n" let their lines run together.
                sys.stderr.write(f"standalone.sh: {self.name} still running "
                                 f"{STOP_GRACE:g} s after SIGTERM: killed\n")
                sys.stderr.flush()
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    if base.__name__ != "LocalSubCommand":
        standalone_command.SubCommand = LocalSubCommand


class UpdraftStandalone(standalone_command.StandaloneCommand):
    def __init__(self, auth_manager: str) -> None:
        super().__init__()
        self.auth_manager = auth_manager

    def calculate_env(self) -> dict[str, str]:
        env = super().calculate_env()
        env[KEY] = os.environ[KEY] = self.auth_manager
        return env

    def _log(self, name: str) -> IO[str]:
        logs = getattr(self, "_logs", None)
        if logs is None:
            logs = self._logs = {}
        if name not in logs:
            directory = Path(os.environ.get("AIRFLOW_HOME", ".")) / "logs"
            directory.mkdir(parents=True, exist_ok=True)
            logs[name] = open(directory / f"{name}.log", "a", buffering=1)
        return logs[name]

    def update_output(self) -> None:
        """Component lines to their log file; updraft's own lines and errors also here."""
        while self.output_queue:
            name, raw = self.output_queue.popleft()
            line = raw.decode("utf8", "replace").rstrip()
            self._log(name).write(line + "\n")
            if for_console(line) and not getattr(self, "stopping", False):
                self.print_output(name, line)

    def print_output(self, name: str, output: str) -> None:
        # Standalone says so while calculate_env() below puts updraft's auth manager back:
        # true for a moment, wrong for the run, and alarming to read.
        if name == "standalone" and output.startswith("Forcing auth manager"):
            return
        super().print_output(name, output)

    def print_ready(self) -> None:
        banner = os.environ.get("UPDRAFT_BANNER")
        try:
            text = Path(banner).read_text() if banner else ""
        except OSError:
            text = ""
        print(text or "updraft: every Airflow component is up", flush=True)

    def find_user_info(self) -> None:
        pass  # the banner names the users and the passwords file (standalone.sh)

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.update_output()


def main() -> int:
    wanted = os.environ.get(KEY, "")
    if not wanted.startswith("updraft_airflow.auth."):
        print(f"airflow_standalone.py: {KEY}={wanted or '(unset)'}: source "
              "scripts/airflow-env.sh first (it selects updraft's auth manager)", file=sys.stderr)
        return 2
    # What `airflow`'s main() does before any command.
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    patch()
    UpdraftStandalone(wanted).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

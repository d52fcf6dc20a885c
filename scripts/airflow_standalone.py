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
"""

from __future__ import annotations

import os
import sys

from airflow.cli.commands import standalone_command

KEY = "AIRFLOW__CORE__AUTH_MANAGER"
# The components that would start a log server, and standalone's names for them.
NO_LOG_SERVER = frozenset({"scheduler", "triggerer"})


def patch() -> None:
    """Standalone's components start without a log server (idempotent)."""
    base = standalone_command.SubCommand

    class LocalSubCommand(base):  # type: ignore[misc, valid-type]
        def __init__(self, parent: object, name: str, command: list[str],
                     env: dict[str, str]) -> None:
            if command[:1] and command[0] in NO_LOG_SERVER and "--skip-serve-logs" not in command:
                command = [*command, "--skip-serve-logs"]
            super().__init__(parent, name, command, env)

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

"""`airflow standalone`, keeping the auth manager scripts/airflow-env.sh chose.

Airflow's standalone replaces any [core] auth_manager but its own SimpleAuthManager in
the environment of the components it starts (StandaloneCommand.calculate_env), which
would drop updraft's permissions (updraft_airflow.auth.UpdraftSimpleAuthManager, a
SimpleAuthManager subclass: same users, same login). This runs the same command with the
configured class put back. Run by scripts/standalone.sh with airflow-env.sh sourced.
"""

from __future__ import annotations

import os
import sys

from airflow.cli.commands.standalone_command import StandaloneCommand

KEY = "AIRFLOW__CORE__AUTH_MANAGER"


class UpdraftStandalone(StandaloneCommand):
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
    UpdraftStandalone(wanted).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

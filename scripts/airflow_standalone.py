"""`airflow standalone` for `make run`, without log servers listening on every interface.

The scheduler (for LocalExecutor) and the triggerer each start a log server, and
airflow.utils.serve_logs binds it to all interfaces (host "", no option to change it):
anyone on the network could then talk to it. Here every component runs on this machine
and writes its logs where the API server reads them directly, so both run with
`--skip-serve-logs`. The API server binds AIRFLOW__API__HOST (127.0.0.1, airflow-env.sh).
"""

from __future__ import annotations

import sys

# The components that would start a log server, and standalone's names for them.
NO_LOG_SERVER = frozenset({"scheduler", "triggerer"})


def patch() -> None:
    from airflow.cli.commands import standalone_command

    base = standalone_command.SubCommand

    class LocalSubCommand(base):  # type: ignore[misc, valid-type]
        def __init__(self, parent: object, name: str, command: list[str],
                     env: dict[str, str]) -> None:
            if command[:1] and command[0] in NO_LOG_SERVER and "--skip-serve-logs" not in command:
                command = [*command, "--skip-serve-logs"]
            super().__init__(parent, name, command, env)

    if base.__name__ != "LocalSubCommand":
        standalone_command.SubCommand = LocalSubCommand


def main() -> None:
    patch()
    from airflow.__main__ import main as airflow_main

    sys.argv = ["airflow", "standalone"]
    airflow_main()


if __name__ == "__main__":
    main()

"""BugzillaHook: the distribution's Bugzilla from the `updraft_bugzilla` connection.

(Not named bugzilla.py: Airflow imports every file under plugins/ by its stem, and a
`bugzilla` module would shadow python-bugzilla in every task.)

Host: the tracker's URL (https://bugs.example.org), or a host name with the scheme in
`schema` (default https) and a port; password: the API key (never logged: Airflow masks
connection passwords, updraft.release.tracker scrubs it from request logs). Extra
`{"timeout": 30, "batch": 500}` is optional.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from updraft.errors import ConfigError
from updraft.release.tracker import BugTracker


class BugzillaHook(BaseHook):
    """Builds the updraft BugTracker (python-bugzilla over REST) from a connection."""

    conn_name_attr = "bugzilla_conn_id"
    default_conn_name = "updraft_bugzilla"
    conn_type = "bugzilla"
    hook_name = "Bugzilla"

    def __init__(self, bugzilla_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bugzilla_conn_id = bugzilla_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["login"],
            "relabeling": {"host": "Bugzilla URL", "password": "API key",
                           "schema": "Scheme (when Host is a bare name)"},
            "placeholders": {"host": "https://bugs.example.org",
                             "extra": '{"timeout": 30, "batch": 500}'},
        }

    def get_conn(self) -> BugTracker:
        return self.get_tracker()

    def get_tracker(self) -> BugTracker:
        connection = self.get_connection(self.bugzilla_conn_id)
        host = (connection.host or "").strip()
        if not host:
            raise ConfigError(f"connection {self.bugzilla_conn_id}: set the host to the "
                              "Bugzilla URL, e.g. https://bugs.example.org")
        if "://" in host:
            url = host
        else:
            port = f":{connection.port}" if connection.port else ""
            url = f"{connection.schema or 'https'}://{host}{port}"
        extra = connection.extra_dejson
        return BugTracker(url, api_key=connection.password or None,
                          batch=int(extra.get("batch", BugTracker.BATCH)),
                          timeout=float(extra.get("timeout", 30.0)))

"""The updraft Airflow plugin: the release board page, linked in the navigation."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class UpdraftPlugin(AirflowPlugin):
    name = "updraft"

    @property
    def fastapi_apps(self) -> list[dict[str, object]]:  # type: ignore[override]
        from updraft_airflow.board import app  # FastAPI and the config: only when served

        return [{"app": app, "url_prefix": "/updraft", "name": "updraft release board"}]

    external_views = [{
        "name": "Release board",
        "href": "/updraft/release/",
        "destination": "nav",
        "category": "browse",
        "url_route": "release-board",
    }]

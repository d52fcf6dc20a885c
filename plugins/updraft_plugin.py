"""The updraft Airflow plugin: its pages (Packages, Gates, Release board, Repos) in the
UI's Browse menu, and the listener that names each run in its note."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from updraft_airflow import run_notes


class UpdraftPlugin(AirflowPlugin):
    name = "updraft"
    listeners = [run_notes]

    @property
    def fastapi_apps(self) -> list[dict[str, object]]:  # type: ignore[override]
        from updraft_airflow.pages import app  # FastAPI and the config: only when served

        return [{"app": app, "url_prefix": "/updraft", "name": "updraft pages"}]

    # url_route: shown inside the UI (an iframe); the pages open UI links in the UI itself.
    external_views = [
        {"name": "Packages", "href": "/updraft/packages", "destination": "nav",
         "category": "browse", "url_route": "updraft-packages"},
        {"name": "Gates", "href": "/updraft/gates", "destination": "nav",
         "category": "browse", "url_route": "updraft-gates"},
        {"name": "Release board", "href": "/updraft/release/", "destination": "nav",
         "category": "browse", "url_route": "release-board"},
        {"name": "Repos", "href": "/updraft/repos", "destination": "nav",
         "category": "browse", "url_route": "updraft-repos"},
    ]

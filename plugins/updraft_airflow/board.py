"""The release board: Rnotes per release in the Airflow UI, behind Airflow's own login.

A FastAPI app mounted by the updraft plugin at /updraft: `/updraft/release/` lists the
releases, `/updraft/release/<release>` shows the last analysis (written by every
release_updates run and by `updraft releasability`) with a link that starts
release_updates, `/updraft/release/<release>.json` the same as JSON. Reading needs the
right to read release_updates' runs (a bearer token or the UI's session cookie).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from updraft_airflow import distribution
from updraft_airflow.web import harden

DAG_ID = "release_updates"
_READ = [Depends(requires_access_dag("GET", DagAccessEntity.RUN, DAG_ID))]

app = harden(FastAPI(title="updraft release board", docs_url=None, redoc_url=None))


def _reports() -> tuple[Any, Path]:
    from updraft.config.dist import resolve_root
    from updraft.engine.layout import Layout

    config = distribution.load()
    return config, Layout(config, resolve_root(config)).state_dir / "release"


def _trigger_link(release: str) -> str:
    return f"/dags/{DAG_ID}/trigger/single?conf=" + html.escape(f'{{"release": "{release}"}}')


@app.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("release/")


@app.get("/release/", response_class=HTMLResponse, dependencies=_READ)
def releases() -> str:
    config, directory = _reports()
    rows = []
    for release in config.releases:
        done = (directory / f"release-{release}.html").is_file()
        state = "analysed" if done else "no analysis yet"
        # "./" + a quoted segment: a release name can never become a scheme (javascript:).
        href = html.escape("./" + quote(release, safe=""))
        rows.append(f'<li><a href="{href}">{html.escape(config.name)} '
                    f'{html.escape(release)}</a> ({state}) · <a href="/dags/{DAG_ID}" '
                    f'target="_top">release_updates</a></li>')
    return (f"<!doctype html><title>Release board</title><h1>{html.escape(config.name)}: "
            f"release board</h1><ul>{''.join(rows)}</ul>")


@app.get("/release/{release}.json", dependencies=_READ)
def release_json(release: str) -> JSONResponse:
    from updraft.release.rnotes import load

    config, directory = _reports()
    analysis = load(directory, _known(config, release))
    if analysis is None:
        raise HTTPException(404, f"no analysis of release {release} yet")
    return JSONResponse(analysis.to_json())


@app.get("/release/{release}", response_class=HTMLResponse, dependencies=_READ)
def release_page(release: str) -> str:
    from updraft.release.rnotes import load, render

    config, directory = _reports()
    analysis = load(directory, _known(config, release))
    if analysis is None:
        return (f"<!doctype html><title>Release board</title><p>No analysis of "
                f"{html.escape(config.name)} {html.escape(release)} yet: "
                f'<a href="/dags/{DAG_ID}" target="_top">start release_updates</a> or run '
                f"<code>updraft releasability --release {html.escape(release)}</code>.</p>")
    return render(analysis, "html", config.name, {"trigger": f"/dags/{DAG_ID}"})


def _known(config: Any, release: str) -> str:
    if release not in config.releases:
        raise HTTPException(404, f"unknown release {release!r}")
    return release

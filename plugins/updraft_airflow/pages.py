"""updraft's pages in the Airflow UI (issue 18): Packages, Family, Gates, Repos and the
Release board, a FastAPI app the updraft plugin mounts at /updraft.

Every page is behind Airflow's login (a bearer token or the UI's `_token` cookie) and
the reader's right to read DAG runs; each has a JSON twin at the same path plus `.json`
(or with `?format=json`). What the pages show is computed by updraft.web (no Airflow
there); this module only authorises, picks HTML or JSON, and renders the templates
(autoescaped: updraft.markup).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from airflow.api_fastapi.auth.managers.models.resource_details import (
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from updraft_airflow import distribution
from updraft_airflow.web import harden

RELEASE_DAG = "release_updates"
_READ = [Depends(requires_access_dag("GET", DagAccessEntity.RUN))]
_READ_BOARD = [Depends(requires_access_dag("GET", DagAccessEntity.RUN, RELEASE_DAG))]
NAV = [("/updraft/packages", "Packages"), ("/updraft/gates", "Gates"),
       ("/updraft/release/", "Release board"), ("/updraft/repos", "Repos")]

app = harden(FastAPI(title="updraft pages", docs_url=None, redoc_url=None,
                     openapi_url=None))
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")


@lru_cache(maxsize=4)
def _ledger(url: str) -> Any:
    from updraft.ledger.store import Ledger

    return Ledger.open(url)  # migrated once per process, then pooled


def _site() -> Any:
    from updraft.config.dist import resolve_root
    from updraft.engine.layout import Layout
    from updraft.web.site import Site

    config = distribution.load()
    layout = Layout(config, resolve_root(config))
    return Site(layout, _ledger(layout.ledger_url))


@lru_cache(maxsize=1)
def _env() -> Any:
    from updraft.markup import environment

    return environment(trim_blocks=True, lstrip_blocks=True)


def _age(since: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _wants_json(request: Request, suffix: bool) -> bool:
    return suffix or request.query_params.get("format") == "json"


def _json_url(request: Request) -> str:
    query = dict(request.query_params)
    query["format"] = "json"
    return request.url.path + "?" + urlencode(query)


def _respond(request: Request, as_json: bool, view: Any, template: str, title: str,
             section: str, **extra: Any) -> Response:
    if as_json:
        return JSONResponse(view.data)
    from updraft.web.links import family_url

    page = _env().get_template(f"web/{template}").render(
        title=title, section=section, nav=NAV, dist=distribution.load().name,
        json_url=_json_url(request), age=_age, family_url=family_url,
        **view.context, **extra)
    return HTMLResponse(page)


@app.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/updraft/packages")


def _packages(request: Request, as_json: bool, q: str, release: str, repo: str,
              state: str, page: int, per_page: int) -> Response:
    from updraft.web.packages import Query as PackageQuery

    query = PackageQuery.of(q, release, repo, state, page, per_page)
    view = _site().packages(query)

    def page_url(number: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        return "/updraft/packages?" + urlencode({**params, "page": number})

    return _respond(request, as_json, view, "packages.html.j2", "Packages", "Packages",
                    page_url=page_url)


_Text = Annotated[str, Query(max_length=200)]


@app.get("/packages.json", dependencies=_READ)
def packages_json(request: Request, q: _Text = "", release: _Text = "", repo: _Text = "",
                  state: _Text = "", page: int = 1, per_page: int = 50) -> Response:
    return _packages(request, True, q, release, repo, state, page, per_page)


@app.get("/packages", dependencies=_READ)
def packages_page(request: Request, q: _Text = "", release: _Text = "", repo: _Text = "",
                  state: _Text = "", page: int = 1, per_page: int = 50) -> Response:
    return _packages(request, _wants_json(request, False), q, release, repo, state, page,
                     per_page)


def _family(request: Request, name: str, as_json: bool) -> Response:
    if len(name) > 255:
        raise HTTPException(404, "no such family")
    view = _site().family(name)
    return _respond(request, as_json, view, "family.html.j2", f"Family {name}", "Packages")


@app.get("/families/{name}.json", dependencies=_READ)
def family_json(request: Request, name: str) -> Response:
    return _family(request, name, True)


@app.get("/families/{name}", dependencies=_READ)
def family_page(request: Request, name: str) -> Response:
    return _family(request, name, _wants_json(request, False))


@app.get("/gates.json", dependencies=_READ)
def gates_json(request: Request) -> Response:
    return _respond(request, True, _site().gates(), "gates.html.j2", "Gates", "Gates")


@app.get("/gates", dependencies=_READ)
def gates_page(request: Request) -> Response:
    return _respond(request, _wants_json(request, False), _site().gates(), "gates.html.j2",
                    "What waits for whom", "Gates")


@app.get("/repos.json", dependencies=_READ)
def repos_json(request: Request) -> Response:
    return _respond(request, True, _site().repos(), "repos.html.j2", "Repos", "Repos")


@app.get("/repos", dependencies=_READ)
def repos_page(request: Request) -> Response:
    return _respond(request, _wants_json(request, False), _site().repos(), "repos.html.j2",
                    "Repos", "Repos")


# -- the release board ------------------------------------------------------------------

class _Index:
    def __init__(self, items: list[tuple[str, bool]]) -> None:
        self.context = {"items": items}
        self.data = {"releases": [{"release": r, "analysed": a, "url": f"/updraft/release/{r}"}
                                  for r, a in items]}


@app.get("/release/", dependencies=_READ_BOARD)
def releases(request: Request) -> Response:
    return _respond(request, _wants_json(request, False), _Index(_site().analysed()),
                    "releases.html.j2", "Release board", "Release board")


def _may_start(user: Any) -> bool:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=RELEASE_DAG),
        user=user)


def _board(request: Request, release: str, as_json: bool, user: Any) -> Response:
    site = _site()
    if release not in site.config.releases:
        raise HTTPException(404, f"unknown release {release!r}")
    view = site.board(release)
    if as_json and not view.data:
        raise HTTPException(404, f"no analysis of release {release} yet")
    return _respond(request, as_json, view, "board.html.j2",
                    f"{site.config.name} {release}: release board", "Release board",
                    release=release, may_start=_may_start(user))


@app.get("/release/{release}.json", dependencies=_READ_BOARD)
def release_json(request: Request, release: str, user: GetUserDep) -> Response:
    return _board(request, release, True, user)


@app.get("/release/{release}", dependencies=_READ_BOARD)
def release_page(request: Request, release: str, user: GetUserDep) -> Response:
    return _board(request, release, _wants_json(request, False), user)

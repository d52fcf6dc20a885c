"""The release board page, served by Airflow's own API app with the updraft plugin, behind
Airflow's login (SimpleAuthManager, a real token from POST /auth/token)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import releasekit
from tests.kits.bugzilla_server import BugzillaServer
from updraft.release.analysis import analyse
from updraft.release.rnotes import store
from updraft.release.tracker import BugTracker

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def client(airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[type-arg]
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"releng": "rel-pw", "viewer": "view-pw"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "releng:user,viewer:viewer")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    purge_cached_app()
    with TestClient(create_app("core")) as test_client:
        yield test_client
    purge_cached_app()


def _token(client, user: str, password: str) -> str:
    answer = client.post("/auth/token", json={"username": user, "password": password})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["access_token"]


def test_the_board_shows_the_last_analysis_behind_the_login(
        client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = releasekit.build_seed(tmp_path / "rpms")
    engine = releasekit.seed_tree(tmp_path / "tree", built)
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))

    assert client.get("/updraft/release/9").status_code == 401
    headers = {"Authorization": f"Bearer {_token(client, 'releng', 'rel-pw')}"}
    empty = client.get("/updraft/release/9", headers=headers)
    assert empty.status_code == 200 and "No analysis" in empty.text

    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    store(analysis, engine.layout.state_dir / "release", "SME Server")

    page = client.get("/updraft/release/9", headers=headers)
    assert page.status_code == 200
    assert "5.0.0-14.el6.sme may be released" in page.text
    assert 'href="/dags/release_updates"' in page.text  # start release_updates from here
    data = client.get("/updraft/release/9.json", headers=headers).json()
    assert {p["name"]: p["releasable"] for p in data["packages"]}["e-smith-pop3"] is None
    index = client.get("/updraft/release/", headers=headers)
    assert "(analysed)" in index.text
    assert client.get("/updraft/release/42", headers=headers).status_code == 404


def test_the_board_is_live_a_released_update_is_no_longer_offered(
        client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.kits import treekit

    built = releasekit.build_seed(tmp_path / "rpms")
    engine = releasekit.seed_tree(tmp_path / "tree", built)
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
    with BugzillaServer(releasekit.seed_bugs()) as server:
        analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    store(analysis, engine.layout.state_dir / "release", "SME Server")
    headers = {"Authorization": f"Bearer {_token(client, 'releng', 'rel-pw')}"}
    assert "5.0.0-14.el6.sme may be released" in client.get("/updraft/release/9",
                                                            headers=headers).text

    # The release happens (here: the family lands in smeupdates); the stored analysis
    # stays as it was, the board does not.
    family = next(f for repo, f in built
                  if f.srpm.name.startswith("e-smith-base-5.0.0-14"))
    treekit.place(engine.layout, "9", "smeupdates", family)
    page = client.get("/updraft/release/9", headers=headers).text
    assert "5.0.0-14.el6.sme may be released" not in page
    offers = {o["name"]: o for o in
              client.get("/updraft/release/9.json", headers=headers).json()["offers"]}
    assert offers["e-smith-base"]["verdict"] == "released"
    assert offers["e-smith-base"]["released"] == "5.0.0-14.el6.sme"

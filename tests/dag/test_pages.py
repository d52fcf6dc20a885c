"""updraft's pages served by Airflow's own API app with the plugin (issue 18): each page's
JSON twin, who may read it, and hostile ledger text staying text in the HTML."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.kits import releasekit
from tests.kits.airflow_env import airflow_db  # noqa: F401 - Airflow's env before it is imported
from tests.kits.xsskit import HOSTILE, Audit
from updraft.ledger.gates import GateRecords, Question
from updraft.ledger.mirrors import MirrorRecords, MirrorSeen
from updraft.ledger.models import ReleaseAdvisory, UpstreamAdvisory
from updraft.ledger.store import Ledger

pytestmark = pytest.mark.timeout(180)
EVIL = HOSTILE["script"] + HOSTILE["svg"]
MIRROR = "http://mirror.example.org/{release}/{repo}/{arch}"
USERS = {"releng": ("user", "rel-pw"), "viewer": ("viewer", "view-pw"),
         "admin": ("admin", "adm-pw")}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = releasekit.build_seed(tmp_path_factory.mktemp("rpms"))
    engine = releasekit.seed_tree(tmp_path_factory.mktemp("tree"), built)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with Ledger.open(engine.layout.ledger_url) as ledger:
        GateRecords(ledger).ask(Question(
            run="airflow:promote/manual__x", dag_id="promote", run_id="manual__x",
            task_id="approve", kind="promote", release="9", target="smeupdates",
            family=f"clamav{EVIL}", digest="d", assigned=["releng"]), now)
        with ledger.transaction() as session:
            session.add(ReleaseAdvisory(
                id="SME-2026:1", year=2026, number=1, release="9", family="e-smith-base",
                family_evr="5.0.0-14.el6.sme", kind="security", title=EVIL,
                bugs=json.dumps([6001]), packages="[]", issued=now,
                run="airflow:release_updates/manual__r"))
            session.add(UpstreamAdvisory(
                release="9", source="rpmforge", advisory="RHSA-2026:0042", kind="security",
                title=EVIL, refs=json.dumps([{"type": "cve", "id": "CVE-2026-1234"}]),
                family="clamav", family_evr="0.97.5-2.rf", repo="smeupdates-testing", at=now))
        MirrorRecords(ledger).record([  # what hostile mirrors served, as wait_mirrors keeps it
            MirrorSeen(MIRROR, "9", "smeupdates", "x86_64", "http://m/x86_64", "1", EVIL, "",
                       now),
            MirrorSeen(MIRROR, "9", "smeupdates", "i386", "http://m/i386", "1", "", EVIL, now)])
    return engine.layout.root


@pytest.fixture
def client(airflow_db: None, tree: Path, tmp_path: Path,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({user: pw for user, (_, pw) in USERS.items()}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
                       ",".join(f"{user}:{role}" for user, (role, _) in USERS.items()))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("UPDRAFT_ROOT", str(tree))
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    purge_cached_app()
    with TestClient(create_app("core")) as test_client:
        yield test_client
    purge_cached_app()


def _headers(client: Any, user: str) -> dict[str, str]:
    answer = client.post("/auth/token", json={"username": user, "password": USERS[user][1]})
    assert answer.status_code in (200, 201), answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _timeless(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not k.endswith("_seconds")}
    if isinstance(value, list):
        return [_timeless(item) for item in value]
    return value


PAGES = ["/updraft/packages", "/updraft/gates", "/updraft/repos",
         "/updraft/families/clamav", "/updraft/release/"]


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_role_reads_every_page_and_its_json_twin(client: Any, user: str) -> None:
    headers = _headers(client, user)
    for path in PAGES:
        page = client.get(path, headers=headers)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        Audit(page.text).assert_inert()
        twin = path.rstrip("/") + ".json" if not path.endswith("/") else path + "?format=json"
        data = client.get(twin, headers=headers)
        assert data.status_code == 200, (twin, data.text)
        assert data.headers["content-type"] == "application/json"
        again = client.get(path + "?format=json", headers=headers).json()
        assert _timeless(again) == _timeless(data.json())  # ages tick between the two


def test_nobody_reads_without_logging_in(client: Any) -> None:
    for path in PAGES:
        assert client.get(path).status_code == 401
        forged = client.get(path, headers={"Authorization": "Bearer forged"})
        assert forged.status_code in (401, 403)


def test_packages_lists_families_with_state_security_and_search(client: Any) -> None:
    headers = _headers(client, "viewer")
    data = client.get("/updraft/packages.json?per_page=200", headers=headers).json()
    rows = {(r["release"], r["repo"], r["family"]): r for r in data["rows"]}
    clamav = rows[("9", "smeupdates-testing", "clamav")]
    assert clamav["evr"] == "0.97.5-2.rf" and clamav["state"] == "signed/untested"
    assert clamav["security"] and clamav["cves"] == ["CVE-2026-1234"]
    assert clamav["advisories"] == ["RHSA-2026:0042"]
    base = next(r for r in data["rows"] if r["advisories"] == ["SME-2026:1"])
    assert base["bugs"] == ["6001"] and base["family"] == "e-smith-base"
    for needle, family in (("CVE-2026-1234", "clamav"), ("SME-2026:1", "e-smith-base"),
                           ("6001", "e-smith-base"), ("clamav-0.97.5-2.rf", "clamav")):
        found = client.get("/updraft/packages.json", params={"q": needle},
                           headers=headers).json()["rows"]
        assert found and {r["family"] for r in found} == {family}, needle
    paged = client.get("/updraft/packages.json?per_page=2&page=2", headers=headers).json()
    assert paged["page"] == 2 and len(paged["rows"]) == 2 and paged["total"] == data["total"]
    html = client.get("/updraft/packages?q=clamav", headers=headers).text
    assert 'href="/updraft/families/clamav"' in html


def test_gates_and_family_show_hostile_text_as_text(client: Any) -> None:
    headers = _headers(client, "releng")
    gates = client.get("/updraft/gates.json", headers=headers).json()["waiting"]
    assert [g["family"] for g in gates] == [f"clamav{EVIL}"]
    assert gates[0]["answer_url"] == "/dags/promote/runs/manual__x/tasks/approve/required_actions"
    assert gates[0]["assigned"] == ["releng"]
    page = client.get("/updraft/gates", headers=headers)
    audit = Audit(page.text)
    audit.assert_inert()
    assert EVIL in audit.text
    family = client.get("/updraft/families/e-smith-base", headers=headers)
    Audit(family.text).assert_inert()
    assert EVIL in Audit(family.text).text
    events = client.get("/updraft/families/e-smith-base.json", headers=headers).json()["events"]
    released = [e for e in events if e["kind"] == "advisory"]
    assert released[0]["links"] == [{"label": "run",
                                     "url": "/dags/release_updates/runs/manual__r"}]
    hostile = client.get(f"/updraft/families/{HOSTILE['svg']}", headers=headers)
    assert hostile.status_code == 200
    Audit(hostile.text).assert_inert()


def test_repos_show_revisions_and_counts(client: Any) -> None:
    data = client.get("/updraft/repos.json", headers=_headers(client, "viewer")).json()
    smetest = [d for d in data["arch_dirs"]
               if d["release"] == "9" and d["repo"] == "smeupdates-testing"
               and d["archdir"] != "SRPMS"]
    assert smetest and all(d["revision"] and d["packages"] > 0 for d in smetest)


def test_repos_show_each_mirrors_check_with_hostile_answers_as_text(client: Any) -> None:
    headers = _headers(client, "viewer")
    checks = client.get("/updraft/repos.json", headers=headers).json()["mirror_checks"]
    states = {c["archdir"]: (c["state"], c["theirs"], c["error"]) for c in checks}
    assert states == {"x86_64": ("behind", EVIL, ""), "i386": ("unreachable", "", EVIL)}
    page = client.get("/updraft/repos", headers=headers)
    audit = Audit(page.text)
    audit.assert_inert()
    assert EVIL in audit.text and "unreachable" in audit.text and " ago" in audit.text


def test_pages_send_the_csp_and_their_script_is_served(client: Any) -> None:
    headers = _headers(client, "viewer")
    page = client.get("/updraft/packages", headers=headers)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert '<script src="/updraft/static/updraft.js" defer></script>' in page.text
    script = client.get("/updraft/static/updraft.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_every_person_may_list_the_plugins_that_draw_the_pages_nav_entries() -> None:
    """FAB lists plugins (GET /api/v2/plugins, the UI's source of the nav entries) to Op
    and Admin only; updraft's policy lets every person of the config's roles read it."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView

    from updraft import permissions
    from updraft_airflow.auth import _UpdraftPolicy

    class Stock:
        def is_authorized_view(self, *, access_view: Any, user: Any) -> bool:
            return False

    class Policy(_UpdraftPolicy, Stock):
        def _person(self, user: Any) -> permissions.Person:
            return permissions.Person(user, frozenset({"packagers"}) if user == "p" else
                                      frozenset())

    assert Policy().is_authorized_view(access_view=AccessView.PLUGINS, user="p")
    assert not Policy().is_authorized_view(access_view=AccessView.PLUGINS, user="nobody")
    assert not Policy().is_authorized_view(access_view=AccessView.PROVIDERS, user="p")

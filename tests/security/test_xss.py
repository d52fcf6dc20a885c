"""Stored XSS: text from outside (changelogs, Bugzilla fields, package and file names) never
becomes markup in a release manager's browser.

Covered: `updraft releasability --format html`, the saved release-N.html, the release
board served by Airflow's own API app (with its CSP), every HTML template, and the gate
bodies (Markdown rendered by Airflow's UI; checked here with a CommonMark renderer that
even lets raw HTML through, the worst case).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kits import releasekit, treekit
from tests.kits.airflow_env import airflow_db  # noqa: F401 - Airflow's env before it is imported
from tests.kits.bugzilla_server import BugzillaServer, bug
from tests.kits.xsskit import EVERYTHING, HOSTILE, Audit
from updraft import markup
from updraft.devkit import rpmfactory
from updraft.release.analysis import Analysis, analyse
from updraft.release.rnotes import render, store
from updraft.release.tracker import BugTracker

pytestmark = pytest.mark.timeout(180)

EVIL_BUG = 7001


def _poison(value: Any, payload: str) -> Any:
    """Every string leaf of an analysis replaced by the payload (structure, ints kept)."""
    if isinstance(value, dict):
        return {key: _poison(item, payload) for key, item in value.items()}
    if isinstance(value, list):
        return [_poison(item, payload) for item in value]
    return payload if isinstance(value, str) else value


def _evil_family() -> rpmfactory.FamilySpec:
    entry = rpmfactory.ChangelogEntry(
        date="Mon Dec 03 2012", author=f"Mallory {HOSTILE['script']} <m@example.org>",
        evr="1.0-1", lines=(f"- {HOSTILE['img']} [SME: {EVIL_BUG}]",
                            f"- {HOSTILE['svg']} {HOSTILE['jinja']} {HOSTILE['javascript_url']}"))
    return rpmfactory.FamilySpec(name="smeserver-evil", version="1.0", release="1",
                                 main_arch="noarch", binary_dist=".el6.sme", changelog=(entry,))


def _bugs() -> dict[int, dict[str, object]]:
    bugs = releasekit.seed_bugs()
    bugs[EVIL_BUG] = bug(EVIL_BUG, "VERIFIED", resolution="FIXED", product=HOSTILE["svg"],
                         version=HOSTILE["img"], summary=EVERYTHING,
                         keywords=[HOSTILE["script"], "security"])
    bugs[6262]["summary"] = HOSTILE["script"]
    return bugs


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Analysis, dict[str, str]]:
    """A real tree (rpmbuild, createrepo_c) with a hostile changelog, analysed against the
    Bugzilla stand-in serving hostile bug fields; the engine, analysis and tracker env."""
    store_dir = tmp_path_factory.mktemp("rpms")
    seed = releasekit.build_seed(store_dir)
    evil = rpmfactory.build_family(_evil_family(), store_dir / "evil", ("x86_64",))
    engine = releasekit.seed_tree(tmp_path_factory.mktemp("tree"), seed,
                                  [("smeupdates-testing", evil)])
    server = BugzillaServer(_bugs())
    server.__enter__()
    analysis = analyse(engine.layout, "9", BugTracker(server.url, api_key=server.api_key))
    env = {"UPDRAFT_BUGZILLA_URL": server.url, "UPDRAFT_BUGZILLA_API_KEY": server.api_key}
    yield engine, analysis, env
    server.__exit__(None, None, None)


def _assert_shown_as_text(audit: Audit) -> None:
    for payload in (HOSTILE["script"], HOSTILE["img"], HOSTILE["svg"], HOSTILE["jinja"]):
        assert payload in audit.text, f"{payload!r} is not shown as text"


# -- HTML: Rnotes, the saved report, the CLI ----------------------------------------------

def test_rnotes_html_shows_a_hostile_changelog_and_bug_as_text(hostile) -> None:
    _, analysis, _ = hostile
    assert EVIL_BUG in analysis.bugs and analysis.bugs[EVIL_BUG].summary == EVERYTHING
    audit = Audit(render(analysis, "html", "SME Server"))
    audit.assert_inert()
    _assert_shown_as_text(audit)


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_outside_field_of_rnotes_is_escaped(hostile, payload: str) -> None:
    """Package names, versions, file names, bug product/version/keywords, tracker error,
    changes without bugs, smetest versions: every string of the analysis is the payload."""
    _, analysis, _ = hostile
    raw = _poison(analysis.to_json(), payload)
    raw["release"] = "9"
    raw["tracker"]["reachable"] = False  # the tracker error is shown too
    poisoned = Analysis.from_json(raw)
    page = render(poisoned, "html", payload, links={"trigger": HOSTILE["javascript_url"]})
    audit = Audit(page)
    audit.assert_inert()
    assert payload in audit.text
    assert "49" not in page  # {{7*7}} from data is never evaluated


def test_the_saved_release_html_is_escaped_and_forbids_scripts(hostile, tmp_path: Path) -> None:
    _, analysis, _ = hostile
    written = store(analysis, tmp_path, "SME Server")
    page = written["html"].read_text()
    audit = Audit(page)
    audit.assert_inert()
    _assert_shown_as_text(audit)
    assert ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'") in page
    assert json.loads(written["json"].read_text())["bugs"][str(EVIL_BUG)]["summary"] == EVERYTHING


def test_releasability_format_html_on_the_command_line_is_escaped(hostile) -> None:
    engine, _, env = hostile
    done = treekit.run_cli("--root", str(engine.layout.root), "releasability", "--release", "9",
                           "--format", "html", env=env)
    assert done.returncode == 0, done.stderr
    audit = Audit(done.stdout)
    audit.assert_inert()
    _assert_shown_as_text(audit)
    saved = engine.layout.state_dir / "release" / "release-9.html"
    Audit(saved.read_text()).assert_inert()


def test_every_html_template_autoescapes_and_text_templates_do_not() -> None:
    """The bug class: an autoescape selector that misses a template's name. Every template
    module gets its environment from updraft.markup, and the name decides."""
    templates = sorted(p.name for p in (treekit.REPO / "include/updraft/templates").iterdir())
    html_names = [name for name in templates if ".html" in name]
    assert html_names == ["rnotes.html.j2"]
    assert all(markup.escapes(name) for name in html_names)
    assert not any(markup.escapes(name) for name in templates if ".txt" in name)
    env = markup.environment()
    for name in html_names:
        page = env.get_template(name).render(
            a=_poison(_minimal_analysis(), EVERYTHING), name=EVERYTHING, links={},
            statuses=[(EVERYTHING, 1)], releasable=[], held=[], older=[], basename=str)
        Audit(page).assert_inert()
    sources = [p for p in (treekit.REPO / "include/updraft").rglob("*.py")
               if p.name != "markup.py" and "Environment(" in p.read_text()]
    assert not sources, f"a Jinja Environment made outside updraft.markup: {sources}"


def _minimal_analysis() -> dict[str, Any]:
    package = {"name": "x", "released": "1", "candidate": "2", "releasable": "2",
               "security": True, "blocked_by": [{"reason": "r"}], "broken_requires": ["d"],
               "release_changes": [{"author": "a", "text": "t"}], "bugs": [1], "srpm": "s",
               "rpms": ["r"]}
    return {"release": "9", "generated": "g", "tracker": {"asked": 1, "requests": 1,
                                                         "reachable": False, "error": "e"},
            "packages": [package], "bugs": {1: {"summary": "s", "packages": ["p"],
                                                "status": "s", "product": "p"}},
            "missing_bugs": [1], "changes_without_bugs": [{"package": "p", "version": "v",
                                                           "repo": "r", "entry": "e"}],
            "smetest_newer": [{"package": "p", "version": "v"}]}


# -- the release board inside Airflow -------------------------------------------------------

@pytest.fixture
def client(airflow_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # noqa: F811
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"releng": "rel-pw"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "releng:user")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    purge_cached_app()
    with TestClient(create_app("core")) as test_client:
        yield test_client
    purge_cached_app()


def _headers(client: Any) -> dict[str, str]:
    answer = client.post("/auth/token", json={"username": "releng", "password": "rel-pw"})
    assert answer.status_code in (200, 201), answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _assert_csp(response: Any) -> None:
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    # The plugin's own script file only (updraft.js): never inline script, never eval.
    assert "script-src 'self';" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_release_board_escapes_a_hostile_analysis_and_sends_a_csp(
        client, hostile, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, analysis, _ = hostile
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
    headers = _headers(client)
    reports = engine.layout.state_dir / "release"
    store(analysis, reports, "SME Server")
    page = client.get("/updraft/release/9", headers=headers)
    assert page.status_code == 200
    _assert_csp(page)
    audit = Audit(page.text)
    audit.assert_inert()
    _assert_shown_as_text(audit)
    assert 'href="/dags/release_updates"' in page.text

    poisoned = _poison(analysis.to_json(), EVERYTHING)
    poisoned["release"] = "9"
    (reports / "release-9.json").write_text(json.dumps(poisoned))
    page = client.get("/updraft/release/9", headers=headers)
    assert page.status_code == 200
    Audit(page.text).assert_inert()
    assert EVERYTHING in Audit(page.text).text


def test_every_board_response_carries_the_csp(client, hostile,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _, _ = hostile
    monkeypatch.setenv("UPDRAFT_ROOT", str(engine.layout.root))
    headers = _headers(client)
    index = client.get("/updraft/release/", headers=headers)
    assert index.status_code == 200
    Audit(index.text).assert_inert()
    unknown = client.get(f"/updraft/release/{HOSTILE['script']}", headers=headers)
    assert unknown.status_code == 404
    for response in (index, unknown, client.get("/updraft/release/9"),
                     client.get("/updraft/release/9.json", headers=headers)):
        _assert_csp(response)
    assert client.get("/updraft/release/9").status_code == 401


# -- gate bodies (Markdown) -----------------------------------------------------------------

class _TI:
    def __init__(self, pushed: dict[str, Any]) -> None:
        self.pushed = pushed

    def xcom_pull(self, task_ids: str) -> Any:
        return self.pushed.get(task_ids)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gates run up to the point where they would wait for a person: the body is made."""
    from airflow.providers.standard.operators.hitl import HITLOperator

    from updraft_airflow.gate_record import RecordedGate

    monkeypatch.setattr(HITLOperator, "execute", lambda self, context: self.body)
    # The question's ledger row is test_gate_forgery's subject, not this file's.
    monkeypatch.setattr(RecordedGate, "record_question", lambda self, *args, **kwargs: None)


def _rendered(body: str) -> Audit:
    from markdown_it import MarkdownIt

    # The worst case: a renderer that passes raw HTML through, with GFM tables and ~~.
    renderer = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return Audit(renderer.render(body))


def _assert_quoted(body: str, *shown: str, links: tuple[str, ...] = ()) -> None:
    audit = _rendered(body)
    audit.assert_inert()
    assert [link for link in audit.links] == list(links), audit.links
    for text in shown:
        assert text in audit.text, f"{text!r} is not shown as it is"


def test_the_promote_gate_quotes_families_and_cannot_be_broken_out_of_its_fence(asked) -> None:
    from updraft_airflow.gates import GoNoGoOperator

    gate = GoNoGoOperator(task_id="approve", target="smeupdates",
                          config_path=str(treekit.CONFIG_FILE))
    plan = {"families": [HOSTILE["img"], "[x](javascript:alert(1))", "# heading", "![i](/x.png)"],
            "actions": 2, "digest": "`<b>`",
            "preview": f"move a\n```\n{HOSTILE['script']}\n````\n[y](http://evil.example/)"}
    body = gate.execute({"ti": _TI({"plan": plan})})
    _assert_quoted(body, HOSTILE["img"], "[x](javascript:alert(1))", "# heading",
                   "![i](/x.png)", HOSTILE["script"], "[y](http://evil.example/)")
    assert "<h1>" not in _rendered_html(body)


def _rendered_html(body: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(body)


def test_the_release_gate_quotes_names_reasons_and_refuses_a_script_link(asked) -> None:
    from updraft_airflow.gates import ReleaseGateOperator

    gate = ReleaseGateOperator(task_id="go", release="9", config_path=str(treekit.CONFIG_FILE))
    analysed = {"options": [f"e-smith{HOSTILE['svg']}", "a`b"],
                "held": [{"name": HOSTILE["img"], "candidate": "1`", "releasable": HOSTILE["jinja"],
                          "why": [f"bug 7001: {EVERYTHING}", "[SME: 1](javascript:x) **b**"]}]}
    report = {"page": HOSTILE["javascript_url"], "report": f"/s/{HOSTILE['script']}.html"}
    body = gate.execute({"ti": _TI({"analyse": analysed, "report": report})})
    _assert_quoted(body, f"e-smith{HOSTILE['svg']}", "a`b", HOSTILE["jinja"], EVERYTHING,
                   "[SME: 1](javascript:x) **b**")
    assert "<strong>b</strong>" not in _rendered_html(body)
    assert "/s/" not in body  # no server file path in a gate (issue 18 §3): the board links

    report["page"] = "/updraft/release/9"
    body = gate.execute({"ti": _TI({"analyse": analysed, "report": report})})
    _assert_quoted(body, links=("/updraft/release/9",))


def test_build_and_sign_gates_quote_the_plan_and_package_names(asked) -> None:
    from updraft_airflow.gates import BuildGateOperator, SignGateOperator

    config = str(treekit.CONFIG_FILE)
    build = BuildGateOperator(task_id="build_gate", config_path=config)
    body = build.execute({"ti": _TI({"verify": {"plan": ["```", HOSTILE["script"], "```"]}})})
    _assert_quoted(body, HOSTILE["script"])
    sign = SignGateOperator(task_id="sign_gate", config_path=config)
    report = {"build_id": f"b`{HOSTILE['img']}", "rpms": [HOSTILE["svg"], "x](javascript:1)"]}
    body = sign.execute({"ti": _TI({"report": report})})
    _assert_quoted(body, f"b`{HOSTILE['img']}", HOSTILE["svg"], "x](javascript:1)")


def test_the_iso_gate_quotes_contents_warnings_and_file_names(asked) -> None:
    from updraft_airflow.iso_gate import IsoApprovalOperator

    gate = IsoApprovalOperator(task_id="approve", config_path=str(treekit.CONFIG_FILE))
    pushed = {"stage": {"lines": [HOSTILE["script"], "packages: x86_64: 3"]},
              "preflight": {"warnings": [f"{HOSTILE['img']}\n# injected heading"]},
              "build_iso": [{"sha256": "ab" * 32, "size": 7,
                             "iso": f"/x/```\n{HOSTILE['svg']}.iso"}]}
    body = gate.execute({"ti": _TI(pushed)})
    _assert_quoted(body, HOSTILE["script"], "packages: x86_64: 3", HOSTILE["img"],
                   HOSTILE["svg"])
    assert "<h1>" not in _rendered_html(body)


def test_markdown_helpers_keep_every_value_one_inert_piece() -> None:
    for value in [*HOSTILE.values(), "x``y`", "` lead", "1. item", "- item", "+ x", "a\n===",
                  "see http://evil.example/ and www.evil.example", "m@evil.example",
                  "a | b", "~~gone~~", "&lt;script&gt;", "\\<script>"]:
        for quoted in (markup.md_text(value), markup.md_code(value)):
            html = _rendered_html(f"- {quoted}")
            audit = Audit(html)
            audit.assert_inert()
            assert not audit.links, (value, html)
            assert " ".join(value.split("\n")) in audit.text, (value, html)
            assert html.count("<li>") == 1 and "<h" not in html, (value, html)


def test_every_app_of_the_plugin_sends_the_security_headers() -> None:
    """One middleware on every plugin app: a page added later cannot forget it."""
    from fastapi.testclient import TestClient
    from updraft_plugin import UpdraftPlugin

    apps = UpdraftPlugin().fastapi_apps
    assert apps
    for entry in apps:
        with TestClient(entry["app"]) as test_client:
            _assert_csp(test_client.get(f"/no-such-page/{HOSTILE['script']}"))

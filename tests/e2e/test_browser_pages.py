"""updraft's pages in the Airflow UI, in Debian's headless Chromium (issue 18): each role
logs in, opens every page from Browse, sees the deployment's real data (its tree and
ledger), follows a family link inside the page and a UI link out of it into the UI
itself; the release manager starts release_updates with the board's button; hostile
ledger text stays text. Screenshots of every page go to tests/artifacts/."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Dialog, Frame, Page, expect

from tests.kits import browser, treekit
from tests.kits.deployment import BUGZILLA_KEY, Deployment
from updraft.config.dist import load_config
from updraft.engine.layout import Layout
from updraft.ledger.gates import GateRecords, Question
from updraft.ledger.store import Ledger
from updraft.release.analysis import analyse
from updraft.release.rnotes import store
from updraft.release.tracker import BugTracker
from updraft_airflow import users as access

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

HOSTILE = '<img src=x onerror="window.__xss=1">'
PAGES = [("Packages", "packages", "clamav"), ("Gates", "gates", "clamav" + HOSTILE),
         ("Release board", "release-board", "SME Server 9"), ("Repos", "repos", "smeupdates")]


@pytest.fixture(scope="module")
def hostile_gate(deployment: Deployment) -> None:
    """A gate waiting in the ledger whose family name is markup, and release 9 analysed
    against the deployment's Bugzilla (what release_updates' report step stores)."""
    layout = Layout(load_config(treekit.CONFIG_FILE), deployment.tree)
    tracker = BugTracker(deployment.bugzilla.url, api_key=BUGZILLA_KEY)
    store(analyse(layout, "9", tracker), layout.state_dir / "release", "SME Server")
    with Ledger.open(layout.ledger_url) as ledger:
        GateRecords(ledger).ask(Question(
            run="airflow:promote/manual__hostile", dag_id="promote", run_id="manual__hostile",
            task_id="approve", kind="promote", release="9", target="smeupdates",
            family="clamav" + HOSTILE, digest="d", assigned=["releng"]),
            datetime.now(UTC))


def _open(page: Page, name: str) -> Frame:
    """Browse → <name>: the page in the UI's iframe, loaded."""
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name=name, exact=True).click()
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_be_visible(timeout=browser.STEP)
    found = next(f for f in page.frames if "/updraft/" in f.url)
    return found


def _shoot(page: Page, name: str) -> None:
    browser.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(browser.ARTIFACTS / f"page-{name}.png"))


def _users(deployment: Deployment) -> list[str]:
    return [u.name for u in access.airflow_users(load_config(treekit.CONFIG_FILE))]


def test_every_role_sees_every_page_inside_the_ui(deployment: Deployment,
                                                  hostile_gate: None) -> None:
    stack = deployment.stack
    with browser.chromium() as chromium:
        for user in _users(deployment):
            page = chromium.new_page(viewport={"width": 1400, "height": 900})
            dialogs: list[str] = []  # an alert() from data would land here

            def seen(dialog: Dialog, found: list[str] = dialogs) -> None:
                found.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", seen)
            with browser.screenshot_on_failure(page, f"pages-{user}"):
                browser.log_in(page, stack.url, user, stack.passwords[user])
                for menu, slug, shown in PAGES:
                    frame = _open(page, menu)
                    expect(page.frame_locator("iframe").get_by_text(shown).first) \
                        .to_be_visible(timeout=browser.STEP)
                    assert frame.evaluate("window.__xss") is None
                    if slug == "release-board":  # the index, then release 9's board
                        page.frame_locator("iframe").get_by_role(
                            "link", name="SME Server 9").click()
                        expect(page.frame_locator("iframe").get_by_text(
                            "Verified package versions")).to_be_visible(timeout=browser.STEP)
                    _shoot(page, f"{slug}-{user}")
            assert dialogs == []
            page.close()


def test_links_and_the_start_button_work_inside_the_ui(deployment: Deployment,
                                                       hostile_gate: None) -> None:
    stack = deployment.stack
    with browser.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        with browser.screenshot_on_failure(page, "pages-links"):
            browser.log_in(page, stack.url, "releng", stack.passwords["releng"])
            # A family link stays in the frame: the Family page with its timeline.
            _open(page, "Packages")
            inner = page.frame_locator("iframe")
            inner.get_by_role("link", name="clamav", exact=True).first.click()
            expect(inner.get_by_role("heading", name="Family clamav")).to_be_visible(
                timeout=browser.STEP)
            expect(inner.get_by_text("Timeline")).to_be_visible()
            _shoot(page, "family-releng")
            # The gate's Answer link leaves the frame: the UI itself shows the run's task.
            _open(page, "Gates")
            page.frame_locator("iframe").get_by_role("link", name="Answer").first.click()
            expect(page).to_have_url(
                f"{stack.url}/dags/promote/runs/manual__hostile/tasks/approve/required_actions",
                timeout=browser.STEP)
            # The fixture's run does not exist in Airflow, so the UI goes on to redirect
            # to the task's default tab; a menu click made meanwhile was undone by it (CI).
            page.goto(stack.url)
            # Start on the board: release_updates runs, and the UI shows the new run.
            _open(page, "Release board")
            page.frame_locator("iframe").get_by_role("link", name="SME Server 9").click()
            start = page.frame_locator("iframe").get_by_role("button",
                                                             name="Start release_updates")
            expect(start).to_be_enabled(timeout=browser.STEP)
            start.click()
            expect(page).to_have_url(
                re.compile(rf"{stack.url}/dags/release_updates/runs/.+"),
                timeout=browser.STEP)
            _shoot(page, "board-started-releng")
        runs = deployment.api.ok("GET", "/api/v2/dags/release_updates/dagRuns")["dag_runs"]
        assert any(run["conf"] == {"release": "9"} for run in runs)

        # A packager may read the board but not start a release.
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        with browser.screenshot_on_failure(page, "pages-packager"):
            browser.log_in(page, stack.url, "packager", stack.passwords["packager"])
            _open(page, "Release board")
            page.frame_locator("iframe").get_by_role("link", name="SME Server 9").click()
            expect(page.frame_locator("iframe").get_by_role(
                "button", name="Start release_updates")).to_be_disabled()

"""Debian's headless Chromium driven by playwright's Python client: no browser download
(`executable_path` is /usr/bin/chromium, from the Makefile's APT_PACKAGES).

The page steps a release manager takes in the Airflow UI, as functions a test strings
together: log in, open Browse → Required Actions, open a gate, answer it, watch its run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Headless, as root, and quiet on a machine without internet: without the
# background-networking flags Chromium keeps trying Google's hosts.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FINAL = re.compile(r"^\s*(Success|Failed)\s*$")
STEP = 30_000  # ms for one page step (a 2-core machine running six Airflow processes)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `make system` installs Debian's "
                                "chromium (APT_PACKAGES)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[Page]:
    """Saves tests/artifacts/<name>.png (full page) when the block raises."""
    try:
        yield page
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


def log_in(page: Page, url: str, user: str, password: str) -> None:
    """The auth manager's login page (FAB's "Username:"/"Sign In" form, or
    SimpleAuthManager's "Username"/"Sign in"), then the UI's home page."""
    page.goto(url + "/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Browse")).to_be_visible(timeout=STEP)


def open_required_actions(page: Page) -> None:
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Required Actions").click()
    expect(page.get_by_text("Required Action State")).to_be_visible(timeout=STEP)


def answer_required_action(page: Page, subject: str, option: str) -> None:
    """Open the gate whose subject starts with `subject` and click `option`."""
    page.get_by_role("link", name=subject).first.click()
    button = page.get_by_role("button", name=option, exact=True)
    expect(button).to_be_enabled(timeout=STEP)
    button.click()
    expect(page.get_by_text("Response received at")).to_be_visible(timeout=STEP)


def wait_for_run_state(page: Page, url: str, dag_id: str, run_id: str,
                       timeout: float = 240) -> str:
    """The state badge of the run's page once it is final (the page is reloaded now and
    then in case the UI's auto-refresh has stopped)."""
    page.goto(f"{url}/dags/{dag_id}/runs/{run_id}")
    badge = page.get_by_role("heading", name=run_id, exact=True).locator("xpath=..") \
        .get_by_test_id("state-badge")
    deadline = time.monotonic() + timeout
    while True:
        try:
            expect(badge).to_have_text(FINAL, timeout=5_000)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()
            continue
        return badge.inner_text().strip()

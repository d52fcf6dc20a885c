"""A release manager answers the Go/NoGo in the Airflow UI, in headless Chromium: log in,
Browse → Required Actions, open the gate, Approve, and watch the run turn green."""

from __future__ import annotations

import pytest

from tests.kits import browser, treekit
from tests.kits.deployment import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PACKAGE = "e-smith-base-5.6.0-17.el6.sme"


def test_release_manager_approves_the_go_nogo_in_the_ui(deployment: Deployment) -> None:
    api, tree = deployment.api, deployment.tree
    run = api.trigger("promote", {"package": PACKAGE, "target": "smeupdates", "release": "9"},
                      user="packager")
    api.wait_for_gate(run, "approve")

    with browser.chromium() as chromium:
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        with browser.screenshot_on_failure(page, "go_nogo_in_required_actions"):
            browser.log_in(page, deployment.stack.url, "releng",
                           deployment.stack.passwords["releng"])
            browser.open_required_actions(page)
            browser.answer_required_action(page, f"Go/NoGo: promote {PACKAGE}", "Approve")
            state = browser.wait_for_run_state(page, deployment.stack.url, run.dag_id,
                                               run.run_id)
            assert state == "Success", api.explain(run)

    detail = api.ok("GET", f"{run.path}/taskInstances/approve/-1/hitlDetails")
    assert detail["responded_by_user"]["name"] == "releng"  # the id is FAB's row number
    assert detail["chosen_options"] == ["Approve"]
    for arch in ("i386", "x86_64"):
        rpm = f"{PACKAGE}.noarch.rpm"
        assert (tree / f"9/smeupdates/{arch}/RPMS/{rpm}").is_file()
        assert f"RPMS/{rpm}" in treekit.repo_hrefs(tree / f"9/smeupdates/{arch}")

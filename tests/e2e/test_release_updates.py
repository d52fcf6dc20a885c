"""release_updates end to end on the Celery stack: the analysis asks the Bugzilla stand-in
(connection updraft_bugzilla in the metadata DB), the Go/NoGo is the release managers'
alone (a packager gets 403), the chosen families land in smeupdates with an advisory in
its updateinfo, the release note is mailed and the bug closed."""

from __future__ import annotations

import pytest

from tests.kits import treekit
from tests.kits.deployment import FIXED_BUG, Deployment
from updraft.release.advisory import read_back

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FIX = "smeserver-e2e-1.0-1.el6.sme"


def test_release_updates_through_the_rest_api(deployment: Deployment) -> None:
    api, tree = deployment.api, deployment.tree
    run = api.trigger("release_updates", {"release": "9"}, user="releng")
    question = api.wait_for_gate(run, "go_nogo")
    assert question["assigned_users"] == [{"id": "releng", "name": "releng"}]
    assert question["multiple"] is True
    offered = question["options"]
    assert FIX in offered and question["defaults"] == offered
    refused = api.answer_gate(run, "go_nogo", "packager", offered)
    assert refused.status_code == 403, refused.text
    assert api.answer_gate(run, "go_nogo", "releng", offered).status_code == 200
    assert api.wait_for(run) == "success", api.explain(run)

    for arch in ("i386", "x86_64"):
        rpm = f"{FIX}.noarch.rpm"
        assert (tree / f"9/smeupdates/{arch}/RPMS/{rpm}").is_file()
        assert f"RPMS/{rpm}" in treekit.repo_hrefs(tree / f"9/smeupdates/{arch}")
    advisories = read_back(tree / "9/smeupdates/x86_64")
    mine = [a for a in advisories if any(ref.id == str(FIXED_BUG) for ref in a.references)]
    assert len(mine) == 1 and mine[0].id.startswith("SME-")
    assert deployment.bugzilla.bugs[FIXED_BUG]["status"] == "CLOSED"
    # The release_notes task finished only once the SMTP server had taken the mail.
    subjects = [m["Subject"].strip() for m in deployment.mailbox.messages()]
    notes = [m for m in deployment.mailbox.messages() if m["Subject"].strip()
             == "[updatesannounce] SME Server 9 Update: smeserver-e2e-1.0-1"]
    assert notes, subjects
    assert "[ 1 ] Bug 9001 - The e2e tool forgets its settings" in notes[0].get_content()

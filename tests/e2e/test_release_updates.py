"""release_updates end to end on the Celery stack: the analysis asks the Bugzilla stand-in
(connection updraft_bugzilla in the metadata DB), the Go/NoGo is the release managers'
alone (a packager gets 403). A first run answered NoGo with a comment releases nothing,
ends green with the note "NoGo by releng: …" and leaves its decision in the ledger; the
next run's Go lands the chosen families in smeupdates with an advisory in its updateinfo,
mails the release note and closes the bug."""

from __future__ import annotations

import pytest

from tests.kits import treekit
from tests.kits.deployment import FIXED_BUG, Deployment
from tests.kits.stack_api import Run
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.ledger.gates import GateRecords
from updraft.ledger.release import ReleaseRecords
from updraft.release.advisory import read_back

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

FIX = "smeserver-e2e-1.0-1.el6.sme"
RPM = f"{FIX}.noarch.rpm"


def _ask(deployment: Deployment) -> tuple[Run, list[str]]:
    """A release run waiting at its Go/NoGo, and the families it proposes."""
    api = deployment.api
    run = api.trigger("release_updates", {"release": "9"}, user="releng")
    question = api.wait_for_gate(run, "go_nogo")
    assert question["assigned_users"] == [{"id": "releng", "name": "releng"}]
    # Go or NoGo; the families are the form's multiple choice, all proposed (issue 17)
    assert question["options"] == ["Approve", "Reject"], question
    offered = question["params"]["families"]["value"]
    assert FIX in offered, offered
    refused = api.answer_gate(run, "go_nogo", "packager", ["Approve"], {"families": offered})
    assert refused.status_code == 403, refused.text
    return run, offered


def test_release_updates_nogo_then_go_through_the_rest_api(deployment: Deployment) -> None:
    api, tree = deployment.api, deployment.tree
    ledger_url = Layout(treekit.sme_config(), tree).ledger_url

    # NoGo with a comment: nothing released, the run green, its note and the ledger say why.
    run, offered = _ask(deployment)
    answer = api.answer_gate(run, "go_nogo", "releng", ["Reject"],
                             {"families": offered, "comment": "bug 9001 wants QA first"})
    assert answer.status_code == 200, answer.text
    assert api.wait_for(run) == "success", api.explain(run)
    states = api.task_states(run)
    assert {states[t] for t in ("promote", "advisory", "release_notes", "record")} \
        == {"skipped"}, states
    # Below the note saying what the run is about (the run_notes listener's).
    note = api.ok("GET", run.path)["note"]
    assert note.endswith("\n\nNoGo by releng: bug 9001 wants QA first"), note
    assert not (tree / f"9/smeupdates/x86_64/RPMS/{RPM}").exists()
    with Ledger.open(ledger_url) as ledger:
        decisions = ReleaseRecords(ledger).decisions(f"airflow:release_updates/{run.run_id}")
        [answered] = [d for d in GateRecords(ledger).decisions("release")
                      if d.run == f"airflow:release_updates/{run.run_id}"]
    assert [(d["gate"], d["chosen"], d["by"]) for d in decisions] == [("go_nogo", [], "releng")]
    assert answered.nogo and answered.comment == "bug 9001 wants QA first"
    assert deployment.bugzilla.bugs[FIXED_BUG]["status"] == "VERIFIED"

    # Go: the proposed families are released.
    run, offered = _ask(deployment)
    answer = api.answer_gate(run, "go_nogo", "releng", ["Approve"],
                             {"families": offered, "comment": None})
    assert answer.status_code == 200, answer.text
    assert api.wait_for(run) == "success", api.explain(run)

    for arch in ("i386", "x86_64"):
        assert (tree / f"9/smeupdates/{arch}/RPMS/{RPM}").is_file()
        assert f"RPMS/{RPM}" in treekit.repo_hrefs(tree / f"9/smeupdates/{arch}")
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

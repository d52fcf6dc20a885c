"""dag.test() of build_package on a rebase-and-repatch policy (seed 000's initscripts):
a patch that no longer applies fails `verify` with the hunk in the log and mails the
policy's owner; nothing is asked, built or landed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits import rebasekit, treekit
from tests.kits.gatekit import Responder, clear_questions
from updraft.devkit.mailsink import MailSink

pytestmark = pytest.mark.timeout(240)

SYSINIT = rebasekit.DEFAULT_FILES["rc.sysinit"]


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


def test_a_patch_that_no_longer_applies_fails_and_mails_the_owner(
    dagbag, clamav_tree: Path, mailbox: MailSink, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    stale = rebasekit.make_patch(SYSINIT.replace("# step 3\n", "# step three\n"),
                                 SYSINIT.replace("# step 3\n", "# step 3 (SME)\n"),
                                 "rc.sysinit")
    config = rebasekit.rebase_config(tmp_path, {"sme-dmesg.patch": stale})
    monkeypatch.setenv("UPDRAFT_CONFIG", str(config))
    srpm = rebasekit.upstream_srpm(tmp_path / "upstream")
    before = treekit.rpm_files(clamav_tree)
    dag = dagbag.get_dag("build_package")
    responder = Responder([("build_gate", "Approve")]).attach(dag)
    responder.start()

    run = dag.test(run_conf={"release": "9", "package": str(srpm), "bug": "9001"})

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["verify"] == "failed" and states["build_gate"] == "upstream_failed"
    assert not responder.questions  # nobody was asked to build what cannot be prepared
    assert treekit.rpm_files(clamav_tree) == before
    [mail] = mailbox.wait_for(1, timeout=10)
    assert mail["To"] == rebasekit.OWNER
    assert mail["Subject"] == ("[updatesteam] Rebase failed: initscripts-9.03.49-1.el6.src.rpm:"
                               " sme-dmesg.patch no longer applies (sme9)")
    body = mail.get_content()
    assert "--- rejected hunk ---" in body and "-# step three" in body
    assert "-# step three" in "".join(capfd.readouterr())  # the hunk is in the task log too


def test_a_spec_patch_that_no_longer_applies_fails_verify_with_the_rejected_hunk(
    dagbag, clamav_tree: Path, mailbox: MailSink, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    """Issue 21.2, seed 000's samba: "if patch fails, you need to update the patch"."""
    from tests.kits.rebasekit import SAMBA_SPEC, samba_config, samba_srpm

    monkeypatch.setenv("UPDRAFT_CONFIG", str(samba_config(tmp_path)))
    moved_on = SAMBA_SPEC.replace("Requires: pyldb\n", "Requires: python2-pyldb\n")
    srpm = samba_srpm(tmp_path / "upstream", moved_on)
    before = treekit.rpm_files(clamav_tree)
    dag = dagbag.get_dag("build_package")
    responder = Responder([("build_gate", "Approve")]).attach(dag)
    responder.start()

    run = dag.test(run_conf={"release": "9", "package": str(srpm)})

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["verify"] == "failed" and states["build_gate"] == "upstream_failed"
    assert not responder.questions and treekit.rpm_files(clamav_tree) == before
    [mail] = mailbox.wait_for(1, timeout=10)
    assert mail["Subject"] == ("[updatesteam] Rebase failed: samba-4.6.2-12.el7.src.rpm: "
                               "samba/samba.spec.patch no longer applies (sme9)")
    body = mail.get_content()
    assert "Our spec patch samba/samba.spec.patch no longer applies to the new upstream " \
           "spec." in body and "+#Requires: pyldb" in body
    log = "".join(capfd.readouterr())
    assert "-Requires: pyldb\n+#Requires: pyldb" in log  # the .rej content, in the task log
    assert "update it in" in log

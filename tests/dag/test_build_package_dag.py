"""dag.test() of build_package: real rpmbuild builds on two arches, both gates answered
from a responder thread, a real passphrase-protected key, the tree, repodata, ledger
and the mails as a real SMTP server received them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.kits import buildkit, treekit
from tests.kits.gatekit import Responder, clear_questions, reports, run_note
from tests.kits.signing import SigningKey, make_key
from updraft.devkit.mailsink import MailSink
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.upstream.keyring import Keyring

pytestmark = pytest.mark.timeout(300)

PASSPHRASE = "correct horse battery staple 7731"
DIST = ".el6.sme"  # build.dist of release 9 in config/sme.yaml
NEW = f"0.97.7-1{DIST}"


@pytest.fixture(autouse=True)
def _no_earlier_questions(airflow_db: None) -> None:
    clear_questions()


@pytest.fixture(scope="module")
def gpg_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    # Short path: gpg-agent's sockets live in the GNUPGHOME (107-byte limit).
    return make_key(tmp_path_factory.mktemp("k"), "SME Release", passphrase=PASSPHRASE)


@pytest.fixture
def gpg_connection(gpg_key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> SigningKey:
    connection = {"conn_type": "generic", "login": gpg_key.fingerprint,
                  "password": PASSPHRASE, "extra": {"gnupghome": str(gpg_key.home)}}
    monkeypatch.setenv("AIRFLOW_CONN_UPDRAFT_GPG", json.dumps(connection))
    return gpg_key


def _run(dagbag, responder: Responder, **conf: object):
    dag = dagbag.get_dag("build_package")
    responder.attach(dag).start()
    run = dag.test(run_conf={"release": "9", **conf})
    responder.join(timeout=30)
    assert responder.error is None, responder.error
    states = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, set()).add(ti.state)
    return run, states


def _ledger_states(tree: Path) -> dict[str, str]:
    ledger = Ledger.open(Layout(treekit.sme_config(), tree).ledger_url)
    try:
        return {change.package: change.state for change in ledger.states(release="9")}
    finally:
        ledger.close()


def test_approved_build_is_signed_and_lands_in_smetest(
    dagbag, clamav_tree: Path, mailbox: MailSink, gpg_connection: SigningKey,
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    srpm = buildkit.srpm(tmp_path, "clamav", "0.97.7", "1", dist=DIST)
    responder = Responder([("build_gate", "Approve"), ("sign_gate", "Approve")])

    run, states = _run(dagbag, responder, package=str(srpm))

    assert run.state == "success", states
    assert states["build_x86_64"] == {"success"} and states["build_i386"] == {"success"}
    build_question = responder.questions["build_gate"]
    assert build_question["assignees"] == [{"id": "packager", "name": "packager"}]
    assert f"build clamav-{NEW}.src.rpm for release 9" in build_question["body"]
    assert "i386: --target i386 on queue build-i386" in build_question["body"]
    assert responder.questions["sign_gate"]["assignees"] == [{"id": "releng",
                                                              "name": "releng"}]
    # clamav is shipped: its binary goes to smetest; clamav-doc, a subpackage we do not
    # ship, waits in smedev (seed 000's php rule); the SRPM goes with both.
    landed = {
        f"9/smetest/x86_64/RPMS/clamav-{NEW}.x86_64.rpm",
        f"9/smetest/i386/RPMS/clamav-{NEW}.i386.rpm",
        f"9/smetest/SRPMS/clamav-{NEW}.src.rpm",
        f"9/smedev/x86_64/RPMS/clamav-doc-{NEW}.noarch.rpm",
        f"9/smedev/i386/RPMS/clamav-doc-{NEW}.noarch.rpm",
        f"9/smedev/SRPMS/clamav-{NEW}.src.rpm",
    }
    for path in landed:
        assert (clamav_tree / path).is_file(), path
    keyring = Keyring(tmp_path / "verify")
    keyring.load([gpg_connection.public])
    checks = keyring.check_packages([clamav_tree / path for path in sorted(landed)])
    assert {check.key_id for check in checks.values()} == {gpg_connection.key_id}, checks
    assert all(check.ok for check in checks.values()), checks
    assert f"RPMS/clamav-{NEW}.x86_64.rpm" in treekit.repo_hrefs(clamav_tree / "9/smetest/x86_64")
    states_now = _ledger_states(clamav_tree)
    assert states_now[f"clamav-{NEW}.x86_64.rpm"] == "signed/untested"
    mails = reports(mailbox.wait_for(4, timeout=10))  # and the two gates' mails
    subjects = [mail["Subject"] for mail in mails]
    assert f"[updatesteam] Build succeeded: clamav-{NEW} (sme9)" in subjects
    report = next(m for m in mails if m["Subject"] == "[updatesteam] Repository Update")
    assert f"copy from buildsys to smetest (clamav-{NEW}.x86_64.rpm)" in report.get_content()
    # The passphrase reached rpmsign through a file only: no log line carries it.
    logged = caplog.text + "".join(capfd.readouterr())
    assert "signed and verified" in logged
    assert PASSPHRASE not in logged
    for log_file in treekit.REPO.glob("airflow-home/logs/**/*"):
        if log_file.is_file():
            assert PASSPHRASE not in log_file.read_text(errors="replace")


def test_sign_rejected_lands_nothing(
    dagbag, clamav_tree: Path, mailbox: MailSink, gpg_connection: SigningKey,
    tmp_path: Path,
) -> None:
    srpm = buildkit.srpm(tmp_path, "clamav", "0.97.7", "1", dist=DIST)
    before = treekit.rpm_files(clamav_tree)
    responder = Responder([("build_gate", "Approve"), ("sign_gate", "Reject")])

    run, states = _run(dagbag, responder, package=str(srpm))
    assert run.state == "success" and run_note(run) == "NoGo by releng: (no comment)"

    assert states["report"] == {"success"} and states["sign_gate"] == {"success"}
    assert states["sign"] == {"skipped"} and states["land"] == {"skipped"}
    assert treekit.rpm_files(clamav_tree) == before
    assert _ledger_states(clamav_tree)[f"clamav-{NEW}.x86_64.rpm"] == "unsigned"
    [mail] = reports(mailbox.wait_for(3, timeout=10))  # and the two gates' mails
    assert mail["Subject"] == f"[updatesteam] Build succeeded: clamav-{NEW} (sme9)"


def test_compile_failure_mails_the_log_tail_and_stops(
    dagbag, clamav_tree: Path, mailbox: MailSink, gpg_connection: SigningKey,
    tmp_path: Path,
) -> None:
    srpm = buildkit.srpm(tmp_path, "clamav", "0.97.7", "1", broken=True, dist=DIST)
    before = treekit.rpm_files(clamav_tree)
    responder = Responder([("build_gate", "Approve")])

    run, states = _run(dagbag, responder, package=str(srpm), arches=["x86_64"])

    assert run.state == "failed"
    assert states["build_x86_64"] == {"failed"} and states["report"] == {"failed"}
    assert states["build_i386"] == {"skipped"}  # not asked for
    assert states["sign_gate"] == {"upstream_failed"}
    assert treekit.rpm_files(clamav_tree) == before
    assert _ledger_states(clamav_tree)[f"clamav-{NEW}.src.rpm"] == "build failed"
    [mail] = reports(mailbox.wait_for(2, timeout=10))  # and the build gate's mail
    assert mail["Subject"] == f"[updatesteam] Build FAILED: clamav-{NEW} (sme9)"
    body = mail.get_content()
    assert "x86_64:   FAILED: rpmbuild exited" in body
    assert "error:" in body.split("build.log ---", 1)[1]


def test_build_rejected_builds_nothing(
    dagbag, clamav_tree: Path, mailbox: MailSink, tmp_path: Path,
) -> None:
    srpm = buildkit.srpm(tmp_path, "kernel", "2.6.32", "754", dist=DIST)

    run, states = _run(dagbag, Responder([("build_gate", "Reject", {"comment": "no kernels"})]),
                       package=str(srpm))
    assert run.state == "success" and run_note(run) == "NoGo by packager: no kernels"

    assert states["build_x86_64"] == {"skipped"} and states["report"] == {"skipped"}
    assert states["sign"] == {"skipped"}
    assert _ledger_states(clamav_tree)[f"kernel-2.6.32-754{DIST}.src.rpm"] == "waiting"
    assert reports(mailbox.messages()) == []
    # The kernel policy's priority 10 reached the builders' queues (seed 004: "priority
    # during build process"); the other tasks keep Airflow's own weights.
    from airflow.models.taskinstance import TaskInstance

    dag = dagbag.get_dag("build_package")
    for ti in run.get_task_instances():
        if ti.task_id in ("build_x86_64", "build_i386", "report"):
            unhooked = TaskInstance(task=dag.get_task(ti.task_id), run_id=run.run_id,
                                    dag_version_id=ti.dag_version_id)  # Airflow's own weight
            bonus = 10 if ti.task_id != "report" else 0
            assert ti.priority_weight == unhooked.priority_weight + bonus, ti.task_id

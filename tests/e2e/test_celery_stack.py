"""End to end on real services: Airflow's api-server, scheduler, dag-processor, triggerer
and two Celery workers (builder: default + builder queues; signer: sign) on this
machine's PostgreSQL and Redis. Everything a person does goes through the REST API:
trigger, answer the gates as the assigned users, read the outcome."""

from __future__ import annotations

import time

import pytest

from tests.kits import buildkit, treekit
from tests.kits.deployment import PASSPHRASE, Deployment
from updraft.upstream.keyring import Keyring

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DIST = ".el6.sme"  # build.dist of release 9
NEW = f"0.97.7-1{DIST}"


def test_build_sign_land_then_go_nogo_promotion(deployment: Deployment, tmp_path) -> None:
    api, tree = deployment.api, deployment.tree
    started = time.monotonic()
    srpm = buildkit.srpm(tmp_path, "clamav", "0.97.7", "1", dist=DIST)

    # -- build_package: Build? (packagers) -> builds on their queues -> Sign? (signers) --
    build = api.trigger("build_package", {"package": str(srpm), "release": "9"},
                        user="packager")
    question = api.wait_for_gate(build, "build_gate")
    assert question["assigned_users"] == [{"id": "packager", "name": "packager"}]
    assert api.answer_gate(build, "build_gate", "releng", ["Approve"]).status_code == 403
    assert api.answer_gate(build, "build_gate", "packager", ["Approve"]).status_code == 200
    question = api.wait_for_gate(build, "sign_gate")
    assert question["assigned_users"] == [{"id": "releng", "name": "releng"}]
    assert api.answer_gate(build, "sign_gate", "packager", ["Approve"]).status_code == 403
    assert api.answer_gate(build, "sign_gate", "releng", ["Approve"]).status_code == 200
    assert api.wait_for(build) == "success", api.explain(build)

    # Celery routed each task by its queue; signing succeeded although only the signer
    # worker has the key's connection.
    queues = {task: api.task(build, task)["queue"]
              for task in ("verify", "build_x86_64", "build_i386", "sign", "land")}
    assert queues == {"verify": "default", "build_x86_64": "build-x86_64",
                      "build_i386": "build-i386", "sign": "sign", "land": "default"}
    landed = [f"9/smetest/x86_64/RPMS/clamav-{NEW}.x86_64.rpm",
              f"9/smetest/i386/RPMS/clamav-{NEW}.i386.rpm",
              f"9/smetest/SRPMS/clamav-{NEW}.src.rpm"]
    for path in landed:
        assert (tree / path).is_file(), path
    keyring = Keyring(tmp_path / "verify")
    keyring.load([deployment.key.public])
    checks = keyring.check_packages([tree / path for path in landed])
    assert all(check.ok and check.key_id == deployment.key.key_id
               for check in checks.values()), checks
    assert f"RPMS/clamav-{NEW}.x86_64.rpm" in treekit.repo_hrefs(tree / "9/smetest/x86_64")

    # -- promote into smeupdates: the Go/NoGo is the release managers' alone ----------
    promote = api.trigger("promote", {"package": f"clamav-{NEW}", "target": "smeupdates",
                                      "release": "9"}, user="packager")
    question = api.wait_for_gate(promote, "approve")
    assert question["assigned_users"] == [{"id": "releng", "name": "releng"}]
    assert "smeupdates" in question["subject"]
    refused = api.answer_gate(promote, "approve", "packager", ["Approve"])
    assert refused.status_code == 403, refused.text
    assert api.answer_gate(promote, "approve", "releng", ["Maybe"]).status_code == 400
    assert api.answer_gate(promote, "approve", "releng", ["Approve"]).status_code == 200
    assert api.answer_gate(promote, "approve", "releng", ["Reject"]).status_code == 409
    assert api.wait_for(promote) == "success", api.explain(promote)
    detail = api.ok("GET", f"{promote.path}/taskInstances/approve/-1/hitlDetails")
    assert detail["responded_by_user"]["name"] == "releng"  # the id is FAB's row number

    for arch in ("x86_64", "i386"):
        rpm = f"clamav-{NEW}.{arch}.rpm"
        assert (tree / f"9/smeupdates/{arch}/RPMS/{rpm}").is_file()
        assert f"RPMS/{rpm}" in treekit.repo_hrefs(tree / f"9/smeupdates/{arch}")
        assert not (tree / f"9/smetest/{arch}/RPMS/{rpm}").exists()

    # -- the mails, as the SMTP server received them ------------------------------------
    mails = deployment.mailbox.wait_for(3, timeout=60)
    subjects = [mail["Subject"] for mail in mails]
    assert f"[updatesteam] Build succeeded: clamav-{NEW} (sme9)" in subjects
    reports = [mail.get_content() for mail in mails
               if mail["Subject"] == "[updatesteam] Repository Update"]
    assert any(f"copy from buildsys to smetest (clamav-{NEW}.x86_64.rpm)" in text
               for text in reports), reports
    assert any("to smeupdates" in text and f"clamav-{NEW}.x86_64.rpm" in text
               for text in reports), reports

    # The passphrase never reached a task log (they are files under AIRFLOW_HOME/logs).
    for log in (deployment.stack.home / "logs").rglob("*"):
        if log.is_file():
            assert PASSPHRASE not in log.read_text(errors="replace"), log
    print(f"\ne2e: stack up in {deployment.stack.started_in:.1f} s, build + promotion "
          f"{time.monotonic() - started:.1f} s")

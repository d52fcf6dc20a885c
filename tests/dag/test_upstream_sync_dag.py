"""dag.test() of upstream_sync: a real signed upstream served on 127.0.0.1, the tree,
its repodata, the ledger, and the mails as a real SMTP server received them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits import treekit, upstreamkit
from tests.kits.httprepo import RepoServer
from tests.kits.signing import SigningKey
from tests.kits.upstreamkit import TZDATA_ADVISORY as ADVISORY
from updraft.devkit.mailsink import MailSink
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.ledger.upstream import UpstreamRecords

pytestmark = pytest.mark.timeout(240)



@pytest.fixture
def upstream(tmp_path: Path, families: dict[str, BuiltFamily], signed: dict[str, Path],
             keys: dict[str, SigningKey], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    files = [signed[p.name] for name in ("tzdata-new", "GeoIP-new") for p in
             families[name].files()]
    upstreamkit.publish(tmp_path / "served", files, advisories=[ADVISORY])
    with RepoServer(tmp_path / "served") as server:
        config = upstreamkit.config_with(
            tmp_path, [upstreamkit.centos(server.url, keys["centos"].public)])
        layout = Layout(config, tmp_path / "tree")
        for name, repo in upstreamkit.TREE.items():
            treekit.place(layout, "9", repo, families[name])
        engine = Engine(config, layout.root)
        assert engine.update_repos().ok
        monkeypatch.setenv("UPDRAFT_CONFIG", str(config.source_file))
        monkeypatch.setenv("UPDRAFT_ROOT", str(layout.root))
        yield engine, server


def _states(run) -> dict[str, str]:  # an Airflow DagRun
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): ti.state
            for ti in run.get_task_instances()}


def test_a_newer_upstream_version_lands_is_published_and_mailed(
        dagbag, upstream: tuple, mailbox: MailSink) -> None:
    engine, _ = upstream
    run = dagbag.get_dag("upstream_sync").test()

    assert run.state == "success", _states(run)
    states = _states(run)
    assert states["mirror[0]"] == "success" and states["land"] == "success"
    for arch in ("i386", "x86_64"):
        hrefs = treekit.repo_hrefs(engine.layout.repodata_dir("9", "smetest", arch))
        assert f"RPMS/tzdata-2012i-2.el5.{arch}.rpm" in hrefs
    mails = {mail["Subject"]: mail for mail in mailbox.wait_for(2, timeout=10)}
    report = mails["[updatesteam] Repository Update"].get_content().replace("\r\n", "\n")
    assert report.startswith("tzdata (sme9)\ncopy from centos to smetest "
                             "(tzdata-2012i-2.el5.i386.rpm)\n")
    assert "GeoIP-1.6.5-2.el5 from centos not landed: pinned at 1.4.8-1" in report
    security = mails["[updatesteam] Security update waiting: CESA-2012:1234 tzdata (sme9)"]
    assert "CVE-2012-0001" in security.get_content()
    with Ledger.open(engine.layout.ledger_url) as ledger:
        records = UpstreamRecords(ledger)
        assert records.source_state("9", "centos") == ("synced", "")
        assert [a.advisory for a in records.advisories("9", security_waiting=True)] == [
            "CESA-2012:1234"]


def test_an_unreachable_source_turns_the_run_red_and_lands_nothing(
        dagbag, upstream: tuple, mailbox: MailSink) -> None:
    engine, server = upstream
    server.stop()
    before = treekit.rpm_files(engine.layout.root)

    run = dagbag.get_dag("upstream_sync").test()

    states = _states(run)
    assert run.state == "failed", states
    assert states["mirror[0]"] == "failed" and states["sources_synced"] == "failed"
    assert states["land"] == "success"  # the other sources (none here) still land
    assert treekit.rpm_files(engine.layout.root) == before
    assert mailbox.messages() == []
    with Ledger.open(engine.layout.ledger_url) as ledger:
        assert UpstreamRecords(ledger).source_state("9", "centos")[0] == "unreachable"

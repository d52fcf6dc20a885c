"""dag.test() of security_reminder and security_announce (issue 17 §4): an upstream
security advisory (CESA, with a CVE) lands with tzdata; the reminder says how long it
has waited; once smeupdates carries tzdata the announcement gives the CVE, severity and
`yum update`, and the reminders stop. Mails as a real SMTP server received them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.kits import treekit, upstreamkit
from tests.kits.httprepo import RepoServer
from tests.kits.signing import SigningKey
from tests.kits.upstreamkit import TZDATA_ADVISORY as ADVISORY
from updraft.devkit.mailsink import MailSink
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.ledger import Ledger
from updraft.ledger.models import UpstreamAdvisory
from updraft.ledger.upstream import UpstreamRecords

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def landed(
    tmp_path: Path,
    families: dict[str, BuiltFamily],
    signed: dict[str, Path],
    keys: dict[str, SigningKey],
    monkeypatch: pytest.MonkeyPatch,
    mailbox: MailSink,
    dagbag,
) -> Iterator[Engine]:
    files = [signed[p.name] for p in families["tzdata-new"].files()]
    upstreamkit.publish(tmp_path / "served", files, advisories=[ADVISORY])
    with RepoServer(tmp_path / "served") as server:
        config = upstreamkit.config_with(
            tmp_path, [upstreamkit.centos(server.url, keys["centos"].public)]
        )
        layout = Layout(config, tmp_path / "tree")
        for name, repo in upstreamkit.TREE.items():
            treekit.place(layout, "9", repo, families[name])
        engine = Engine(config, layout.root)
        assert engine.update_repos().ok
        monkeypatch.setenv("UPDRAFT_CONFIG", str(config.source_file))
        monkeypatch.setenv("UPDRAFT_ROOT", str(layout.root))
        assert dagbag.get_dag("upstream_sync").test().state == "success"
        yield engine


def _run(dagbag, dag_id: str) -> dict[str, str]:
    run = dagbag.get_dag(dag_id).test()
    assert run.state == "success"
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def test_waiting_is_reminded_until_released_then_announced(
    dagbag,
    landed: Engine,
    mailbox: MailSink,
    families: dict[str, BuiltFamily],
) -> None:
    layout = landed.layout
    with Ledger.open(layout.ledger_url) as ledger, ledger.transaction() as session:
        session.execute(
            update(UpstreamAdvisory).values(
                at=datetime.now(UTC) - timedelta(days=2, hours=3, minutes=1)
            )
        )
    seen = len(mailbox.messages())

    assert _run(dagbag, "security_reminder") == {"remind": "success"}
    [reminder] = mailbox.wait_for(seen + 1, timeout=20)[seen:]
    assert reminder["Subject"] == (
        "[updatesteam] Security update waiting 2 days 3 hours: CESA-2012:1234 tzdata (sme9)"
    )
    body = reminder.get_content()
    assert "waiting: 2 days 3 hours since it landed" in body and "CVE-2012-0001" in body

    # Nothing released yet: no announcement.
    assert _run(dagbag, "security_announce") == {"announce": "skipped"}

    # The release puts tzdata into smeupdates (as release_updates' promotion does).
    treekit.place(layout, "9", "smeupdates", families["tzdata-new"])
    assert _run(dagbag, "security_announce") == {"announce": "success"}
    [announcement] = mailbox.wait_for(seen + 2, timeout=20)[seen + 1 :]
    assert " ".join(str(announcement["Subject"]).split()) == (
        "[security] SME Server 9 Security Update: tzdata-2012i-2.el5 (Important)"
    )
    assert announcement["To"] == "updatesannounce@contribs.org"
    text = announcement.get_content()
    assert "CVE-2012-0001" in text and "Upstream:         CESA-2012:1234" in text
    assert "  yum update tzdata" in text

    with Ledger.open(layout.ledger_url) as ledger:
        assert UpstreamRecords(ledger).advisories("9", security_waiting=True) == []
    assert _run(dagbag, "security_reminder") == {"remind": "skipped"}
    assert _run(dagbag, "security_announce") == {"announce": "skipped"}
    assert len(mailbox.messages()) == seen + 2

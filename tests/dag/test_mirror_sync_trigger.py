"""The triggerer's wait for the mirrors, re-created from its serialized form as the
triggerer does: each poll's checks land in the ledger of the config's tree (issue 18), and
a trigger serialized before they were recorded still runs, recording nothing."""

from __future__ import annotations

import asyncio
import importlib
import time
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.httprepo import RepoServer
from tests.kits.mirrorkit import template, write_repomd
from updraft.ledger import Ledger
from updraft.ledger.mirrors import MirrorRecords
from updraft.release.mirrors import master_revisions

pytestmark = pytest.mark.timeout(60)
REPO = "smeupdates-testing"


def _revive(trigger):  # what the triggerer does with the DB row
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


async def _events(trigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def test_each_poll_is_recorded_until_the_mirror_caught_up(clamav_tree: Path,
                                                          tmp_path: Path) -> None:
    from updraft.engine.layout import Layout
    from updraft_airflow.triggers import MirrorSyncTrigger

    layout = Layout(treekit.sme_config(), clamav_tree)
    masters = master_revisions(layout, "9", REPO, ["x86_64"])
    write_repomd(tmp_path / "mirror", "9", REPO, "x86_64", "1000")
    with RepoServer(tmp_path / "mirror") as mirror:
        def catch_up() -> None:
            write_repomd(tmp_path / "mirror", "9", REPO, "x86_64", masters["x86_64"])
        mirror.on_request("/9/smeupdates-testing/x86_64/repodata/repomd.xml", lambda: None)
        mirror.on_request("/9/smeupdates-testing/x86_64/repodata/repomd.xml", catch_up)
        trigger = _revive(MirrorSyncTrigger(
            [template(mirror)], "9", REPO, masters, 0.05, time.time() + 30,
            config_path=str(treekit.CONFIG_FILE), record=True))
        [event] = asyncio.run(_events(trigger))
        assert event["status"] == "synced"
        assert mirror.served.count("/9/smeupdates-testing/x86_64/repodata/repomd.xml") == 2

        with Ledger.open(layout.ledger_url) as ledger:
            [seen] = MirrorRecords(ledger).latest()
        assert (seen.mirror, seen.repo, seen.archdir, seen.have, seen.synced) == (
            template(mirror), REPO, "x86_64", masters["x86_64"], True)

        kwargs = MirrorSyncTrigger([template(mirror)], "9", REPO, masters, 0.05,
                                   time.time() + 30).serialize()[1]
        del kwargs["config_path"], kwargs["record"]  # a row written before issue 18
        [event] = asyncio.run(_events(MirrorSyncTrigger(**kwargs)))
        assert event["status"] == "synced"
    with Ledger.open(layout.ledger_url) as ledger:
        [again] = MirrorRecords(ledger).latest()
    assert again.checked_at == seen.checked_at  # the old form recorded nothing

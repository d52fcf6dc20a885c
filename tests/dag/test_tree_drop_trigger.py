"""The triggerer's watcher: a `cp` into the tree becomes one event, the way the triggerer
runs it (the trigger's async generator, re-created from its serialized form)."""

from __future__ import annotations

import asyncio
import importlib
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit

pytestmark = pytest.mark.timeout(60)


def _revive(trigger):  # what the triggerer does with the DB row
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def test_a_drop_becomes_one_event(clamav_tree: Path) -> None:
    from updraft_airflow.assets import tree_drops

    [watcher] = tree_drops(str(treekit.CONFIG_FILE), poll_interval=0.05).watchers
    trigger = _revive(watcher.trigger)

    async def first_event() -> dict:
        events = trigger.run()
        waiting = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)  # a few polls of the settled tree: nothing to say
        assert not waiting.done()
        shutil.copy(clamav_tree / "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm",
                    clamav_tree / "9/smeupdates-testing/")
        event = await asyncio.wait_for(waiting, timeout=30)
        await events.aclose()
        return event.payload

    payload = asyncio.run(first_event())

    assert payload == {"releases": ["9"], "root": str(clamav_tree)}

"""The triggerer's tree watcher, rebuilt from its serialized form as the triggerer does:
it fires once a `cp` into the tree has settled, and everything that reads the disk (the
first imports, the config, the stat walks) runs off the event loop, so Airflow's
"async thread was blocked" watchdog stays quiet."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from airflow._shared.module_loading import import_string  # what the triggerer uses

from tests.kits import treekit
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.watch import TreeWatch
from updraft_airflow import distribution
from updraft_airflow.triggers import TreeDropTrigger

pytestmark = pytest.mark.timeout(120)
CONFIG = Path(__file__).resolve().parents[2] / "config" / "sme.yaml"


async def _watchdog(gaps: list[float], stop: asyncio.Event) -> None:
    """Airflow's own check (triggerer_job_runner.block_watchdog): sleep 0.1 s, measure."""
    while not stop.is_set():
        started = time.monotonic()
        await asyncio.sleep(0.1)
        gaps.append(time.monotonic() - started - 0.1)


async def _first_event(trigger: Any, drop: Any, gaps: list[float]) -> Any:
    stop = asyncio.Event()
    dog = asyncio.create_task(_watchdog(gaps, stop))
    events = trigger.run()
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.5)  # the watcher has seen the settled tree at least once
    await asyncio.to_thread(drop)
    try:
        return await asyncio.wait_for(first, 60)
    finally:
        stop.set()
        await dog
        await events.aclose()


def test_the_tree_watcher_fires_off_the_event_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = treekit.sme_config()
    root = tmp_path / "tree"
    layout = Layout(config, root)
    treekit.place(layout, "9", "smetest",
                  treekit.build(treekit.noarch("e-smith-base", "5.0.0", "14"), tmp_path / "a"))
    assert Engine(config, root).update_repos().ok  # every release settled
    dropped = treekit.build(treekit.noarch("e-smith-pop3", "2.0.0", "2"), tmp_path / "b")
    monkeypatch.setenv("UPDRAFT_ROOT", str(root))

    on_loop: list[str] = []
    loop_thread: list[threading.Thread] = []

    def watched(function: Any, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() in loop_thread:
                on_loop.append(name)
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(distribution, "engine", watched(distribution.engine, "engine"))
    monkeypatch.setattr(TreeWatch, "poll", watched(TreeWatch.poll, "poll"))

    path, kwargs = TreeDropTrigger(config_path=str(CONFIG), poll_interval=0.2).serialize()
    trigger = import_string(path)(**kwargs)

    def drop() -> None:
        target = layout.binary_dir("9", "smetest", "i386")
        for rpm in dropped.binaries:
            shutil.copy2(rpm, target / rpm.name)

    gaps: list[float] = []

    async def main() -> Any:
        loop_thread.append(threading.current_thread())
        return await _first_event(trigger, drop, gaps)

    event = asyncio.run(main())
    assert event.payload == {"releases": ["9"], "root": str(root)}
    assert on_loop == []  # no stat walk, config read or engine set-up on the loop's thread
    # What Airflow warns about is a loop stalled for more than 0.1 s past its sleep; a
    # generous bound here, since other processes share this machine's two cores.
    assert max(gaps) < 1.0, gaps


def test_a_drop_wakes_the_watcher_before_its_poll(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file system's event, not the backstop poll (a minute here), announces a `cp`:
    two quiet `settle`s after the copy ends."""
    config = treekit.sme_config()
    root = tmp_path / "tree"
    layout = Layout(config, root)
    treekit.place(layout, "9", "smetest",
                  treekit.build(treekit.noarch("e-smith-base", "5.0.0", "14"), tmp_path / "a"))
    assert Engine(config, root).update_repos().ok
    dropped = treekit.build(treekit.noarch("e-smith-pop3", "2.0.0", "2"), tmp_path / "b")
    monkeypatch.setenv("UPDRAFT_ROOT", str(root))
    path, kwargs = TreeDropTrigger(config_path=str(CONFIG), poll_interval=60.0,
                                   settle=0.2).serialize()
    assert kwargs["settle"] == 0.2
    trigger = import_string(path)(**kwargs)
    dropped_at: list[float] = []

    def drop() -> None:
        target = layout.binary_dir("9", "smetest", "i386")
        for rpm in dropped.binaries:
            shutil.copy2(rpm, target / rpm.name)
        dropped_at.append(time.monotonic())

    async def main() -> Any:
        events = trigger.run()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(1.0)  # the first poll has run and the watch is listening
        await asyncio.to_thread(drop)
        try:
            return await asyncio.wait_for(first, 30), time.monotonic()
        finally:
            await events.aclose()

    event, fired_at = asyncio.run(main())
    assert event.payload == {"releases": ["9"], "root": str(root)}
    assert fired_at - dropped_at[0] < 10, "announced by the minute's poll, not the event"


def test_a_dir_deleted_and_made_again_is_watched_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A packager removes a directory of the tree and makes it again (or one is made
    after the watcher started): its inotify watch went with the old one, so a drop into
    it must not wait for the backstop poll (a minute here)."""
    config = treekit.sme_config()
    root = tmp_path / "tree"
    layout = Layout(config, root)
    treekit.place(layout, "9", "smetest",
                  treekit.build(treekit.noarch("e-smith-base", "5.0.0", "14"), tmp_path / "a"))
    assert Engine(config, root).update_repos().ok
    incoming = layout.binary_dir("9", "smetest", "i386") / "incoming"
    incoming.mkdir()
    dropped = treekit.build(treekit.noarch("e-smith-pop3", "2.0.0", "2"), tmp_path / "b")
    monkeypatch.setenv("UPDRAFT_ROOT", str(root))
    path, kwargs = TreeDropTrigger(config_path=str(CONFIG), poll_interval=60.0,
                                   settle=0.2).serialize()
    trigger = import_string(path)(**kwargs)
    dropped_at: list[float] = []

    def drop() -> None:
        for rpm in dropped.binaries:
            shutil.copy2(rpm, incoming / rpm.name)
        dropped_at.append(time.monotonic())

    async def main() -> Any:
        events = trigger.run()
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(1.0)  # the first poll has run and the watch is listening
        incoming.rmdir()
        await asyncio.sleep(1.0)  # the watcher saw it go (nothing to announce)
        incoming.mkdir()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(drop)
        try:
            return await asyncio.wait_for(first, 90), time.monotonic()
        finally:
            await events.aclose()

    event, fired_at = asyncio.run(main())
    assert event.payload == {"releases": ["9"], "root": str(root)}
    assert fired_at - dropped_at[0] < 10, "announced by the minute's poll, not the event"

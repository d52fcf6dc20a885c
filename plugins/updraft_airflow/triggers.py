"""Triggers: the triggerer's eye on the tree (TreeDropTrigger, behind the tree-drops
asset) and on the mirrors after a release (MirrorSyncTrigger)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent
from sqlalchemy.exc import SQLAlchemyError


class TreeDropTrigger(BaseEventTrigger):
    """Fires when files in a release changed and held still for one poll.

    Polls with a stat walk (no header is read; about 0.1 s for a few thousand packages),
    in a worker thread so the triggerer's event loop never blocks; the decision is
    updraft.engine.watch.TreeWatch's. The file system (inotify, through watchfiles)
    wakes it as soon as a repo dir changes: it polls once the dir has been quiet for
    `settle` seconds, and again `settle` seconds later to see the change hold still, so
    a `cp` is announced in about two `settle`s. `poll_interval` is the backstop where
    no event comes (NFS, a watch limit reached, a release dir made later).
    """

    def __init__(self, config_path: str, poll_interval: float = 5.0, settle: float = 0.5,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_path = config_path
        self.poll_interval = poll_interval
        self.settle = settle

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("updraft_airflow.triggers.TreeDropTrigger",
                {"config_path": self.config_path, "poll_interval": self.poll_interval,
                 "settle": self.settle})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Everything that touches the disk runs in a worker thread, the first imports
        # (rpm, createrepo_c, the config) included: the triggerer's loop serves every
        # other trigger meanwhile and never reports itself blocked.
        root, watch = await asyncio.to_thread(_tree_watch, self.config_path)
        self.log.info("watching %s every %g s and on every change", root, self.poll_interval)
        changed = asyncio.Event()
        listened = await asyncio.to_thread(watch.listened)
        listening = self._start(listened, changed)
        try:
            while True:
                try:
                    releases, now = await asyncio.to_thread(_look, watch)
                except OSError as exc:  # e.g. the tree's filesystem briefly gone: keep watching
                    self.log.warning("cannot scan %s: %s", root, exc)
                    releases, now = [], listened
                if now != listened:
                    # A directory made, or removed and made again: a watch lives and dies
                    # with its directory, so the listener starts over on the dirs as they are.
                    await self._stop(*listening)
                    listened = now
                    listening = self._start(listened, changed)
                if releases:
                    self.log.info("changes settled in releases %s", ", ".join(releases))
                    yield TriggerEvent({"releases": releases, "root": str(root)})
                await self._wait(changed, self.settle if watch.changing else self.poll_interval)
        finally:
            await self._stop(*listening)

    def _start(self, listened: list[tuple[Any, int]],
               changed: asyncio.Event) -> tuple[asyncio.Event, asyncio.Task[None]]:
        stop = asyncio.Event()
        dirs = [path for path, _ in listened]
        return stop, asyncio.create_task(self._listen(dirs, changed, stop))

    @staticmethod
    async def _stop(stop: asyncio.Event, listener: asyncio.Task[None]) -> None:
        """Ends the listener within a watch step (its thread sees `stop`), watches gone."""
        stop.set()
        try:
            await asyncio.wait_for(listener, 5)
        except TimeoutError:  # wait_for has cancelled it
            pass

    async def _wait(self, changed: asyncio.Event, longest: float) -> None:
        """Until `longest` has passed, or the file system changed and then was quiet for
        `settle` seconds (a copy under way keeps it waiting, up to `poll_interval`)."""
        try:
            await asyncio.wait_for(changed.wait(), longest)
        except TimeoutError:
            return
        quiet_by = time.monotonic() + self.poll_interval
        while time.monotonic() < quiet_by:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), self.settle)
            except TimeoutError:
                return

    async def _listen(self, dirs: list[Any], changed: asyncio.Event,
                      stop: asyncio.Event) -> None:
        """Set `changed` on every batch of file-system events in the repo dirs; without
        a usable watch the polls alone carry on."""
        if not dirs:
            return
        try:
            from watchfiles import awatch

            async for _batch in awatch(*dirs, watch_filter=None, debounce=200, step=50,
                                      recursive=False, stop_event=stop):
                changed.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # inotify limits, a vanished dir: polling still works
            self.log.warning("no file-system events, polling every %g s: %s",
                             self.poll_interval, exc)


def _look(watch: Any) -> tuple[list[str], list[tuple[Any, int]]]:
    """Blocking: the releases to announce, and the dirs to listen to now."""
    return watch.poll(), watch.listened()


def _tree_watch(config_path: str) -> tuple[Any, Any]:
    """The tree's root and a TreeWatch on it (blocking: imports, config, ledger path)."""
    from updraft.engine.watch import TreeWatch
    from updraft_airflow import distribution

    engine = distribution.engine(config_path, "watch")
    return engine.layout.root, TreeWatch(engine.layout, engine.settled)


class MirrorSyncTrigger(BaseTrigger):
    """Polls every mirror's repomd.xml until each carries the master's revision.

    One GET per mirror and arch dir per poll, in a worker thread (urllib); yields
    `synced` with the last check, or `timeout` with the mirrors still behind. With
    `record`, each poll's checks are kept in the ledger of `config_path`'s tree (the Repos
    page shows them); a ledger that cannot be written is logged, never waited on.
    """

    def __init__(self, mirrors: list[str], release: str, repo: str, masters: dict[str, str],
                 poll_interval: float, deadline: float, config_path: str | None = None,
                 record: bool = False) -> None:
        super().__init__()
        self.mirrors = list(mirrors)
        self.release = release
        self.repo = repo
        self.masters = dict(masters)
        self.poll_interval = poll_interval
        self.deadline = deadline  # epoch seconds
        self.config_path = config_path
        self.record = record  # False in triggers serialized before checks were recorded

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("updraft_airflow.triggers.MirrorSyncTrigger",
                {"mirrors": self.mirrors, "release": self.release, "repo": self.repo,
                 "masters": self.masters, "poll_interval": self.poll_interval,
                 "deadline": self.deadline, "config_path": self.config_path,
                 "record": self.record})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from updraft.release.mirrors import check

        while True:
            checks = await asyncio.to_thread(check, tuple(self.mirrors), self.release,
                                             self.repo, self.masters)
            if self.record:
                await asyncio.to_thread(self._record, checks)
            behind = [c.line() for c in checks if not c.synced]
            if not behind:
                yield TriggerEvent({"status": "synced", "lines": [c.line() for c in checks]})
                return
            self.log.info("%d of %d mirror repos behind: %s", len(behind), len(checks),
                          "; ".join(behind))
            if time.time() + self.poll_interval > self.deadline:
                yield TriggerEvent({"status": "timeout", "lines": behind})
                return
            await asyncio.sleep(self.poll_interval)

    def _record(self, checks: list[Any]) -> None:
        """Blocking: the config, the ledger."""
        from datetime import UTC, datetime

        from updraft.config.dist import resolve_root
        from updraft.engine.layout import Layout
        from updraft.errors import UpdraftError
        from updraft.release.mirrors import record
        from updraft_airflow import distribution

        try:
            config = distribution.load(self.config_path)
            layout = Layout(config, resolve_root(config))
            record(layout.ledger_url, self.release, self.repo, checks, datetime.now(UTC))
        except (UpdraftError, OSError, SQLAlchemyError) as exc:
            self.log.warning("mirror checks not recorded in the ledger: %s", exc)

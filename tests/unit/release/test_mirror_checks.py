"""The release's mirror checks, recorded in the ledger (issue 18): what each mirror served,
over real HTTP on 127.0.0.1, including hostile mirrors (markup or a flood of text in the
revision, a huge answer, a slow drip, garbage instead of HTTP), bounded in size and time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.kits.httprepo import RepoServer
from tests.kits.mirrorkit import repomd_path, stop_listener, template, write_repomd
from updraft.engine.engine import Engine
from updraft.ledger import Ledger
from updraft.ledger.mirrors import MirrorRecords
from updraft.release import mirrors

pytestmark = pytest.mark.timeout(60)
REPO, ARCHES = "smeupdates-testing", ["i386", "x86_64"]
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MARKUP = '<script>alert("mirror")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def masters(engine: Engine) -> dict[str, str]:
    return mirrors.master_revisions(engine.layout, "9", REPO, ARCHES)


@pytest.fixture
def garbage() -> Iterator[str]:
    """Not an HTTP server: it answers every connection with a line of markup."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(4096)
                connection.sendall(f"{MARKUP}\r\n\r\n".encode())

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/{{release}}/{{repo}}/{{arch}}"
    stop_listener(listener, server)


def test_each_check_is_recorded_per_mirror_and_arch_dir(
        engine: Engine, masters: dict[str, str], tmp_path: Path) -> None:
    lagging_root = tmp_path / "lagging"
    for archdir in ARCHES:
        write_repomd(lagging_root, "9", REPO, archdir, "1000")
    with RepoServer(engine.layout.root) as synced, RepoServer(lagging_root) as lagging, \
            RepoServer(tmp_path / "empty") as missing:
        templates = (template(synced), template(lagging), template(missing))
        checks = mirrors.check(templates, "9", REPO, masters, timeout=5)
        mirrors.record(engine.layout.ledger_url, "9", REPO, checks, T0)
        down = template(missing)
    with Ledger.open(engine.layout.ledger_url) as ledger:
        seen = {(s.mirror, s.archdir): s for s in MirrorRecords(ledger).latest()}
    assert len(seen) == 6
    for archdir in ARCHES:
        ok = seen[(template(synced), archdir)]
        assert ok.synced and ok.have == masters[archdir] and ok.error == ""
        assert ok.url == f"{synced.url}{repomd_path('9', REPO, archdir)}"
        assert ok.checked_at == T0 and ok.release == "9" and ok.repo == REPO
        behind = seen[(template(lagging), archdir)]
        assert not behind.synced and (behind.have, behind.want) == ("1000", masters[archdir])
        gone = seen[(down, archdir)]
        assert not gone.synced and gone.have == "" and gone.error == "HTTP Error 404: Not Found"

    # The next poll overwrites each mirror's row: the lagging one caught up, one is down.
    with RepoServer(engine.layout.root) as caught_up:
        later = mirrors.check((template(caught_up),), "9", REPO, masters, timeout=5)
    stopped = mirrors.check((template(caught_up),), "9", REPO, masters, timeout=5)
    for check in later:  # recorded under the lagging mirror's template
        mirrors.record(engine.layout.ledger_url, "9", REPO, [
            mirrors.MirrorCheck(template(lagging), check.archdir, check.url, check.want,
                                check.have, check.error)], T0 + timedelta(minutes=1))
    mirrors.record(engine.layout.ledger_url, "9", REPO, stopped, T0 + timedelta(minutes=2))
    with Ledger.open(engine.layout.ledger_url) as ledger:
        seen = {(s.mirror, s.archdir): s for s in MirrorRecords(ledger).latest()}
    assert len(seen) == 8
    assert all(seen[(template(lagging), a)].synced for a in ARCHES)
    assert seen[(template(lagging), "x86_64")].checked_at == T0 + timedelta(minutes=1)
    refused = seen[(template(caught_up), "x86_64")]
    assert not refused.synced and "refused" in refused.error.lower(), refused.error


def test_a_hostile_revision_is_kept_as_one_short_line_of_text(
        engine: Engine, masters: dict[str, str], tmp_path: Path) -> None:
    write_repomd(tmp_path / "m", "9", REPO, "i386", MARKUP)
    write_repomd(tmp_path / "m", "9", REPO, "x86_64", "1\n2\t" + "9" * 100_000)
    with RepoServer(tmp_path / "m") as hostile:
        checks = {c.archdir: c for c in mirrors.check((template(hostile),), "9", REPO,
                                                      masters, timeout=5)}
        mirrors.record(engine.layout.ledger_url, "9", REPO, checks.values(), T0)
    assert checks["i386"].have == MARKUP and not checks["i386"].synced  # text, for escaping
    assert checks["x86_64"].have == "1 2 " + "9" * (mirrors.REVISION_LIMIT - 4)
    with Ledger.open(engine.layout.ledger_url) as ledger:
        assert {s.have for s in MirrorRecords(ledger).latest()} == {
            MARKUP, checks["x86_64"].have}


def test_a_huge_or_slow_or_garbled_answer_is_cut_off(
        engine: Engine, masters: dict[str, str], tmp_path: Path, garbage: str) -> None:
    for archdir in ARCHES:
        write_repomd(tmp_path / "m", "9", REPO, archdir, "1000")
    with RepoServer(tmp_path / "m") as hostile:
        hostile.oversize[repomd_path("9", REPO, "i386")] = 200 << 20  # 200 MiB
        hostile.drip[repomd_path("9", REPO, "x86_64")] = 0.05  # 20 bytes a second
        started = time.monotonic()
        checks = {c.archdir: c for c in mirrors.check((template(hostile),), "9", REPO,
                                                      masters, timeout=2)}
        took = time.monotonic() - started
        flood = checks["i386"]
        assert flood.have is None and f"larger than {mirrors.REPOMD_LIMIT} bytes" in flood.error
        drip = checks["x86_64"]
        assert drip.have is None and "not served within the deadline" in drip.error
        assert took < 2 * 2 + 2, took  # each at most about twice the timeout, not for ever
    assert hostile.sent[repomd_path("9", REPO, "i386")] < 32 << 20  # it stopped reading
    garbled = mirrors.check((garbage,), "9", REPO, masters, timeout=2)
    assert all(c.have is None and c.error and "\n" not in c.error for c in garbled)
    mirrors.record(engine.layout.ledger_url, "9", REPO, [*checks.values(), *garbled], T0)
    with Ledger.open(engine.layout.ledger_url) as ledger:
        recorded = MirrorRecords(ledger).latest()
    assert len(recorded) == 4 and not any(s.synced for s in recorded)
    assert all(len(s.error) <= 300 for s in recorded)


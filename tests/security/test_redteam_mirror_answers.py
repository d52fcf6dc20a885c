"""Red team: a download mirror's answer to the release's sync check is hostile data.

Its whole answer, headers included, must come within the check's deadline: a mirror that
drips its status line and headers one byte at a time would otherwise hold the check (a
triggerer worker thread, shared with the tree watcher) for ever. And what is checked is
that mirror: a redirect to another host (the master, an internal address) is not its
state."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.kits.httprepo import RepoServer
from tests.kits.mirrorkit import stop_listener, template, write_repomd
from updraft.release import mirrors

pytestmark = pytest.mark.timeout(60)
REPO = "smeupdates"


@pytest.fixture
def header_drip() -> Iterator[str]:
    """Answers each request with a status line, then one header byte every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def one(connection: socket.socket) -> None:
        with connection:
            connection.recv(4096)
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
                while not stop.wait(0.2):
                    connection.sendall(b"x")
            except OSError:
                return

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(connection,), daemon=True).start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/{{release}}/{{repo}}/{{arch}}"
    stop.set()
    stop_listener(listener, server)


def test_a_mirror_dripping_its_headers_is_cut_off_at_the_deadline(header_drip: str) -> None:
    done: list[list[mirrors.MirrorCheck]] = []
    worker = threading.Thread(target=lambda: done.append(mirrors.check(
        (header_drip,), "9", REPO, {"x86_64": "1000"}, timeout=1.0)), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(8)
    assert not worker.is_alive(), "a header drip held the check past its deadline"
    assert time.monotonic() - started < 4
    [check] = done[0]
    assert check.have is None and not check.synced and check.error


class _Redirect(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # the name http.server dispatches to
        self.send_response(302)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_redirect_to_another_host_is_not_that_mirrors_state(tmp_path: Path) -> None:
    """A lagging mirror pointing the check at an up-to-date host (here the same port on
    another loopback address) is still behind; and it cannot aim the check anywhere."""
    write_repomd(tmp_path / "m", "9", REPO, "x86_64", "1000")
    with RepoServer(tmp_path / "m") as synced:
        other_host = synced.url.replace("127.0.0.1", "localhost")
        handler = type("Redirect", (_Redirect,), {"target": other_host})
        lagging = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=lagging.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{lagging.server_address[1]}/{{release}}/{{repo}}/{{arch}}"
            [check] = mirrors.check((url,), "9", REPO, {"x86_64": "1000"}, timeout=5)
            [same] = mirrors.check((template(synced),), "9", REPO, {"x86_64": "1000"},
                                   timeout=5)
        finally:
            lagging.shutdown()
            lagging.server_close()
    assert same.synced  # the real mirror, asked directly
    assert not check.synced and check.have is None
    assert "redirect" in check.error and "localhost" in check.error


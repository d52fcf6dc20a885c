"""A real HTTP server for tests: serves a directory on 127.0.0.1 with Range support and
fault injection (truncated bodies, error statuses, a server that is down, files that
change mid-sync), and records what it served so tests can assert on requests.

    with RepoServer(tmp_path / "upstream") as server:
        server.truncate["/9/x/foo.rpm"] = 1200
        fetch(f"{server.url}/9/x/foo.rpm", ...)
        assert server.served == ["/9/x/foo.rpm"]
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RepoServer:
    """Serves a directory over HTTP on 127.0.0.1 (ephemeral port) in a background thread,
    with Range support and fault injection. Context manager.

    Attributes tests may change at any time (paths are URL paths like "/9/x/foo.rpm"):
    truncate  path -> send only the first N body bytes, announcing the full Content-Length,
              then close the connection
    fail      path -> answer this HTTP status (404, 500, ...) instead of the file
    stall     paths whose requests are accepted but never answered until stop() (timeouts)
    accept_ranges  False: ignore Range headers and answer 200 with the whole file, like
              a server without Range support
    oversize  path -> announce and send this many bytes (the file, then padding): a
              hostile mirror filling the client's disk; `sent` counts what left
    drip      path -> send the body one byte every this many seconds (a connection kept
              alive for hours), until stop()
    alias     path as the client sent it ("/x/../../y.rpm", URL-decoded) -> file to serve:
              a hostile server answers whatever path its metadata names
    served    url paths of every GET, in order; ranges: every Range header received
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.truncate: dict[str, int] = {}
        self.fail: dict[str, int] = {}
        self.stall: set[str] = set()
        self.accept_ranges = True
        self.oversize: dict[str, int] = {}
        self.drip: dict[str, float] = {}
        self.sent: dict[str, int] = {}
        self.alias: dict[str, Path] = {}
        self.served: list[str] = []
        self.ranges: list[str] = []
        self.url = ""
        self._hooks: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RepoServer:
        # The constructor binds and listens, so clients can connect as soon as it returns:
        # no need to wait for the thread.
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.repo = self
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"RepoServer {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: the port then refuses connections (server down)."""
        if self._httpd is None:
            return
        self._stopping.set()  # releases stalled requests
        self._httpd.shutdown()
        self._httpd.server_close()
        assert self._thread is not None
        self._thread.join()
        self._httpd = self._thread = None

    def on_request(self, path: str, hook: Callable[[], None]) -> None:
        """Run `hook` once, just before the next request for `path` is served."""
        with self._lock:
            self._hooks.setdefault(path, []).append(hook)

    def __enter__(self) -> RepoServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _take_hook(self, path: str) -> Callable[[], None] | None:
        with self._lock:
            hooks = self._hooks.get(path)
            return hooks.pop(0) if hooks else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    repo: RepoServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # the name http.server dispatches to
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests read assertions, not an access log on stderr

    def _answer(self, with_body: bool) -> None:
        repo = self.server.repo
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        with repo._lock:
            if with_body:
                repo.served.append(path)
            if range_header is not None:
                repo.ranges.append(range_header)
        hook = repo._take_hook(path)
        if hook is not None:
            hook()
        if path in repo.stall:
            repo._stopping.wait()
            self.close_connection = True
            return
        if path in repo.fail:
            self._status_only(repo.fail[path], with_body)
            return
        if with_body and (path in repo.oversize or path in repo.drip):
            self._hostile(repo, path)
            return
        file = (repo.root / path.lstrip("/")).resolve()
        if path in repo.alias:
            file = repo.alias[path]
        elif not file.is_relative_to(repo.root) or not file.is_file():
            self._status_only(404, with_body)
            return
        data = file.read_bytes()
        status, start, end = 200, 0, len(data)
        match = _RANGE.match(range_header or "") if repo.accept_ranges else None
        if match:
            start = int(match[1])
            end = min(int(match[2]) + 1, len(data)) if match[2] else len(data)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if end > start:  # a "last < first" range is invalid: ignored, whole file sent
                status = 206
            else:
                start, end = 0, len(data)
        body = data[start:end]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if repo.accept_ranges:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if not with_body:
            return
        cut = repo.truncate.get(path)
        if cut is not None and cut < len(body):
            body = body[:cut]
            self.close_connection = True  # the client sees the connection end mid-body
        self.wfile.write(body)

    def _hostile(self, repo: RepoServer, path: str) -> None:
        file = repo.root / path.lstrip("/")
        data = file.read_bytes() if file.is_file() else b""
        total = repo.oversize.get(path, len(data))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            if path in repo.drip:
                for index in range(total):
                    if repo._stopping.wait(repo.drip[path]):
                        return
                    self.wfile.write(data[index:index + 1] or b"\0")
                    self.wfile.flush()
                    sent += 1
                return
            padding = bytes(1 << 16)
            self.wfile.write(data)
            sent = len(data)
            while sent < total:
                piece = padding[:total - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            pass  # the client hung up: what a client that stops reading does
        finally:
            with repo._lock:
                repo.sent[path] = sent

    def _status_only(self, status: int, with_body: bool) -> None:
        body = f"{status} {self.responses.get(status, ('',))[0]}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

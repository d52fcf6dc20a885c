"""A stand-in for Bugzilla's REST API (Bugzilla 5 shapes), on 127.0.0.1: for the tests,
for `make run`'s demo and for the end-to-end stack (`python -m updraft.devkit.bugzilla_standin`).

Bugzilla itself cannot run here; this serves the calls updraft makes, with the JSON
Bugzilla documents (https://bugzilla.readthedocs.io/en/5.0/api/core/v1/): GET /rest/version,
GET /rest/bug?id=…&include_fields=…&permissive=1 (bugs + faults: 101 no such bug,
102 access denied), GET /rest/bug/{id}, PUT /rest/bug/{id}, POST /rest/bug/{id}/comment.
Every call needs the API key (`Bugzilla_api_key` / `api_key` parameter or the
X-BUGZILLA-API-KEY header), as a Bugzilla that hides security bugs from anonymous users.
The client in the tests is the real python-bugzilla.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VERSION = "5.0.4"
DOCS = "https://bugzilla.readthedocs.io/en/5.0/api/"
CLOSED = ("RESOLVED", "VERIFIED", "CLOSED")


def bug(id: int, status: str, resolution: str = "", product: str = "SME Server",
        version: str = "9", summary: str = "", keywords: Iterable[str] = (),
        depends_on: Iterable[int] = (), blocks: Iterable[int] = ()) -> dict[str, Any]:
    """One bug as Bugzilla's REST API returns it (the fields updraft reads, and a few more)."""
    return {
        "id": id, "status": status, "resolution": resolution, "product": product,
        "version": version, "summary": summary or f"bug {id}", "keywords": list(keywords),
        "depends_on": list(depends_on), "blocks": list(blocks), "component": "Base",
        "classification": "Unclassified", "is_open": status not in CLOSED,
        "alias": [], "last_change_time": "2013-05-02T10:00:00Z",
    }


class _Refusal(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class BugzillaServer:
    """The stand-in: `with BugzillaServer({1: bug(1, "VERIFIED")}) as bz: bz.url`."""

    def __init__(self, bugs: dict[int, dict[str, Any]], api_key: str = "stand-in-key",
                 denied: Iterable[int] = frozenset(), port: int = 0) -> None:
        self.bugs = {int(bug_id): dict(raw) for bug_id, raw in bugs.items()}
        self.api_key = api_key
        self.denied = set(denied)
        self.comments: dict[int, list[str]] = {}
        self.log: list[tuple[str, str]] = []
        self.down = False
        # False: answer /rest/bug as Bugzilla 5's search does, leaving out what the key
        # may not see without a fault
        self.search_faults = True
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def requests_to(self, method: str, path: str) -> int:
        return sum(1 for entry in self.log if entry == (method, path))

    def __enter__(self) -> BugzillaServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    # --- Bugzilla's methods ---------------------------------------------------------

    def check_key(self, given: str | None) -> None:
        if not given:
            raise _Refusal(401, 410, "You must log in before using this part of Bugzilla.")
        if given != self.api_key:
            raise _Refusal(401, 306, "The API key you specified is invalid. Please check "
                                     "that you typed it correctly.")

    def _visible(self, bug_id: int) -> dict[str, Any]:
        if bug_id in self.denied:
            raise _Refusal(401, 102, f"You are not authorized to access bug #{bug_id}.")
        if bug_id not in self.bugs:
            raise _Refusal(404, 101, f"Bug #{bug_id} does not exist.")
        return self.bugs[bug_id]

    def get(self, ids: list[int], fields: list[str], permissive: bool) -> dict[str, Any]:
        found, faults = [], []
        for bug_id in ids:
            try:
                raw = self._visible(bug_id)
            except _Refusal as refusal:
                if not permissive:
                    raise
                faults.append({"id": bug_id, "faultString": refusal.message,
                               "faultCode": refusal.code})
                continue
            keep = set(fields) | {"id"} if fields else set(raw)
            found.append({name: value for name, value in raw.items() if name in keep})
        return {"bugs": found, "faults": faults}

    def update(self, bug_id: int, body: dict[str, Any]) -> dict[str, Any]:
        raw = self._visible(bug_id)
        status = body.get("status", raw["status"])
        resolution = body.get("resolution", raw["resolution"] if status in CLOSED else "")
        if status in CLOSED and not resolution:
            raise _Refusal(400, 32000, "You must specify a resolution.")
        changes = {}
        for name, value in (("status", status), ("resolution", resolution)):
            if raw[name] != value:
                changes[name] = {"removed": raw[name], "added": value}
                raw[name] = value
        raw["is_open"] = status not in CLOSED
        comment = body.get("comment")
        if isinstance(comment, dict):  # Bugzilla takes "body", and "comment" for compatibility
            text = comment.get("body", comment.get("comment"))
            if text:
                self.comments.setdefault(bug_id, []).append(str(text))
        return {"bugs": [{"id": bug_id, "alias": [], "changes": changes,
                          "last_change_time": "2013-05-03T10:00:00Z"}]}

    def add_comment(self, bug_id: int, body: dict[str, Any]) -> dict[str, Any]:
        self._visible(bug_id)
        text = body.get("comment")
        if not text:
            raise _Refusal(400, 54, "You must specify a comment.")
        self.comments.setdefault(bug_id, []).append(str(text))
        return {"id": sum(len(texts) for texts in self.comments.values())}


def _handler(server: BugzillaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            with server._lock:
                server.log.append((method, parts.path))
                if server.down:
                    self._answer(503, {"error": True, "message": "Service Unavailable"})
                    return
                try:
                    given = query.get("Bugzilla_api_key") or query.get("api_key")
                    key = given[0] if given else self.headers.get("X-BUGZILLA-API-KEY")
                    server.check_key(key)
                    self._answer(200, _route(server, method, parts.path, query, body))
                except _Refusal as refusal:
                    self._answer(refusal.status, {"error": True, "code": refusal.code,
                                                  "message": refusal.message,
                                                  "documentation": DOCS})

        def do_GET(self) -> None:  # http.server's names
            self._serve("GET")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler


def _listed(query: dict[str, list[str]], name: str) -> list[str]:
    """A list parameter, repeated (id=1&id=2) or comma-separated (id=1,2), as Bugzilla takes."""
    return [item for value in query.get(name, []) for item in value.split(",") if item]


def _route(server: BugzillaServer, method: str, path: str, query: dict[str, list[str]],
           body: dict[str, Any]) -> dict[str, Any]:
    steps = path.strip("/").split("/")
    if steps[:1] != ["rest"]:
        raise _Refusal(404, 32614, f"A REST API resource was not found for '{method} {path}'.")
    steps = steps[1:]
    permissive = _listed(query, "permissive")[:1] in (["1"], ["true"])
    fields = _listed(query, "include_fields")
    if method == "GET" and steps == ["version"]:
        return {"version": VERSION}
    if method == "GET" and steps == ["bug"]:
        found = server.get([int(bug_id) for bug_id in _listed(query, "id")], fields, permissive)
        return found if server.search_faults else {"bugs": found["bugs"]}
    if len(steps) == 2 and steps[0] == "bug" and steps[1].isdigit():
        if method == "GET":
            return server.get([int(steps[1])], fields, permissive)
        if method == "PUT":
            return server.update(int(steps[1]), body)  # the path's id wins, as in Bugzilla
    if method == "POST" and len(steps) == 3 and steps[::2] == ["bug", "comment"] \
            and steps[1].isdigit():
        return server.add_comment(int(steps[1]), body)
    raise _Refusal(404, 32614, f"A REST API resource was not found for '{method} {path}'.")


def main(argv: list[str] | None = None) -> None:
    """Serve bugs from a JSON file ({"<id>": {"status": ..., ...}}) until stopped."""
    import argparse
    import signal
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Bugzilla REST stand-in (not a Bugzilla)")
    parser.add_argument("--bugs", required=True, help="JSON file: bug id -> fields")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="stand-in-key")
    args = parser.parse_args(argv)
    raw = json.loads(Path(args.bugs).read_text())
    bugs = {int(number): bug(int(number), **fields) for number, fields in raw.items()}
    server = BugzillaServer(bugs, api_key=args.api_key, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(f"Bugzilla stand-in at {server.url} ({len(bugs)} bugs)", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

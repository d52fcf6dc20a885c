"""Download mirrors for the tests: a mirror's repomd.xml written by hand (a lagging or a
hostile mirror), and the URL template of a RepoServer (tests/kits/httprepo.py)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from xml.sax.saxutils import escape

from tests.kits.httprepo import RepoServer


def template(server: RepoServer) -> str:
    """release.mirrors' form of a mirror served by `server`."""
    return f"{server.url}/{{release}}/{{repo}}/{{arch}}"


def repomd_path(release: str, repo: str, archdir: str) -> str:
    """The URL path of a mirror's repomd.xml."""
    return f"/{release}/{repo}/{archdir}/repodata/repomd.xml"


def write_repomd(root: Path, release: str, repo: str, archdir: str, revision: str) -> Path:
    """A repomd.xml with no data, carrying `revision` (XML-escaped: any text at all)."""
    path = root / repomd_path(release, repo, archdir).lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<repomd xmlns="http://linux.duke.edu/metadata/repo">\n'
                    f"  <revision>{escape(revision)}</revision>\n</repomd>\n")
    return path


def stop_listener(listener: socket.socket, server: threading.Thread) -> None:
    """Stop a raw test server for good: a close() alone leaves its thread blocked in
    accept() holding the socket, which keeps listening on its port, so a later test's
    client that meets that port gets this server's answer."""
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
    except OSError:
        pass
    server.join(5)
    listener.close()

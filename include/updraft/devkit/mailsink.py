"""A local SMTP sink: the mails Airflow sends land as files in a folder, no mail server needed.

Every message is saved as ``<dir>/<UTC yyyymmddTHHMMSS>-<seq>.eml``: the bytes the client
sent, preceded by two headers carrying the SMTP envelope (which a Bcc, for one, only lives
in)::

    X-Envelope-From: releases@contribs.org
    X-Envelope-To: releng@example.org, packagers@example.org

The file is written under a dot-name and renamed into place, so a reader globbing ``*.eml``
never sees half a mail. ``seq`` (4 digits) continues after the highest one already in the
folder: a sink restarted within the same second never overwrites an earlier mail, and the
names sort in arrival order.

    with MailSink(Path("mail")) as sink:          # port 0: any free port, see sink.port
        send_something(port=sink.port)
        [mail] = sink.wait_for(1, timeout=10)

``python -m updraft.devkit.mailsink --dir DIR [--host H] [--port P]`` runs one until SIGTERM or
SIGINT and logs a line per mail.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from updraft.errors import UpdraftError

# Named, not __name__: under `python -m` that would be "__main__".
log = logging.getLogger("updraft.devkit.mailsink")

ENVELOPE_FROM = "X-Envelope-From"
ENVELOPE_TO = "X-Envelope-To"
_NAME = re.compile(r"\d{8}T\d{6}-(\d{4,})\.eml")
# aiosmtpd's default greeting name is socket.getfqdn(), a DNS lookup that can stall for
# seconds in a container without a resolver.
_SERVER_NAME = "updraft-mailsink"
_PARSER = BytesParser(policy=default)


class MailSinkError(UpdraftError):
    """The sink could not listen or could not prepare its folder."""


def _parse(raw: bytes) -> EmailMessage:
    # With policy.default the parser builds EmailMessage objects.
    return _PARSER.parsebytes(raw)


def read_mailbox(directory: Path) -> list[EmailMessage]:
    """Every mail in a sink's folder, oldest first (the names sort in arrival order)."""
    if not directory.is_dir():
        raise MailSinkError(f"mail folder {directory} does not exist: is the sink running there?")
    return [_parse(path.read_bytes()) for path in sorted(directory.glob("*.eml"))]


class _Handler:
    """aiosmtpd calls handle_DATA once per mail, in the controller's event-loop thread."""

    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            self._sink._store(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        except OSError as error:
            log.error("cannot store a mail from %s: %s", envelope.mail_from, error)
            # 451 is transient: a real client keeps the mail and retries later.
            return "451 Requested action aborted: local error in processing"
        return "250 Message accepted for delivery"


class _BoundController(Controller):
    """A Controller that serves a socket we bound ourselves.

    aiosmtpd binds inside its thread and then pokes the server at ``self.port``, which is
    useless for port 0. Binding first gives the real port before the thread starts, with no
    find-a-free-port-then-hope race.
    """

    def __init__(self, handler: _Handler, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, server_hostname=_SERVER_NAME)
        self._sock = sock

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class MailSink:
    """An SMTP server in a background thread that saves every mail into ``directory``."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.directory = directory
        self.host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._controller: _BoundController | None = None
        self._received: list[EmailMessage] = []
        self._seq = 0
        self._arrived = threading.Condition()

    @property
    def port(self) -> int:
        """The port listened on; the one asked for until the sink has started."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    def __enter__(self) -> MailSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._controller is not None:
            raise MailSinkError("the mail sink is already running")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise MailSinkError(f"cannot create mail folder {self.directory}: {error}") from None
        with self._arrived:
            self._received = []
            self._seq = _highest_seq(self.directory)
        sock = _listen(self.host, self._requested_port)
        controller = _BoundController(_Handler(self), sock)
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller
        self._bound_port = sock.getsockname()[1]

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        """The mails received since the sink started, in arrival order."""
        with self._arrived:
            return list(self._received)

    def wait_for(self, count: int, timeout: float) -> list[EmailMessage]:
        """Block until at least ``count`` mails arrived since the start; return all of them."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(
                    f"mail sink on port {self.port}: {len(self._received)} of {count} mail(s)"
                    f" arrived within {timeout:g}s (folder {self.directory})"
                )
            return list(self._received)

    def _store(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> Path:
        eol = b"\r\n" if b"\r\n" in raw else b"\n"
        envelope = (
            f"{ENVELOPE_FROM}: {mail_from}".encode() + eol
            + f"{ENVELOPE_TO}: {', '.join(rcpt_tos)}".encode() + eol
        )
        content = envelope + raw
        with self._arrived:
            self._seq += 1
            seq = self._seq
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{seq:04d}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        message = _parse(content)
        log.info(
            "from=%s to=%s subject=%r file=%s",
            mail_from, ",".join(rcpt_tos), message.get("Subject", ""), path,
        )
        with self._arrived:
            self._received.append(message)
            self._arrived.notify_all()
        return path


def _highest_seq(directory: Path) -> int:
    seqs = (_NAME.fullmatch(path.name) for path in directory.glob("*.eml"))
    return max((int(match.group(1)) for match in seqs if match), default=0)


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        # create_server sets SO_REUSEADDR: a restarted sink rebinds despite TIME_WAIT.
        return socket.create_server((host, port), family=family)
    except OSError as error:
        reason = error.strerror or str(error)
        raise MailSinkError(f"cannot listen on {host}:{port}: {reason}") from None


# -- command line -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m updraft.devkit.mailsink",
        description="Receive SMTP mail on a local port and save each mail as a .eml file.",
    )
    parser.add_argument("--dir", type=Path, required=True, help="folder the mails go to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    args = parser.parse_args(argv)

    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("%(asctime)sZ mailsink %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    # Blocked before the server thread starts, so the thread inherits the mask and the
    # signals reach only sigwait below: no handler runs in the middle of a mail.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    sink = MailSink(args.dir, args.host, args.port)
    try:
        sink.start()
    except MailSinkError as error:
        print(f"mailsink: {error}", file=sys.stderr)
        return 1
    log.info("listening on %s:%d, saving mails to %s", args.host, sink.port, args.dir)
    received = signal.sigwait(stop_signals)
    sink.stop()
    log.info("stopped by %s", signal.Signals(received).name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

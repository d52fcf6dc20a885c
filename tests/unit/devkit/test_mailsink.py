"""The SMTP sink: real smtplib clients, the files it writes, waiting, and its command line."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from updraft.devkit.mailsink import MailSink, MailSinkError, read_mailbox

pytestmark = pytest.mark.timeout(60)

_FILE_NAME = re.compile(r"\d{8}T\d{6}-\d{4}\.eml")


def _mail(subject: str, body: str = "clamav (sme9)\nmove from smetest to smeupdates-testing\n"
          ) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "releases@contribs.org"
    message["To"] = "releng@example.org"
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send(port: int, message: EmailMessage, to: list[str] | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message, to_addrs=to)


def test_a_mail_is_saved_with_its_envelope(tmp_path: Path) -> None:
    folder = tmp_path / "mail" / "not-yet"  # created by the sink
    with MailSink(folder) as sink:
        assert sink.port > 0
        # The Bcc'd address exists only in the envelope: the saved file must keep it.
        _send(sink.port, _mail("Repository Update"), ["releng@example.org", "bcc@example.org"])
        [received] = sink.wait_for(1, timeout=10)

    [path] = folder.iterdir()
    assert _FILE_NAME.fullmatch(path.name)
    raw = path.read_bytes()
    assert raw.startswith(
        b"X-Envelope-From: releases@contribs.org\r\n"
        b"X-Envelope-To: releng@example.org, bcc@example.org\r\n"
    )
    assert b"\r\nSubject: Repository Update\r\n" in raw
    assert received["Subject"] == "Repository Update"
    assert received["X-Envelope-To"] == "releng@example.org, bcc@example.org"
    assert "move from smetest to smeupdates-testing" in received.get_content()
    assert read_mailbox(folder)[0]["Subject"] == "Repository Update"


def test_wait_for_wakes_up_on_arrival_and_counts_from_the_start(tmp_path: Path) -> None:
    with MailSink(tmp_path) as sink:
        assert sink.messages() == []
        # Sent from a thread once wait_for already blocks: the Condition must wake it.
        sender = threading.Thread(
            target=lambda: [_send(sink.port, _mail(f"gate {n}")) for n in range(3)]
        )
        sender.start()
        received = sink.wait_for(3, timeout=20)
        sender.join()
        assert [m["Subject"] for m in received] == ["gate 0", "gate 1", "gate 2"]
        assert sink.messages() == received

    names = sorted(path.name for path in tmp_path.glob("*.eml"))
    assert [name[-8:] for name in names] == ["0001.eml", "0002.eml", "0003.eml"]
    assert [m["Subject"] for m in read_mailbox(tmp_path)] == ["gate 0", "gate 1", "gate 2"]
    assert not list(tmp_path.glob(".*")), "no temporary file is left behind"


def test_a_restarted_sink_never_overwrites_earlier_mails(tmp_path: Path) -> None:
    for subject in ("first run", "second run"):
        with MailSink(tmp_path) as sink:
            _send(sink.port, _mail(subject))
            assert len(sink.wait_for(1, timeout=10)) == 1  # only this run's mail counts
    assert [m["Subject"] for m in read_mailbox(tmp_path)] == ["first run", "second run"]


def test_wait_for_times_out_with_a_clear_message(tmp_path: Path) -> None:
    with MailSink(tmp_path) as sink:
        _send(sink.port, _mail("only one"))
        with pytest.raises(TimeoutError, match=r"1 of 2 mail\(s\) arrived within 0.2s"):
            sink.wait_for(2, timeout=0.2)


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with MailSink(tmp_path) as first:
        with pytest.raises(MailSinkError, match=rf"cannot listen on 127.0.0.1:{first.port}: "):
            MailSink(tmp_path, port=first.port).start()


def test_read_mailbox_of_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MailSinkError, match="does not exist"):
        read_mailbox(tmp_path / "nowhere")


def test_command_line_saves_mails_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    # --port 0 and reading the port from the first log line: no free-port guessing race.
    process = subprocess.Popen(
        [sys.executable, "-m", "updraft.devkit.mailsink", "--dir", str(folder), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        listening = re.search(r"listening on 127\.0\.0\.1:(\d+), saving mails to (\S+)", first)
        assert listening, first
        assert listening.group(2) == str(folder)

        _send(int(listening.group(1)), _mail("Go/NoGo for sme10"))
        # The log line is written after the file is renamed into place.
        logged = process.stdout.readline()
        assert "from=releases@contribs.org to=releng@example.org" in logged
        assert "subject='Go/NoGo for sme10'" in logged
        [path] = folder.glob("*.eml")
        assert f"file={path}" in logged
        assert read_mailbox(folder)[0]["Subject"] == "Go/NoGo for sme10"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert "stopped by SIGTERM" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_reports_a_taken_port(tmp_path: Path) -> None:
    with MailSink(tmp_path) as sink:
        result = subprocess.run(
            [sys.executable, "-m", "updraft.devkit.mailsink", "--dir", str(tmp_path),
             "--port", str(sink.port)],
            capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"mailsink: cannot listen on 127.0.0.1:{sink.port}:")
    assert len(result.stderr.strip().splitlines()) == 1

"""updraft.upstream.download against a real HTTP server on 127.0.0.1 and file:// URLs."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kits.httprepo import RepoServer
from updraft.upstream.download import ChecksumMismatch, DownloadError, fetch, fetch_bytes

RPM = "/9/x/foo.rpm"


@pytest.fixture
def payload() -> bytes:
    return os.urandom(5000)


@pytest.fixture
def server(tmp_path: Path, payload: bytes) -> Iterator[RepoServer]:
    root = tmp_path / "upstream"
    (root / "9" / "x").mkdir(parents=True)
    (root / "9" / "x" / "foo.rpm").write_bytes(payload)
    with RepoServer(root) as repo:
        yield repo


def sha256(data: bytes) -> tuple[str, str]:
    return ("sha256", hashlib.sha256(data).hexdigest())


def part_of(target: Path) -> Path:
    """The .part an earlier, interrupted run left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(target.name + ".part")


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir())


def test_download_verifies_and_logs(server: RepoServer, payload: bytes, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "mirror" / "9" / "x" / "foo.rpm"
    with caplog.at_level(logging.INFO, logger="updraft.upstream.download"):
        assert fetch(server.url + RPM, target, size=5000, checksum=sha256(payload)) == target
    assert target.read_bytes() == payload
    assert leftovers(target) == ["foo.rpm"]
    assert server.served == [RPM] and server.ranges == []
    assert "fetched foo.rpm: 5000 bytes in" in caplog.text


def test_second_call_makes_no_request(server: RepoServer, payload: bytes,
                                      tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    fetch(server.url + RPM, target)  # nothing to check against: present is enough
    assert server.served == [RPM]


def test_wrong_file_at_target_is_downloaded_again(server: RepoServer, payload: bytes,
                                                  tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    target.parent.mkdir()
    target.write_bytes(os.urandom(5000))
    fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    assert target.read_bytes() == payload and server.served == [RPM]


def test_truncated_download_keeps_part_then_resumes(server: RepoServer, payload: bytes,
                                                    tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    url = server.url + RPM
    server.truncate[RPM] = 1200
    with pytest.raises(DownloadError) as raised:
        fetch(url, target, size=5000, checksum=sha256(payload))
    assert str(raised.value) == (f"{url}: truncated download (got 1200 of 5000 bytes); "
                                 "kept for resuming next run")
    assert not raised.value.missing and not raised.value.unreachable
    assert leftovers(target) == ["foo.rpm.part"]
    assert (tmp_path / "mirror" / "foo.rpm.part").read_bytes() == payload[:1200]

    del server.truncate[RPM]
    with caplog.at_level(logging.INFO, logger="updraft.upstream.download"):
        fetch(url, target, size=5000, checksum=sha256(payload))
    assert server.ranges == ["bytes=1200-"]
    assert target.read_bytes() == payload and leftovers(target) == ["foo.rpm"]
    assert "resuming foo.rpm at 1200 of 5000 bytes" in caplog.text


def test_truncated_twice_makes_progress_each_time(server: RepoServer, payload: bytes,
                                                  tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    server.truncate[RPM] = 2000
    for got in (2000, 4000):
        with pytest.raises(DownloadError, match=f"got {got} of 5000 bytes"):
            fetch(server.url + RPM, target, checksum=sha256(payload))  # no size: Content-Length
    fetch(server.url + RPM, target, checksum=sha256(payload))
    assert server.ranges == ["bytes=2000-", "bytes=4000-"]
    assert target.read_bytes() == payload


def test_wrong_checksum_moves_bytes_to_bad(server: RepoServer, payload: bytes,
                                           tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    wanted = "ab" * 32
    with pytest.raises(ChecksumMismatch) as raised:
        fetch(server.url + RPM, target, size=5000, checksum=("sha256", wanted))
    actual = hashlib.sha256(payload).hexdigest()
    assert f"sha256 {actual[:12]} instead of {wanted[:12]}" in str(raised.value)
    assert raised.value.path == tmp_path / "mirror" / "foo.rpm.bad"
    assert leftovers(target) == ["foo.rpm.bad"]
    assert raised.value.path.read_bytes() == payload


def test_wrong_size_is_a_mismatch(server: RepoServer, tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    with pytest.raises(ChecksumMismatch, match="5000 bytes instead of 6000"):
        fetch(server.url + RPM, target, size=6000)
    assert leftovers(target) == ["foo.rpm.bad"]


def test_sha_means_sha1(server: RepoServer, payload: bytes, tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    fetch(server.url + RPM, target, checksum=("sha", hashlib.sha1(payload).hexdigest()))
    assert target.read_bytes() == payload


def test_unknown_checksum_type_fails_before_any_request(server: RepoServer,
                                                        tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown checksum type 'crc99'"):
        fetch(server.url + RPM, tmp_path / "mirror" / "foo.rpm", checksum=("crc99", "00"))
    assert server.served == []


@pytest.mark.parametrize("status", [404, 410])
def test_gone_from_server_is_missing(server: RepoServer, tmp_path: Path, status: int) -> None:
    server.fail[RPM] = status
    with pytest.raises(DownloadError) as raised:
        fetch(server.url + RPM, tmp_path / "mirror" / "foo.rpm")
    assert raised.value.missing and not raised.value.unreachable
    assert str(raised.value).endswith(f": not found on the server (HTTP {status})")
    assert list(tmp_path.glob("mirror/foo.rpm*")) == []


def test_absent_file_is_missing(server: RepoServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as raised:
        fetch(server.url + "/9/x/nope.rpm", tmp_path / "mirror" / "nope.rpm")
    assert raised.value.missing


def test_server_error_names_status(server: RepoServer, tmp_path: Path) -> None:
    server.fail[RPM] = 500
    with pytest.raises(DownloadError, match="server answered HTTP 500") as raised:
        fetch(server.url + RPM, tmp_path / "mirror" / "foo.rpm")
    assert not raised.value.missing and not raised.value.unreachable


def test_server_down_is_unreachable(server: RepoServer, tmp_path: Path) -> None:
    server.stop()
    with pytest.raises(DownloadError, match="server unreachable") as raised:
        fetch(server.url + RPM, tmp_path / "mirror" / "foo.rpm")
    assert raised.value.unreachable and not raised.value.missing
    with pytest.raises(DownloadError) as raised:
        fetch_bytes(server.url + "/9/repodata/repomd.xml")
    assert raised.value.unreachable


def test_server_not_answering_times_out_as_unreachable(server: RepoServer,
                                                       tmp_path: Path) -> None:
    server.stall.add(RPM)
    with pytest.raises(DownloadError, match=r"server unreachable \(timed out\)") as raised:
        fetch(server.url + RPM, tmp_path / "mirror" / "foo.rpm", timeout=0.2)
    assert raised.value.unreachable
    assert not (tmp_path / "mirror" / "foo.rpm").exists()


def test_server_ignoring_range_restarts_cleanly(server: RepoServer, payload: bytes,
                                                tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    part_of(target).write_bytes(b"stale bytes, not a prefix")
    server.accept_ranges = False
    fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    assert server.ranges == ["bytes=25-"] and server.served == [RPM]
    assert target.read_bytes() == payload and leftovers(target) == ["foo.rpm"]


def test_complete_part_and_416_is_verified_without_body(server: RepoServer, payload: bytes,
                                                        tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    part_of(target).write_bytes(payload)  # killed between fsync and rename
    fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    assert server.ranges == ["bytes=5000-"]
    assert target.read_bytes() == payload and leftovers(target) == ["foo.rpm"]


def test_part_longer_than_server_file_restarts_from_zero(server: RepoServer, payload: bytes,
                                                         tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    part_of(target).write_bytes(os.urandom(7000))  # upstream file shrank
    fetch(server.url + RPM, target, checksum=sha256(payload))
    assert server.ranges == ["bytes=7000-"] and server.served == [RPM, RPM]
    assert target.read_bytes() == payload


def test_file_changed_upstream_between_runs(server: RepoServer, payload: bytes,
                                            tmp_path: Path) -> None:
    target = tmp_path / "mirror" / "foo.rpm"
    server.truncate[RPM] = 1000
    with pytest.raises(DownloadError, match="truncated"):
        fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    del server.truncate[RPM]
    rebuilt = os.urandom(5000)
    server.on_request(RPM, lambda: (server.root / RPM.lstrip("/")).write_bytes(rebuilt))
    with pytest.raises(ChecksumMismatch):
        fetch(server.url + RPM, target, size=5000, checksum=sha256(payload))
    bad = tmp_path / "mirror" / "foo.rpm.bad"
    assert bad.read_bytes() == payload[:1000] + rebuilt[1000:]
    assert leftovers(target) == ["foo.rpm.bad"]


def test_file_url(tmp_path: Path, payload: bytes) -> None:
    source = tmp_path / "upstream" / "foo bar.rpm"
    source.parent.mkdir()
    source.write_bytes(payload)
    target = tmp_path / "mirror" / "foo.rpm"
    fetch(source.as_uri(), target, size=5000, checksum=sha256(payload))
    assert target.read_bytes() == payload and leftovers(target) == ["foo.rpm"]
    assert fetch_bytes(source.as_uri()) == payload


def test_file_url_resumes_part(tmp_path: Path, payload: bytes) -> None:
    source = tmp_path / "foo.rpm"
    source.write_bytes(payload)
    target = tmp_path / "mirror" / "foo.rpm"
    target.parent.mkdir()
    (target.parent / "foo.rpm.part").write_bytes(payload[:3000])
    fetch(source.as_uri(), target, size=5000, checksum=sha256(payload))
    assert target.read_bytes() == payload and leftovers(target) == ["foo.rpm"]


def test_file_url_missing(tmp_path: Path) -> None:
    url = (tmp_path / "gone.rpm").as_uri()
    with pytest.raises(DownloadError) as raised:
        fetch(url, tmp_path / "mirror" / "gone.rpm")
    assert raised.value.missing
    with pytest.raises(DownloadError) as raised:
        fetch_bytes(url)
    assert raised.value.missing


def test_fetch_bytes(server: RepoServer, payload: bytes) -> None:
    assert fetch_bytes(server.url + RPM) == payload
    with pytest.raises(DownloadError) as raised:
        fetch_bytes(server.url + "/9/repodata/repomd.xml")
    assert raised.value.missing
    assert str(raised.value) == (f"{server.url}/9/repodata/repomd.xml: "
                                 "not found on the server (HTTP 404)")


def test_fetch_bytes_truncated_and_limit(server: RepoServer) -> None:
    server.truncate[RPM] = 100
    with pytest.raises(DownloadError, match=r"truncated download \(got 100 of 5000 bytes\)$"):
        fetch_bytes(server.url + RPM)
    del server.truncate[RPM]
    with pytest.raises(DownloadError, match="larger than the 4096-byte limit"):
        fetch_bytes(server.url + RPM, limit=4096)

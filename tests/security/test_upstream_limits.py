"""An upstream cannot fill the disk or hang the sync (issue 15, §2).

Real HTTP servers on 127.0.0.1 (tests/httprepo.py): one sends 50 MB for a package
declared at a few kB, one drips a byte at a time, one never answers; repomd declaring a
2 GB primary, a gzip bomb for a primary, and a quarantine that is bounded and never
overwrites. Every test asserts what is on disk, in the manifest and in the ledger.
"""

from __future__ import annotations

import gzip
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import createrepo_c as cr
import pytest
import yaml

from tests.kits import upstreamkit
from tests.kits.signing import SigningKey, tamper_payload
from updraft.config.dist import load_config
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.lock import hold
from updraft.errors import ConfigError
from updraft.ledger import Ledger
from updraft.ledger.upstream import UpstreamRecords

pytestmark = pytest.mark.timeout(120)

TZ64 = "tzdata-2012i-2.el5.x86_64.rpm"
TZ64_URL = f"/centos/x86_64/Packages/{TZ64}"
TEVENT = "libtevent-0.9.31-2.el5.noarch.rpm"
FIFTY_MB = 50 << 20


@pytest.fixture
def make(tmp_path: Path, families: dict[str, BuiltFamily], keys: dict[str, SigningKey],
         signed: dict[str, Path]) -> Iterator:
    cases: list[upstreamkit.Case] = []

    def build(**limits: object) -> upstreamkit.Case:
        case = upstreamkit.make_case(tmp_path, families, keys["centos"].public, **limits)
        upstreamkit.publish(case.served, upstreamkit.offer(signed, families,
                                                           ["tzdata-new", "libtevent-new"]))
        cases.append(case)
        return case

    yield build
    for case in cases:
        case.server.stop()


def declared_size(case: upstreamkit.Case, filename: str = TZ64) -> int:
    return (case.served / "centos" / "x86_64" / "Packages" / filename).stat().st_size


def stored_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def test_fifty_megabytes_for_a_small_package_are_not_stored(make) -> None:
    case = make()
    declared = declared_size(case)
    case.server.oversize[TZ64_URL] = FIFTY_MB
    manifest, _ = case.run()

    assert manifest.status == "synced", manifest.reason
    rejected = {r.filename: r for r in manifest.rejected}
    assert f"more than the {declared} bytes declared" in rejected[TZ64].reason
    kept = Path(rejected[TZ64].quarantined)
    assert kept.stat().st_size <= declared  # the declared prefix, for inspection only
    state = case.layout.state_dir
    assert stored_bytes(state / "mirror") + stored_bytes(state / "quarantine") < 2 << 20
    assert not any(p.stat().st_size > declared for p in (state / "mirror").rglob(f"{TZ64}*"))
    assert not case.has("smetest", "x86_64", TZ64) and case.state_of(TZ64) == "test failed"
    assert case.has("smetest", "x86_64", TEVENT)  # the source's other families land


def test_a_package_of_undeclared_size_stops_at_the_configured_cap(make) -> None:
    case = make(size_cap="64K")
    upstreamkit.rewrite_primary(case.served / "centos" / "x86_64",
                                lambda p: setattr(p, "size_package", 0))
    case.server.oversize[TZ64_URL] = FIFTY_MB
    manifest, _ = case.run()
    rejected = {r.filename: r for r in manifest.rejected}
    assert "allowed for a file of unknown size" in rejected[TZ64].reason
    assert Path(rejected[TZ64].quarantined).stat().st_size == 64 << 10
    assert stored_bytes(case.layout.state_dir / "quarantine") < 128 << 10
    assert case.has("smetest", "x86_64", TEVENT) and not case.has("smetest", "x86_64", TZ64)


@pytest.mark.parametrize("limits", [
    {"file_deadline": 1, "source_deadline": 60},
    {"file_deadline": 100, "source_deadline": 2},
], ids=["file_deadline", "source_deadline"])
def test_a_dripping_server_is_cut_off_reported_and_the_next_run_resumes(
        make, limits: dict) -> None:
    case = make(**limits)
    case.server.drip[TZ64_URL] = 0.2
    began = time.monotonic()
    manifest = case.sync.mirror("9", "centos")
    took = time.monotonic() - began

    assert took < 2 + 3, f"the sync ran {took:.1f} s"
    assert manifest.status == "unreachable" and "gave up" in manifest.reason
    assert TZ64 in manifest.reason and "deadline" in manifest.reason
    with Ledger.open(case.layout.ledger_url) as ledger:
        assert UpstreamRecords(ledger).source_state("9", "centos")[0] == "unreachable"
    with hold(case.mirror_dir() / ".lock", "the source's mirror", 0):
        pass  # free at once: the next run is not kept waiting

    case.server.drip.clear()
    part = next(case.mirror_dir().rglob(f"{TZ64}.part"))
    assert 0 < part.stat().st_size < declared_size(case)  # kept for resuming
    again, _ = case.run()
    assert again.status == "synced", again.reason
    assert case.has("smetest", "x86_64", TZ64)
    assert any(r.startswith("bytes=") and r != "bytes=0-" for r in case.server.ranges)


def test_a_server_that_never_answers_is_cut_off_at_the_source_deadline(make) -> None:
    case = make(source_deadline=1)
    case.server.stall.add("/centos/i386/repodata/repomd.xml")
    began = time.monotonic()
    manifest = case.sync.mirror("9", "centos")
    assert time.monotonic() - began < 4
    assert manifest.status == "unreachable", manifest.reason


def test_a_repomd_declaring_a_two_gigabyte_primary_is_refused_unfetched(make) -> None:
    case = make()
    repo = case.served / "centos" / "i386"
    primary = next(r for r in cr.Repomd(str(repo / "repodata" / "repomd.xml")).records
                   if r.type == "primary")
    upstreamkit.replace_record(repo, "primary", repo / primary.location_href,
                               lambda record: setattr(record, "size", 2 << 30))
    manifest = case.sync.mirror("9", "centos")
    assert manifest.status == "failed"
    assert f"declares {2 << 30} bytes, more than the metadata_cap" in manifest.reason
    assert not any("primary" in path for path in case.server.served)


def test_a_gzip_bomb_primary_is_refused_before_it_is_parsed(make) -> None:
    case = make(metadata_cap="1M")
    repo = case.served / "centos" / "i386"
    primary = next(r for r in cr.Repomd(str(repo / "repodata" / "repomd.xml")).records
                   if r.type == "primary")
    xml = gzip.decompress((repo / primary.location_href).read_bytes())
    bomb = xml.replace(b"</metadata>", b"<!--" + b" " * (8 << 20) + b"--></metadata>")
    path = repo / "repodata" / "bomb-primary.xml.gz"
    path.write_bytes(gzip.compress(bomb, 9))
    assert path.stat().st_size < 64 << 10  # small on the wire, 8 MB opened
    (repo / primary.location_href).unlink()
    upstreamkit.replace_record(repo, "primary", path)
    manifest = case.sync.mirror("9", "centos")
    assert manifest.status == "failed"
    assert "decompresses to more than the metadata_cap" in manifest.reason
    assert not list(case.mirror_dir().rglob("*primary.xml.gz"))


def test_quarantine_never_overwrites_an_earlier_file_of_the_same_name(make) -> None:
    case = make()
    served = case.served / "centos" / "x86_64" / "Packages" / TZ64
    tamper_payload(served)  # bytes that no longer match primary's checksum
    first = case.sync.mirror("9", "centos")
    first_kept = Path(next(r.quarantined for r in first.rejected if r.filename == TZ64))
    first_bytes = first_kept.read_bytes()

    data = bytearray(served.read_bytes())
    data[-16] ^= 0xFF  # other bad bytes, this time announced with their own checksum
    served.write_bytes(data)
    subprocess.run(["createrepo_c", "-q", "--no-database", str(served.parent.parent)],
                   check=True)
    second = case.sync.mirror("9", "centos")
    second_kept = Path(next(r.quarantined for r in second.rejected if r.filename == TZ64))

    assert second_kept != first_kept
    assert first_kept.read_bytes() == first_bytes  # the earlier evidence is intact
    assert second_kept.read_bytes() == bytes(data)
    assert second_kept.with_name(second_kept.name + ".reason").exists()
    assert case.state_of(TZ64) == "test failed"


def test_quarantine_is_bounded_oldest_bytes_dropped_first(make) -> None:
    case = make(quarantine_cap="8K")
    for path in case.served.glob("centos/*/Packages/*.rpm"):
        tamper_payload(path)  # every binary fails: more bad bytes than the cap holds
    manifest = case.sync.mirror("9", "centos")
    kept = [Path(r.quarantined) for r in manifest.rejected]
    assert len(kept) >= 2
    quarantine = case.layout.quarantine_dir("9") / "upstream" / "centos"
    files = [p for p in quarantine.iterdir() if not p.name.endswith(".reason")]
    assert sum(p.stat().st_size for p in files) <= 8 << 10
    dropped = [p for p in kept if not p.exists()]
    assert dropped, "nothing dropped although over the cap"
    reason = yaml.safe_load(dropped[0].with_name(dropped[0].name + ".reason").read_text())
    assert "dropped" in reason and reason["reason"]  # still explained, still blocked
    again = case.sync.mirror("9", "centos")
    assert any("quarantined earlier" in line for line in again.skipped)


@pytest.mark.parametrize("key, value, message", [
    ("size_cap", "lots", "size_cap: Value error, 'lots' is not a size"),
    ("source_deadline", 0, "source_deadline: Input should be greater than 0"),
    ("quarantine_cap", "-1", "is not a size"),
])
def test_limits_are_checked_when_the_config_loads(tmp_path: Path, key: str, value: object,
                                                  message: str) -> None:
    upstreamkit.config_with(tmp_path, [upstreamkit.centos("http://127.0.0.1:1", None)])
    raw = yaml.safe_load((tmp_path / "dist.yaml").read_text())
    raw["upstream"]["9"][0][key] = value
    (tmp_path / "dist.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="upstream.9.0." + key) as raised:
        load_config(tmp_path / "dist.yaml")
    assert message in str(raised.value)

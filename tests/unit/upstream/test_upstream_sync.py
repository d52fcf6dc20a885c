"""Upstream sync against real repos: createrepo_c metadata, rpmsign'ed packages, served by
a real HTTP server on 127.0.0.1. Seed 000's landing rules, seed 004's tests and states."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kits import treekit, upstreamkit
from tests.kits.httprepo import RepoServer
from tests.kits.signing import SigningKey, corrupt_signature, tamper_payload
from updraft.cli import main as cli
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.lock import hold
from updraft.ledger import Ledger
from updraft.ledger.upstream import UpstreamRecords
from updraft.upstream.notices import rejection_mail, security_mail
from updraft.upstream.sync import UpstreamSync

pytestmark = pytest.mark.timeout(120)

UPSTREAM_OFFER = ["tzdata-old", "tzdata-new", "GeoIP-new", "samba-new", "libtevent-new",
                  "php-new", "bash"]


def offer(signed: dict[str, Path], families: dict[str, BuiltFamily],
          names: list[str]) -> list[Path]:
    return [signed[path.name] for name in names for path in families[name].files()]


@dataclass
class Scenario:
    root: Path
    served: Path
    server: RepoServer
    engine: Engine
    sync: UpstreamSync
    key: Path

    def run(self) -> tuple:
        manifest = self.sync.mirror("9", "centos")
        landed = self.sync.land(["9"])
        self.engine.publish(landed.result.unpublished)
        return manifest, landed

    def tree_files(self) -> set[str]:
        return {Path(p).name for p in treekit.rpm_files(self.root / "tree")}

    def has(self, repo: str, archdir: str, filename: str) -> bool:
        return (self.engine.layout.package_dir("9", repo, archdir) / filename).exists()


@pytest.fixture
def scenario(tmp_path: Path, families: dict[str, BuiltFamily],
             keys: dict[str, SigningKey]) -> Iterator[Callable[..., Scenario]]:
    servers: list[RepoServer] = []

    def make(**extra: object) -> Scenario:
        served = tmp_path / "served"
        served.mkdir(exist_ok=True)
        server = RepoServer(served).start()
        servers.append(server)
        config = upstreamkit.config_with(
            tmp_path, [upstreamkit.centos(server.url, keys["centos"].public, **extra)])
        layout = Layout(config, tmp_path / "tree")
        for name, repo in upstreamkit.TREE.items():
            treekit.place(layout, "9", repo, families[name])
        engine = Engine(config, layout.root)
        assert engine.update_repos().ok
        return Scenario(tmp_path, served, server, engine, UpstreamSync(engine),
                        keys["centos"].public)

    yield make
    for server in servers:
        server.stop()


def test_seed_000_rules_newer_to_smetest_unshipped_to_smedev_pins_and_local_builds(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    upstreamkit.publish(case.served, offer(signed, families, UPSTREAM_OFFER))
    manifest, landed = case.run()

    assert manifest.status == "synced", manifest.reason
    for arch in ("i386", "x86_64"):
        assert case.has("smetest", arch, f"tzdata-2012i-2.el5.{arch}.rpm")
        assert case.has("smetest", arch, "php-cli-5.3.3-2.el5.noarch.rpm")
        assert case.has("smedev", arch, "php-foo-5.3.3-2.el5.noarch.rpm")  # seed 000's php
        assert not case.has("smetest", arch, "php-foo-5.3.3-2.el5.noarch.rpm")
        assert case.has("smetest", arch, "libtevent-0.9.31-2.el5.noarch.rpm")
    assert case.has("smetest", "SRPMS", "tzdata-2012i-2.el5.src.rpm")
    assert case.has("smedev", "SRPMS", "php-5.3.3-2.el5.src.rpm")
    files = case.tree_files()
    assert not {f for f in files if f.startswith(("GeoIP-1.6.5", "samba-4.6.2-12", "bash"))}

    report = landed.result.report
    assert "tzdata (sme9)\n" in report
    for line in ("copy from centos to smetest (tzdata-2012i-2.el5.i386.rpm)",
                 "copy from centos to smetest (tzdata-2012i-2.el5.src.rpm)",
                 "copy from centos to smetest (tzdata-2012i-2.el5.x86_64.rpm)",
                 "copy from centos to smedev (php-foo-5.3.3-2.el5.noarch.rpm)",
                 "rebuild smetest/i386", "rebuild smedev/x86_64"):
        assert line in report, line
    assert ("GeoIP-1.6.5-2.el5 from centos not landed: pinned at 1.4.8-1 (GeoIP-1.6.5-2 "
            "creates conflicts on SME 8 and 9; keep 1.4.8-1 (seed 000))") in report
    assert "samba-4.6.2-12.el5 from centos not landed: built locally" in report
    assert ("libtevent-0.9.31-2.el5 landed, coupled with samba: rebuild samba locally before "
            "pushing libtevent (seed 000)") in report

    hrefs = treekit.repo_hrefs(case.engine.layout.repodata_dir("9", "smetest", "i386"))
    assert "RPMS/tzdata-2012i-2.el5.i386.rpm" in hrefs
    with Ledger.open(case.engine.layout.ledger_url) as ledger:
        assert ledger.state_of("9", "tzdata-2012i-2.el5.i386.rpm") == "signed/untested"
        assert ledger.state_of("9", "php-foo-5.3.3-2.el5.noarch.rpm") == "waiting"
        assert UpstreamRecords(ledger).source_state("9", "centos") == ("synced", "")


def test_a_name_new_upstream_lands_in_smedev_and_nothing_lands_twice(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new", "bash"]))
    case.run()
    assert case.has("smetest", "i386", "tzdata-2012i-2.el5.i386.rpm")
    assert not any(f.startswith("bash") for f in case.tree_files())  # known upstream before

    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new", "bash", "newpkg"]))
    before = len(case.server.served)
    manifest, landed = case.run()
    assert manifest.new_names == ["newpkg"]
    assert case.has("smedev", "i386", "newpkg-1.0-1.el5.noarch.rpm")
    assert case.has("smedev", "SRPMS", "newpkg-1.0-1.el5.src.rpm")
    downloaded = [p for p in case.server.served[before:] if p.endswith(".rpm")]
    assert all("newpkg" in path for path in downloaded), downloaded
    assert "copy from centos to smedev (newpkg-1.0-1.el5.noarch.rpm)" in landed.result.report


def _only_tzdata(case: Scenario, files: list[Path]) -> None:
    upstreamkit.publish(case.served, files)


def _rejected(case: Scenario) -> tuple:
    manifest, landed = case.run()
    assert not any(f.startswith("tzdata-2012i-2") for f in case.tree_files()), "landed anyway"
    assert landed.result.plan.empty
    return manifest, landed


@pytest.mark.parametrize("fault, expected", [
    ("unsigned", "unsigned (no GPG signature)"),
    ("stranger", "signed by an unknown key"),
    ("bad-signature", "bad GPG signature"),
    ("bad-checksum", "md5/sha checksum does not match the repo metadata"),
    ("dist-tag", "lacks the dist tag"),
])
def test_a_package_failing_its_tests_is_quarantined_recorded_and_mailed(
        fault: str, expected: str, scenario: Callable[..., Scenario],
        families: dict[str, BuiltFamily], keys: dict[str, SigningKey], tmp_path: Path) -> None:
    case = scenario(**({"dist_tag": r"\.el6"} if fault == "dist-tag" else {}))
    key = {"unsigned": None, "stranger": keys["stranger"]}.get(fault, keys["centos"])
    files = upstreamkit.signed_copies(families, ["tzdata-new"], tmp_path / "offer", key)
    if fault == "bad-signature":
        corrupt_signature(files[1])
    top = upstreamkit.publish(case.served, files)
    if fault == "bad-checksum":
        tamper_payload(top / "i386" / "Packages" / "tzdata-2012i-2.el5.i386.rpm")

    manifest, _ = _rejected(case)
    assert manifest.status == "synced"
    reasons = [r.reason for r in manifest.rejected]
    assert reasons and all(expected in reason for reason in reasons[:1]), reasons
    rejected = manifest.rejected[0]
    quarantined = Path(rejected.quarantined)
    assert quarantined.exists()
    assert expected in json.loads(quarantined.with_name(quarantined.name + ".reason")
                                  .read_text())["reason"]
    with Ledger.open(case.engine.layout.ledger_url) as ledger:
        assert ledger.state_of("9", rejected.filename) == "test failed"
    mail = rejection_mail(case.engine.config, manifest)
    assert mail is not None
    assert mail["Subject"].startswith("[updatesteam] md5 or pgp key was corrupted: ")
    assert rejected.filename in mail.get_content() and expected in mail.get_content()

    # Told once: the same bytes are not fetched, tested and mailed again next hour.
    again = case.sync.mirror("9", "centos")
    assert again.rejected == []
    assert any("quarantined earlier" in line for line in again.skipped)


def test_a_truncated_download_lands_nothing_and_resumes_next_run(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    _only_tzdata(case, offer(signed, families, ["tzdata-new"]))
    case.server.truncate["/centos/x86_64/Packages/tzdata-2012i-2.el5.x86_64.rpm"] = 700
    manifest, _ = _rejected(case)
    assert any("truncated download" in r.reason for r in manifest.rejected)
    assert not any(r.quarantined for r in manifest.rejected)  # not its fault: try again
    assert rejection_mail(case.engine.config, manifest) is None  # nor a test failure
    with Ledger.open(case.engine.layout.ledger_url) as ledger:
        assert ledger.state_of("9", "tzdata-2012i-2.el5.x86_64.rpm") != "test failed"

    case.server.truncate.clear()
    case.run()
    assert case.has("smetest", "x86_64", "tzdata-2012i-2.el5.x86_64.rpm")
    assert any(header.startswith("bytes=700-") for header in case.server.ranges)


def test_a_half_mirrored_source_lands_nothing(scenario: Callable[..., Scenario],
                                              signed: dict[str, Path],
                                              families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    top = upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new"]))
    (top / "Source" / "Packages" / "tzdata-2012i-2.el5.src.rpm").unlink()
    manifest, _ = _rejected(case)
    assert manifest.status == "half-mirrored"
    assert "listed in primary but missing" in manifest.reason
    with Ledger.open(case.engine.layout.ledger_url) as ledger:
        assert UpstreamRecords(ledger).source_state("9", "centos")[0] == "half-mirrored"


def test_repomd_changing_during_the_sync_lands_nothing(scenario: Callable[..., Scenario],
                                                       signed: dict[str, Path],
                                                       families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    top = upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new"]))
    repomd = top / "i386" / "repodata" / "repomd.xml"
    case.server.on_request("/centos/i386/Packages/tzdata-2012i-2.el5.i386.rpm",
                           lambda: repomd.write_text(repomd.read_text().replace(
                               "<revision>", "<revision>9")))
    manifest, _ = _rejected(case)
    assert manifest.status == "half-mirrored"
    assert "repomd.xml changed during the sync" in manifest.reason


def test_a_missing_metadata_file_is_half_mirrored(scenario: Callable[..., Scenario],
                                                  signed: dict[str, Path],
                                                  families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    top = upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new"]))
    next((top / "x86_64" / "repodata").glob("*primary.xml*")).unlink()
    manifest, _ = _rejected(case)
    assert manifest.status == "half-mirrored"
    assert "which is missing" in manifest.reason


def test_a_server_down_lands_nothing(scenario: Callable[..., Scenario]) -> None:
    case = scenario()
    case.server.stop()
    manifest, _ = _rejected(case)
    assert manifest.status == "unreachable"
    assert "server unreachable" in manifest.reason


def test_signed_metadata_is_checked(scenario: Callable[..., Scenario], signed: dict[str, Path],
                                    families: dict[str, BuiltFamily],
                                    keys: dict[str, SigningKey]) -> None:
    case = scenario(signed_metadata=True)
    files = offer(signed, families, ["tzdata-new"])
    upstreamkit.publish(case.served, files, metadata_key=keys["stranger"])
    manifest, _ = _rejected(case)
    assert manifest.status == "failed" and "repomd.xml.asc" in manifest.reason

    upstreamkit.publish(case.served, files, metadata_key=keys["centos"])
    manifest, _ = case.run()
    assert manifest.status == "synced"
    assert case.has("smetest", "i386", "tzdata-2012i-2.el5.i386.rpm")


def test_a_security_advisory_is_linked_flagged_and_mailed(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    advisory = {"id": "CESA-2012:1234", "title": "Important: tzdata security update",
                "severity": "Important", "cves": ["CVE-2012-0001"],
                "packages": [("tzdata", "2012i", "2.el5", arch) for arch in upstreamkit.ARCHES]}
    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new", "php-new"]),
                        advisories=[advisory])
    manifest, landed = case.run()
    assert [a.id for a in manifest.advisories] == ["CESA-2012:1234"]
    assert [(link.advisory, link.family, link.repo) for link in landed.security] == [
        ("CESA-2012:1234", "tzdata", "smetest")]
    with Ledger.open(case.engine.layout.ledger_url) as ledger:
        waiting = UpstreamRecords(ledger).advisories("9", security_waiting=True)
    assert [(w.advisory, w.family_evr, w.cves) for w in waiting] == [
        ("CESA-2012:1234", "2012i-2.el5", ["CVE-2012-0001"])]
    [mail] = security_mail(case.engine.config, landed.security)
    assert mail["Subject"] == ("[updatesteam] Security update waiting: CESA-2012:1234 tzdata "
                               "(sme9)")
    body = mail.get_content()
    assert "Security update waiting for moving to production repository (sme9)" in body
    assert "tzdata-2012i-2.el5, landed from centos in smetest" in body
    assert "CVE-2012-0001 https://cve.example.org/CVE-2012-0001" in body


def test_a_dry_run_downloads_no_package_and_changes_nothing(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily]) -> None:
    case = scenario()
    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new"]))
    before = case.tree_files()
    manifest = case.sync.mirror("9", "centos", dry_run=True)
    assert "copy from centos to smetest (tzdata-2012i-2.el5.i386.rpm)" in manifest.planned
    assert not [p for p in case.server.served if p.endswith(".rpm")]
    assert case.tree_files() == before
    assert not case.sync.manifest_path("9", "centos").exists()


def test_the_cli_syncs_prints_the_report_and_fails_on_a_broken_source(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily], capsys: pytest.CaptureFixture[str]) -> None:
    case = scenario()
    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new", "GeoIP-new"]))
    common = ["--config", str(case.engine.config.source_file), "--root", str(case.root / "tree")]

    assert cli.run([*common, "sync-upstream", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "  copy from centos to smetest (tzdata-2012i-2.el5.x86_64.rpm)" in out
    assert "GeoIP-1.6.5-2.el5 from centos not landed: pinned at 1.4.8-1" in out
    assert not case.has("smetest", "i386", "tzdata-2012i-2.el5.i386.rpm")

    assert cli.run([*common, "sync-upstream", "--release", "9"]) == 0
    out = capsys.readouterr().out
    assert "tzdata (sme9)\ncopy from centos to smetest (tzdata-2012i-2.el5.i386.rpm)\n" in out
    assert "rebuild repo (sme9)\nrebuild smetest/i386\nrebuild smetest/x86_64\n" in out
    assert case.has("smetest", "i386", "tzdata-2012i-2.el5.i386.rpm")

    case.server.stop()
    assert cli.run([*common, "sync-upstream"]) == 1
    assert "centos (sme9): unreachable: " in capsys.readouterr().err


def test_keys_named_by_fingerprint_come_from_keys_dir_and_a_missing_one_is_named(
        scenario: Callable[..., Scenario], signed: dict[str, Path],
        families: dict[str, BuiltFamily], keys: dict[str, SigningKey]) -> None:
    fingerprint = keys["centos"].fingerprint
    case = scenario(gpgkeys=[fingerprint])
    keys_dir = case.root / "keys"  # the config's default keys_dir, next to dist.yaml
    keys_dir.mkdir()
    for key in keys.values():  # the stranger's key there too: only the named one is trusted
        (keys_dir / key.public.name).write_bytes(key.public.read_bytes())
    upstreamkit.publish(case.served, offer(signed, families, ["tzdata-new"]))
    manifest, _ = case.run()
    assert manifest.status == "synced", manifest.reason
    assert case.has("smetest", "i386", "tzdata-2012i-2.el5.i386.rpm")

    (keys_dir / keys["centos"].public.name).unlink()
    manifest = case.sync.mirror("9", "centos")
    assert manifest.status == "failed"
    assert f"no key with fingerprint {fingerprint} in {keys_dir}" in manifest.reason


def test_a_second_sync_of_one_source_waits_then_names_the_holder(
        scenario: Callable[..., Scenario]) -> None:
    case = scenario()
    impatient = case.engine.config.model_copy(update={"lock_timeout": 0})
    sync = UpstreamSync(Engine(impatient, case.engine.layout.root, trigger="cli"))
    directory = sync.mirror_dir("9", "centos")
    directory.mkdir(parents=True)
    with hold(directory / ".lock", "the mirror of centos (9)", 0, "airflow:upstream_sync/x"):
        manifest = sync.mirror("9", "centos")
    assert manifest.status == "failed"
    assert "the mirror of centos (9)" in manifest.reason
    assert "airflow:upstream_sync/x" in manifest.reason

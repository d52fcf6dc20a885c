"""A compromised mirror's metadata never chooses where a file is written (issue 15, §1).

Real signed RPMs in real createrepo_c repos, served over HTTP on 127.0.0.1; the hostile
metadata is rewritten with createrepo_c's API, consistent checksums and all. Each test
checks the frozen tree byte for byte, the ledger's `test failed`, and that the source's
good families still land.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import createrepo_c as cr
import pytest

from tests.kits import upstreamkit
from tests.kits.signing import SigningKey
from updraft import safepath
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.ledger import Ledger
from updraft.ledger.upstream import UpstreamRecords
from updraft.safepath import UnsafePath, contained, plain_name

pytestmark = pytest.mark.timeout(120)

TZ64 = "tzdata-2012i-2.el5.x86_64.rpm"
TZ_SRPM = "tzdata-2012i-2.el5.src.rpm"
TEVENT = "libtevent-0.9.31-2.el5.noarch.rpm"
GEOIP = "GeoIP-1.4.8-1.el5.noarch.rpm"  # in frozen smeos


@pytest.fixture
def case(tmp_path: Path, families: dict[str, BuiltFamily], keys: dict[str, SigningKey],
         signed: dict[str, Path]) -> Iterator[upstreamkit.Case]:
    made = upstreamkit.make_case(tmp_path, families, keys["centos"].public)
    upstreamkit.publish(made.served, upstreamkit.offer(signed, families,
                                                       ["tzdata-new", "libtevent-new"]))
    yield made
    made.server.stop()


def tree_digests(case: upstreamkit.Case) -> dict[str, str]:
    """Every file of the tree (state dir aside) -> its sha256: the frozen repos' bytes."""
    root = case.layout.root
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()
            and ".updraft" not in path.relative_to(root).parts and "repodata" not in path.parts}


def edit_entry(case: upstreamkit.Case, repo: str, filename: str,
               change: Callable[[cr.Package], object]) -> None:
    """Change the primary entry of `filename` in the served upstream repo `repo`."""
    def edit(package: cr.Package) -> None:
        if package.location_href.rsplit("/", 1)[-1] == filename:
            change(package)
    upstreamkit.rewrite_primary(case.served / "centos" / repo, edit)


def assert_held_good_landed(case: upstreamkit.Case, manifest: object, filename: str,
                            reason: str, before: dict[str, str]) -> None:
    assert manifest.status == "synced", manifest.reason  # type: ignore[attr-defined]
    smeos_before = {k: v for k, v in before.items() if "/smeos/" in k}
    after = tree_digests(case)
    assert {k: v for k, v in after.items() if "/smeos/" in k} == smeos_before
    assert not any("tzdata-2012i-2" in name for name in after), "the held family landed"
    assert case.has("smetest", "i386", TEVENT) and case.has("smetest", "x86_64", TEVENT)
    rejected = {r.filename: r for r in manifest.rejected}  # type: ignore[attr-defined]
    assert filename in rejected and reason in rejected[filename].reason, rejected
    assert case.state_of(filename) == "test failed"


def serve_hostile(case: upstreamkit.Case, repo: str, href: str, filename: str) -> None:
    """The hostile server answers the URL its href makes with the package's real bytes
    (so the checksum in its primary matches what a follower of the href would write)."""
    served = case.served / "centos" / repo / "Packages" / filename
    case.server.alias[f"/centos/{repo}/{urllib.parse.unquote(href)}"] = served


def _relative_to_mirror(case: upstreamkit.Case, repo_key: str, target: Path) -> str:
    return os.path.relpath(target, case.mirror_dir() / repo_key)


def smeos_geoip(case: upstreamkit.Case) -> Path:
    return case.layout.package_dir("9", "smeos", "x86_64") / GEOIP


@pytest.mark.parametrize("spelling", ["relative", "absolute", "url-encoded", "backslash"])
def test_a_primary_href_cannot_overwrite_a_package_in_frozen_smeos(
        case: upstreamkit.Case, spelling: str) -> None:
    victim = smeos_geoip(case)
    climb = _relative_to_mirror(case, "x86_64", victim)
    href = {"relative": climb, "absolute": str(victim),
            "url-encoded": climb.replace("..", "%2e%2e"),
            "backslash": climb.replace("/", "\\")}[spelling]
    edit_entry(case, "x86_64", TZ64, lambda p: setattr(p, "location_href", href))
    serve_hostile(case, "x86_64", href, TZ64)
    before = tree_digests(case)
    manifest, _ = case.run()
    assert_held_good_landed(case, manifest, TZ64, "refused", before)
    assert victim.read_bytes()[:4] == b"\xed\xab\xee\xdb"
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == before[
        str(victim.relative_to(case.layout.root))]


def test_an_srpm_href_from_source_url_cannot_leave_the_mirror(case: upstreamkit.Case) -> None:
    victim = case.layout.source_dir("9", "smeos") / "GeoIP-1.4.8-1.el5.src.rpm"
    assert victim.exists()
    href = _relative_to_mirror(case, "SRPMS", victim)
    edit_entry(case, "Source", TZ_SRPM, lambda p: setattr(p, "location_href", href))
    serve_hostile(case, "Source", href, TZ_SRPM)
    before = tree_digests(case)
    manifest, _ = case.run()
    assert_held_good_landed(case, manifest, TZ_SRPM, "climbs out", before)


def test_a_symlinked_directory_inside_the_mirror_does_not_lead_out(
        case: upstreamkit.Case) -> None:
    smeos = case.layout.package_dir("9", "smeos", "x86_64")
    listing = sorted(p.name for p in smeos.iterdir())
    packages = case.mirror_dir() / "x86_64" / "Packages"
    packages.parent.mkdir(parents=True)
    packages.symlink_to(smeos, target_is_directory=True)
    before = tree_digests(case)
    manifest, _ = case.run()
    assert sorted(p.name for p in smeos.iterdir()) == listing  # nothing new in smeos
    assert_held_good_landed(case, manifest, TZ64, "symlink", before)
    assert packages.is_symlink()  # and pruning the mirror did not follow it either


def test_a_repomd_record_href_cannot_leave_the_mirror(case: upstreamkit.Case) -> None:
    repo = case.served / "centos" / "x86_64"
    evil = case.served / "evil"
    evil.mkdir()

    def outward(record: cr.RepomdRecord) -> None:
        moved = evil / Path(record.location_href).name
        os.replace(repo / record.location_href, moved)
        record.location_href = f"../../evil/{moved.name}"

    primary = next(r for r in cr.Repomd(str(repo / "repodata" / "repomd.xml")).records
                   if r.type == "primary")
    upstreamkit.replace_record(repo, "primary", repo / primary.location_href, outward)
    manifest = case.sync.mirror("9", "centos")
    assert manifest.status == "failed"
    assert "primary record's location" in manifest.reason and "'..'" in manifest.reason
    assert sorted(p.name for p in case.mirror_dir().parent.iterdir()) == ["centos"]
    assert not list(case.root.rglob("*/mirror/*/evil/*"))
    with Ledger.open(case.layout.ledger_url) as ledger:
        assert UpstreamRecords(ledger).source_state("9", "centos")[0] == "failed"


def test_an_href_naming_another_entrys_file_is_refused_and_harms_nothing(
        case: upstreamkit.Case) -> None:
    """tzdata's entry points at libtevent's file: neither overwrites nor blocks it."""
    edit_entry(case, "x86_64", TZ64,
               lambda p: setattr(p, "location_href", f"Packages/{TEVENT}"))
    before = tree_digests(case)
    manifest, _ = case.run()
    assert_held_good_landed(case, manifest, TZ64, "is not its NEVRA", before)
    quarantine = case.layout.quarantine_dir("9") / "upstream" / "centos"
    assert not quarantine.exists() or not list(quarantine.glob("libtevent*"))


def test_an_xml_base_pointing_at_a_local_file_is_never_read(
        case: upstreamkit.Case, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / TZ64).write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    edit_entry(case, "x86_64", TZ64,
               lambda p: setattr(p, "location_base", secrets.as_uri() + "/"))
    edit_entry(case, "x86_64", TZ64, lambda p: setattr(p, "location_href", TZ64))
    before = tree_digests(case)
    manifest, _ = case.run()
    assert_held_good_landed(case, manifest, TZ64, "xml:base", before)
    leaked = [p for p in case.root.rglob("*") if p.is_file() and p != secrets / TZ64
              and b"secret-hash" in p.read_bytes()]
    assert leaked == []


@pytest.mark.parametrize("field, value, reason", [
    ("epoch", "1x", "epoch '1x' is not a number"),
    ("checksum_type", "crc99", "checksum type 'crc99' is unknown"),
])
def test_a_malformed_entry_is_test_failed_and_the_rest_lands(
        case: upstreamkit.Case, field: str, value: str, reason: str) -> None:
    edit_entry(case, "x86_64", TZ64, lambda p: setattr(p, field, value))
    before = tree_digests(case)
    manifest, _ = case.run()
    assert_held_good_landed(case, manifest, TZ64, reason, before)


@pytest.mark.parametrize("relative, reason", [
    ("../x.rpm", "'..'"), ("/etc/passwd", "absolute"), ("a/%2e%2e/%2E%2E/x", "URL-encoded"),
    ("a\\..\\x", "backslash"), ("a/\0/x", "NUL"), ("", "empty"), ("./.", "names no file"),
    ("%252e%252e/x", "URL-encoded"),
])
def test_contained_refuses_every_way_out(tmp_path: Path, relative: str, reason: str) -> None:
    with pytest.raises(UnsafePath, match=reason):
        contained(tmp_path, relative, "test entry")


def test_contained_refuses_a_symlinked_parent_and_plain_name_a_directory(
        tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    (tmp_path / "area" / "out").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePath, match="resolves outside"):
        contained(tmp_path / "area", "out/x.rpm", "entry")
    assert contained(tmp_path / "area", "Packages/./x.rpm", "entry") == (
        tmp_path / "area" / "Packages" / "x.rpm")
    for bad in ("a/b.rpm", "..", ".", "", "a%2fb.rpm"):
        with pytest.raises(UnsafePath):
            plain_name(bad, "name")
    assert plain_name("libstdc++-4.4.7-4.el6.i686.rpm", "name").startswith("libstdc++")


def test_plain_names_fast_path_agrees_with_the_general_checks() -> None:
    """Every name the quick pattern lets through, the general checks let through too;
    what it does not match still gets them (refused or passed as before)."""
    alphabet = "aZ09._+~^-%/\\:\n\t\x00 .."
    chance = random.Random(20)
    names = ["".join(chance.choice(alphabet) for _ in range(chance.randrange(0, 6)))
             for _ in range(5000)]
    names += ["noarch", "x86_64", "1.0~rc1^git2", "4.el6.sme", "..", ".hidden", "a-",
              "-a", "a%2e", "C:x", "_", "+", "libstdc++-4.4.7-4.el6.src.rpm"]
    fast = safepath._PLAIN
    for name in names:
        try:
            safepath._PLAIN = re.compile(r"(?!)")  # the general checks alone
            general: str | None = plain_name(name, "name")
        except UnsafePath:
            general = None
        finally:
            safepath._PLAIN = fast
        if fast.fullmatch(name):
            assert general == name, name
            assert plain_name(name, "name") == name
        elif general is None:
            with pytest.raises(UnsafePath):
                plain_name(name, "name")

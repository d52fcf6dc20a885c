"""The upstream keyring: real keys, real rpmsign'ed packages, real rpmkeys and gpg verdicts."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kits import signing
from updraft.devkit.rpmfactory import FamilySpec, build_family
from updraft.errors import ConfigError
from updraft.upstream.keyring import Keyring, KeyringError, SignatureCheck


@dataclass(frozen=True)
class Kit:
    trusted: signing.SigningKey
    other: signing.SigningKey
    signed: Path
    signed_srpm: Path
    unsigned: Path
    by_other: Path
    corrupt: Path
    payload: Path
    repomd: Path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    base = tmp_path_factory.mktemp("keyring")
    built = build_family(FamilySpec(name="foo", version="1.0", release="1", binary_dist=".el7"),
                         base / "built")
    trusted = signing.make_key(base, "Upstream Test")
    other = signing.make_key(base, "Other Key")
    packages = base / "packages"
    packages.mkdir()

    def copy(source: Path, name: str) -> Path:
        return Path(shutil.copy(source, packages / name))

    binary = built.binaries[0]
    kit = Kit(trusted, other, copy(binary, "signed.rpm"), copy(built.srpm, "signed.src.rpm"),
              copy(binary, "unsigned.rpm"), copy(binary, "other.rpm"),
              copy(binary, "corrupt.rpm"), copy(binary, "payload.rpm"), base / "repomd.xml")
    signing.sign_rpms(trusted, [kit.signed, kit.signed_srpm, kit.corrupt, kit.payload])
    signing.sign_rpms(other, [kit.by_other])
    signing.corrupt_signature(kit.corrupt)
    signing.tamper_payload(kit.payload)
    kit.repomd.write_text("<repomd><revision>1</revision></repomd>\n")
    return kit


@pytest.fixture
def keyring(tmp_path: Path, kit: Kit) -> Keyring:
    keyring = Keyring(tmp_path / "keyring")
    assert keyring.load([kit.trusted.public]) == [kit.trusted.fingerprint]
    return keyring


def checksig(path: Path, dbpath: Path) -> str:
    return subprocess.run(["rpmkeys", "--dbpath", str(dbpath), "--checksig", "-v", str(path)],
                          capture_output=True, text=True, check=False).stdout


def test_a_package_signed_by_the_trusted_key_is_ok(keyring: Keyring, kit: Kit) -> None:
    expected = SignatureCheck(True, "", kit.trusted.key_id)
    assert keyring.check_package(kit.signed) == expected
    assert keyring.check_package(kit.signed_srpm) == expected


def test_an_unsigned_package_is_refused(keyring: Keyring, kit: Kit) -> None:
    assert keyring.check_package(kit.unsigned) == SignatureCheck(
        False, "unsigned (no GPG signature)", None)


def test_a_package_signed_by_another_key_is_refused(keyring: Keyring, kit: Kit) -> None:
    key_id = kit.other.key_id
    assert keyring.check_package(kit.by_other) == SignatureCheck(
        False, f"signed by an unknown key (key ID {key_id})", key_id)


def test_a_corrupted_signature_reads_as_bad_with_intact_digests(keyring: Keyring,
                                                                kit: Kit) -> None:
    key_id = kit.trusted.key_id
    assert keyring.check_package(kit.corrupt) == SignatureCheck(
        False, f"bad GPG signature (key ID {key_id})", key_id)
    # The kit damages the signature only, not what it signs.
    output = checksig(kit.corrupt, keyring.rpmdb)
    assert f"Signature, key ID {key_id}: BAD" in output
    assert "Header SHA256 digest: OK" in output and "Payload SHA256 digest: OK" in output


def test_a_tampered_payload_is_a_digest_mismatch(keyring: Keyring, kit: Kit) -> None:
    key_id = kit.trusted.key_id
    assert keyring.check_package(kit.payload) == SignatureCheck(
        False, "digest mismatch (Payload SHA256 digest: BAD)", key_id)


def test_unreadable_packages_say_why(keyring: Keyring, kit: Kit, tmp_path: Path) -> None:
    not_rpm = tmp_path / "not.rpm"
    not_rpm.write_text("hello\n")
    truncated = tmp_path / "truncated.rpm"
    truncated.write_bytes(kit.signed.read_bytes()[:3000])
    missing = tmp_path / "missing.rpm"
    assert keyring.check_package(not_rpm) == SignatureCheck(
        False, "unreadable package (not an rpm package)", None)
    assert keyring.check_package(missing) == SignatureCheck(
        False, "unreadable package (open failed: No such file or directory)", None)
    check = keyring.check_package(truncated)
    assert not check.ok and check.reason.startswith("unreadable package (")
    assert check.reason.endswith("BAD, read returned 0)")


def test_a_batch_is_one_rpmkeys_run_attributed_per_file(
        keyring: Keyring, kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmp_path / "odd: café.rpm"  # rpmkeys heads each block with "<path>:"
    shutil.copy(kit.by_other, odd)
    monkeypatch.chdir(kit.signed.parent)
    relative = Path(kit.unsigned.name)
    paths = [kit.signed, relative, kit.by_other, kit.corrupt, kit.payload, odd,
             kit.signed_srpm, kit.signed, kit.unsigned]
    alone = {path: keyring.check_package(path) for path in paths}
    runs: list[list[str]] = []
    real = Keyring._checksig

    def spy(self: Keyring, names: list[str]) -> tuple[int, str, str]:
        runs.append(names)
        return real(self, names)

    monkeypatch.setattr(Keyring, "_checksig", spy)
    assert keyring.check_packages(paths) == alone
    assert len(runs) == 1 and len(runs[0]) == 7  # the same file is checked once
    assert alone[odd].reason == alone[kit.by_other].reason
    assert alone[relative].reason == "unsigned (no GPG signature)"
    # Files rpmkeys prints no usable block for are checked alone, for rpmkeys' stderr.
    runs.clear()
    missing, newline = tmp_path / "missing.rpm", tmp_path / "new\nline.rpm"
    shutil.copy(kit.signed, newline)
    found = keyring.check_packages([kit.signed, missing, newline, kit.unsigned])
    assert [len(names) for names in runs] == [3, 1, 1]
    assert found[kit.signed].ok and found[newline].ok
    assert found[missing].reason.startswith("unreadable package (open failed")
    assert found[kit.unsigned].reason == "unsigned (no GPG signature)"


@pytest.mark.parametrize("garble", ["exit code", "stray line"])
def test_a_batch_rpmkeys_output_we_cannot_trust_is_redone_file_by_file(
        keyring: Keyring, kit: Kit, monkeypatch: pytest.MonkeyPatch, garble: str) -> None:
    paths = [kit.signed, kit.unsigned, kit.by_other, kit.corrupt, kit.payload]
    alone = {path: keyring.check_package(path) for path in paths}
    runs: list[int] = []
    real = Keyring._checksig

    def garbled(self: Keyring, names: list[str]) -> tuple[int, str, str]:
        runs.append(len(names))
        rc, out, err = real(self, names)
        if len(names) > 1:
            rc, out = (rc + 1, out) if garble == "exit code" else (rc, "warning: ?\n" + out)
        return rc, out, err

    monkeypatch.setattr(Keyring, "_checksig", garbled)
    assert keyring.check_packages(paths) == alone
    assert runs == [5, 1, 1, 1, 1, 1]


def test_load_again_with_the_same_keys_rebuilds_nothing(
        keyring: Keyring, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    state = keyring.home / "keyring.json"
    before = state.stat()
    rebuilds: list[object] = []
    monkeypatch.setattr(Keyring, "_rebuild", lambda *args: rebuilds.append(args))
    assert keyring.load([kit.trusted.public]) == [kit.trusted.fingerprint]
    assert Keyring(keyring.home).load([kit.trusted.public]) == [kit.trusted.fingerprint]
    after = state.stat()
    assert rebuilds == []
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_removed_key_stops_being_trusted(keyring: Keyring, kit: Kit) -> None:
    both = keyring.load([kit.trusted.public, kit.other.public])
    assert both == [kit.trusted.fingerprint, kit.other.fingerprint]
    assert keyring.check_package(kit.by_other).ok
    assert keyring.check_package(kit.signed).ok
    assert keyring.load([kit.trusted.public]) == [kit.trusted.fingerprint]
    assert keyring.check_package(kit.by_other).reason.startswith("signed by an unknown key")
    with pytest.raises(KeyringError, match="signed by an unknown key"):
        keyring.verify_detached(kit.repomd, signing.sign_detached(kit.other, kit.repomd))


def test_a_key_file_replaced_in_place_is_reloaded(keyring: Keyring, kit: Kit,
                                                 tmp_path: Path) -> None:
    configured = tmp_path / "RPM-GPG-KEY-upstream"
    shutil.copy(kit.trusted.public, configured)
    assert keyring.load([configured]) == [kit.trusted.fingerprint]
    shutil.copy(kit.other.public, configured)
    assert keyring.load([configured]) == [kit.other.fingerprint]
    assert keyring.check_package(kit.by_other).ok
    assert not keyring.check_package(kit.signed).ok


def test_fingerprint_pins(keyring: Keyring, kit: Kit) -> None:
    trusted, other = kit.trusted, kit.other
    spaced = " ".join(trusted.fingerprint[i:i + 4] for i in range(0, 40, 4)).lower()
    assert keyring.load([trusted.public], [spaced]) == [trusted.fingerprint]
    with pytest.raises(ConfigError) as raised:
        keyring.load([trusted.public, other.public], [trusted.fingerprint])
    assert str(raised.value).startswith(f"{other.public}: key {other.fingerprint} is not one of "
                                        "the pinned fingerprints")
    # A failed load trusts nothing until a good one.
    with pytest.raises(KeyringError, match="no keys loaded"):
        keyring.check_package(kit.signed)
    with pytest.raises(ConfigError, match=f"pinned fingerprint {other.fingerprint} is in none"):
        keyring.load([trusted.public], [trusted.fingerprint, other.fingerprint])
    with pytest.raises(ConfigError, match="not a full OpenPGP fingerprint"):
        keyring.load([trusted.public], ["2A177D9A"])
    assert keyring.load([trusted.public], [trusted.fingerprint]) == [trusted.fingerprint]
    assert keyring.check_package(kit.signed).ok


def test_bad_key_files_name_the_file(keyring: Keyring, kit: Kit, tmp_path: Path) -> None:
    missing = tmp_path / "missing.asc"
    garbage = tmp_path / "garbage.asc"
    garbage.write_text("not a key\n")
    secret = tmp_path / "secret.asc"
    secret.write_bytes(signing.export_secret_key(kit.trusted))
    signature = signing.sign_detached(kit.trusted, kit.repomd)
    for path, words in [(missing, "cannot read public key file (No such file or directory)"),
                        (garbage, "holds no OpenPGP public key"),
                        (signature, "holds no OpenPGP public key"),
                        (secret, "holds a secret key")]:
        with pytest.raises(ConfigError) as raised:
            keyring.load([kit.trusted.public, path])
        assert str(raised.value).startswith(f"{path}: {words}")
    with pytest.raises(ConfigError, match="no public key files given"):
        keyring.load([])


def test_verify_detached(keyring: Keyring, kit: Kit, tmp_path: Path) -> None:
    data = tmp_path / "repomd.xml"
    shutil.copy(kit.repomd, data)
    signature = signing.sign_detached(kit.trusted, data)
    assert keyring.verify_detached(data, signature) == kit.trusted.fingerprint
    data.write_text("<repomd><revision>2</revision></repomd>\n")
    with pytest.raises(KeyringError) as raised:
        keyring.verify_detached(data, signature)
    long_id = kit.trusted.fingerprint[-16:]
    assert str(raised.value) == f"{signature}: bad signature (key ID {long_id})"
    by_other = signing.sign_detached(kit.other, data)
    with pytest.raises(KeyringError) as raised:
        keyring.verify_detached(data, by_other)
    assert str(raised.value) == (f"{by_other}: signed by an unknown key "
                                 f"(key ID {kit.other.fingerprint[-16:]})")
    for not_signature in (kit.trusted.public, kit.repomd):
        with pytest.raises(KeyringError) as raised:
            keyring.verify_detached(data, not_signature)
        assert str(raised.value) == f"{not_signature}: not a signature"
    with pytest.raises(KeyringError, match="missing.xml: cannot read"):
        keyring.verify_detached(tmp_path / "missing.xml", signature)


def test_the_users_gnupg_and_rpm_config_are_ignored(
        keyring: Keyring, kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".gnupg").mkdir(parents=True, mode=0o700)
    subprocess.run(["gpg", "--homedir", str(home / ".gnupg"), "--batch", "--no-autostart",
                    "--import", str(kit.other.public)], capture_output=True, check=True)
    (home / ".rpmmacros").write_text(f"%_dbpath {tmp_path / 'elsewhere'}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GNUPGHOME", str(home / ".gnupg"))
    signature = signing.sign_detached(kit.other, kit.repomd)
    with pytest.raises(KeyringError, match="signed by an unknown key"):
        keyring.verify_detached(kit.repomd, signature)
    assert not keyring.check_package(kit.by_other).ok
    assert not (tmp_path / "elsewhere").exists()


def test_the_system_rpmdb_is_untouched(kit: Kit, tmp_path: Path) -> None:
    def system_rpmdb() -> tuple[str, list[tuple[str, str]]]:
        keys = subprocess.run(["rpm", "-qa", "gpg-pubkey"], capture_output=True, text=True,
                              check=False).stdout
        dbpath = Path(subprocess.run(["rpm", "--eval", "%_dbpath"], capture_output=True,
                                     text=True, check=True).stdout.strip())
        files = sorted(dbpath.glob("*")) if dbpath.is_dir() else []
        # The -shm/-wal files change under mere readers; the database files do not.
        return keys, [(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
                      if not f.name.endswith(("-shm", "-wal"))]

    before = system_rpmdb()
    keyring = Keyring(tmp_path / "keyring")
    keyring.load([kit.trusted.public, kit.other.public])
    assert keyring.check_packages([kit.signed, kit.by_other, kit.corrupt])[kit.signed].ok
    assert system_rpmdb() == before
    assert kit.trusted.key_id not in before[0] and kit.other.key_id not in before[0]
    # rpm's default dbpath on Debian is ~/.rpmdb: with HOME pinned it would show up here.
    assert not (keyring.home / ".rpmdb").exists()
    assert stat.S_IMODE(keyring.gnupg_home.stat().st_mode) == 0o700
    assert not list(keyring.gnupg_home.glob("S.gpg-agent*"))  # no agent was started


def test_nothing_is_checked_before_keys_are_loaded(kit: Kit, tmp_path: Path) -> None:
    keyring = Keyring(tmp_path / "keyring")
    with pytest.raises(KeyringError, match="no keys loaded"):
        keyring.check_package(kit.signed)
    with pytest.raises(KeyringError, match="no keys loaded"):
        keyring.verify_detached(kit.repomd, kit.trusted.public)

"""Signing built packages: real passphrase-protected keys, real rpmsign and rpmkeys."""

from __future__ import annotations

import hashlib
import logging
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gnupg
import pytest

from tests.kits import signing, treekit
from updraft.build.signing import Signer, SigningError, SigningKey
from updraft.upstream.keyring import Keyring

# Shell and popt specials, so that any quoting slip would show.
PASSPHRASE = "Corr3ct horse 'battery' $staple"
NEEDS_SOURCE = ("the updraft_gpg connection needs extra.gnupghome or extra.secret_key "
                "(exactly one of them)")


@dataclass(frozen=True)
class Kit:
    builder: signing.SigningKey  # protected by PASSPHRASE
    stranger: signing.SigningKey  # no passphrase
    secret_key: str  # the builder's armored secret key
    packages: tuple[Path, ...]  # unsigned: an SRPM and a noarch RPM


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    base = tmp_path_factory.mktemp("bsign")
    builder = signing.make_key(base, "Builder Test", passphrase=PASSPHRASE)
    stranger = signing.make_key(base, "Stranger")
    family = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), base / "rpms",
                           ("x86_64",))
    secret = signing.export_secret_key(builder, PASSPHRASE).decode()
    return Kit(builder, stranger, secret, tuple(family.files()))


@pytest.fixture
def packages(tmp_path: Path, kit: Kit) -> list[Path]:
    """Private copies: signing rewrites the files in place."""
    target = tmp_path / "pkgs"
    target.mkdir()
    return [Path(shutil.copy(path, target / path.name)) for path in kit.packages]


def by_home(kit: Kit, passphrase: str = PASSPHRASE) -> SigningKey:
    return SigningKey(kit.builder.fingerprint, passphrase, gnupghome=kit.builder.home)


def checks(directory: Path, key: signing.SigningKey, paths: list[Path]) -> dict:
    keyring = Keyring(directory)
    keyring.load([key.public])
    return keyring.check_packages(paths)


def snapshot(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(home.rglob("*"))}


def agents_for(home: Path) -> list[int]:
    """Live gpg-agent processes started for `home` (zombies have no command line)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "gpg-agent" in cmdline and str(home) in cmdline:
            found.append(int(proc.name))
    return found


def wait_no_agent(home: Path) -> None:
    deadline = time.monotonic() + 5  # gpgconf --kill returns before the agent exits
    while agents_for(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not agents_for(home)


def test_signs_with_a_copy_of_the_builders_home(tmp_path: Path, kit: Kit,
                                                packages: list[Path]) -> None:
    before = snapshot(kit.builder.home)
    progress: list[str] = []
    secrets: list[tuple[int, int, str]] = []

    def on_progress(line: str) -> None:
        progress.append(line)
        assert agents_for(signer._home)  # so that wait_no_agent below means something
        secret = signer.scratch / "passphrase"  # still there while signing
        secrets.append((stat.S_IMODE(secret.stat().st_mode),
                        stat.S_IMODE(signer.scratch.stat().st_mode), secret.read_text()))

    with Signer(by_home(kit), tmp_path / "work") as signer:
        report = signer.sign(packages, on_progress)
        scratch, home = signer.scratch, signer._home
        assert signer.fingerprint() == kit.builder.fingerprint
    assert report.signed == tuple(packages)
    assert report.fingerprint == kit.builder.fingerprint
    assert report.key_id == kit.builder.key_id
    assert report.public_key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert progress == [f"signed 2 of 2 packages with key {kit.builder.key_id}"]
    assert secrets == [(0o600, 0o700, PASSPHRASE)]
    verdicts = checks(tmp_path / "check", kit.builder, packages)
    assert all(v.ok and v.key_id == kit.builder.key_id for v in verdicts.values()), verdicts
    assert not scratch.exists()
    wait_no_agent(home)
    assert snapshot(kit.builder.home) == before  # no sockets, no trustdb update, nothing


def test_signs_with_an_armored_secret_key(tmp_path: Path, kit: Kit,
                                          packages: list[Path]) -> None:
    key = SigningKey(kit.builder.uid, PASSPHRASE, secret_key=kit.secret_key)
    with Signer(key, tmp_path / "work") as signer:
        report = signer.sign(packages)
        home = signer._home
    assert report.fingerprint == kit.builder.fingerprint
    verdicts = checks(tmp_path / "check", kit.builder, packages)
    assert all(v.ok and v.key_id == kit.builder.key_id for v in verdicts.values()), verdicts
    wait_no_agent(home)


def test_wrong_passphrase_is_one_line_without_secrets(tmp_path: Path, kit: Kit,
                                                      packages: list[Path]) -> None:
    wrong = "Wr0ng horse battery"
    originals = [path.read_bytes() for path in packages]
    with Signer(by_home(kit, wrong), tmp_path / "work") as signer:
        with pytest.raises(SigningError) as raised:
            signer.sign(packages)
        assert not (signer.scratch / "passphrase").exists()  # gone on errors too
    message = str(raised.value)
    assert message == (f"rpmsign could not sign {packages[0]} with key {kit.builder.key_id}: "
                       "bad passphrase (check the password of the updraft_gpg connection)")
    assert wrong not in message and PASSPHRASE not in message
    assert [path.read_bytes() for path in packages] == originals
    verdicts = checks(tmp_path / "check", kit.builder, packages)
    assert [v.reason for v in verdicts.values()] == ["unsigned (no GPG signature)"] * 2


def test_missing_passphrase_says_to_set_it(tmp_path: Path, kit: Kit,
                                           packages: list[Path]) -> None:
    with Signer(by_home(kit, ""), tmp_path / "work") as signer:
        with pytest.raises(SigningError, match="the key needs a passphrase"):
            signer.sign(packages)


def test_package_signed_by_a_stranger_is_resigned_with_ours(tmp_path: Path, kit: Kit,
                                                            packages: list[Path]) -> None:
    signing.sign_rpms(kit.stranger, packages)
    assert all(v.ok for v in checks(tmp_path / "before", kit.stranger, packages).values())
    with Signer(by_home(kit), tmp_path / "work") as signer:
        signer.sign(packages)
    verdicts = checks(tmp_path / "check", kit.builder, packages)
    assert all(v.ok and v.key_id == kit.builder.key_id for v in verdicts.values()), verdicts
    # Replaced, not added next to it: the stranger's key no longer verifies anything.
    assert not any(v.ok for v in checks(tmp_path / "after", kit.stranger, packages).values())


def test_passphrase_never_in_argv_env_or_logs(tmp_path: Path, kit: Kit, packages: list[Path],
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []

    class Recording(subprocess.Popen):
        def __init__(self, args: list[str], *rest: Any, **kwargs: Any) -> None:
            calls.append(([str(a) for a in args], dict(kwargs.get("env") or {})))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    monkeypatch.setattr(gnupg, "Popen", Recording)  # python-gnupg imported it by name
    caplog.set_level(logging.DEBUG)
    for number, key in enumerate([by_home(kit), SigningKey(
            kit.builder.fingerprint, PASSPHRASE, secret_key=kit.secret_key)]):
        with Signer(key, tmp_path / f"work{number}") as signer:
            signer.sign(packages, lambda line: logging.getLogger("test").info(line))
    assert sum(argv[0] == "rpmsign" for argv, _ in calls) == 2
    for argv, env in calls:
        assert not any(PASSPHRASE in a for a in argv), argv
        assert not any(PASSPHRASE in v for v in env.values()), env
    assert PASSPHRASE not in caplog.text
    assert "signed 2 of 2 packages" in caplog.text


@pytest.mark.parametrize("sources", [{}, {"gnupghome": Path("/nonexistent"),
                                          "secret_key": "-----BEGIN PGP PRIVATE KEY BLOCK"}])
def test_needs_exactly_one_key_source(sources: dict) -> None:
    with pytest.raises(SigningError) as raised:
        SigningKey("ABCD1234", PASSPHRASE, **sources)
    assert str(raised.value) == NEEDS_SOURCE
    assert PASSPHRASE not in repr(SigningKey("ABCD1234", PASSPHRASE, gnupghome=Path("/x")))


def test_unknown_key_id(tmp_path: Path, kit: Kit) -> None:
    key = SigningKey("nobody@example.org", PASSPHRASE, gnupghome=kit.builder.home)
    with Signer(key, tmp_path / "work") as signer, pytest.raises(SigningError) as raised:
        signer.fingerprint()
    message = str(raised.value)
    assert message.startswith(f"no secret key nobody@example.org in {kit.builder.home}: ")
    assert "\n" not in message and not signer.scratch.exists()


def test_missing_gnupghome_and_bad_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="no such GnuPG home; fix extra.gnupghome"):
        Signer(SigningKey("x", gnupghome=tmp_path / "nohome"), tmp_path / "work")
    with pytest.raises(SigningError, match="extra.secret_key .* holds no importable secret"):
        Signer(SigningKey("x", secret_key="not a key"), tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []  # scratch cleaned after failed setup


def test_deep_workdir_keeps_agent_sockets_short(tmp_path: Path, kit: Kit,
                                                packages: list[Path]) -> None:
    workdir = tmp_path.joinpath(*["deep-directory-name"] * 6)
    with Signer(by_home(kit), workdir) as signer:
        signer.sign(packages)
        home = signer._home
        assert len(str(home / "S.gpg-agent.browser")) <= 107
    assert not home.exists()
    wait_no_agent(home)
    verdicts = checks(tmp_path / "check", kit.builder, packages)
    assert all(v.ok for v in verdicts.values())

"""The demo's GPG key: one key that signs the demo upstream, the demo builds and the demo
ISO's packages, made once under the demo dir (`.demo/keys`, never committed).

A real distribution has several keys (each upstream's, its own signing key, its release
key) and never keeps a secret key next to its tree; the demo keeps one, passphrase
protected, so that `make run` needs nothing set up. The passphrase sits in a 0600 file in
the 0700 key dir and reaches gpg through the library's Signer (a file, never argv).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gnupg

from updraft.build.signing import Signer, SigningKey
from updraft.errors import UpdraftError

PUBLIC_NAME = "RPM-GPG-KEY-updraft-demo"  # the file the config's gpgkeys/release_keys name
_UID = ("updraft demo key", "releases@contribs.org")


@dataclass(frozen=True)
class DemoKey:
    directory: Path  # .demo/keys: gnupg/, fingerprint, passphrase, the public key file
    fingerprint: str
    passphrase: str = field(repr=False)

    @property
    def gnupghome(self) -> Path:
        return self.directory / "gnupg"

    @property
    def public(self) -> Path:
        return self.directory / PUBLIC_NAME

    @property
    def key_id(self) -> str:
        """The short key id as rpmkeys prints it."""
        return self.fingerprint[-8:].lower()

    def signing_key(self) -> SigningKey:
        """What the build signer (and the updraft_gpg connection) takes."""
        return SigningKey(self.fingerprint, self.passphrase, gnupghome=self.gnupghome)

    def sign_rpms(self, paths: Sequence[Path]) -> None:
        """rpmsign every package in place and check each signature (the build's Signer)."""
        if paths:
            with Signer(self.signing_key(), self.directory / "work") as signer:
                signer.sign(paths)

    def sign_detached(self, path: Path) -> Path:
        """An armored detached signature `<path>.asc` (repomd.xml.asc)."""
        target = path.with_name(path.name + ".asc")
        gpg = gnupg.GPG(gnupghome=str(self.gnupghome))
        with open(path, "rb") as stream:
            made = gpg.sign_file(stream, keyid=self.fingerprint, passphrase=self.passphrase,
                                 detach=True, output=str(target))
        _stop_agent(self.gnupghome)
        if not made or not target.is_file():
            raise UpdraftError(f"could not sign {path.name} with the demo key: "
                               f"{(made.stderr or '')[-300:]}")
        return target


def demo_key(directory: Path) -> DemoKey:
    """The demo key in `directory`, made on the first call (~1 s)."""
    directory = Path(directory)
    fingerprint_file, passphrase_file = directory / "fingerprint", directory / "passphrase"
    if not fingerprint_file.is_file():
        _make(directory, fingerprint_file, passphrase_file)
    return DemoKey(directory, fingerprint_file.read_text().strip(),
                   passphrase_file.read_text())


def _make(directory: Path, fingerprint_file: Path, passphrase_file: Path) -> None:
    home = directory / "gnupg"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    home.chmod(0o700)  # gpg warns about "unsafe permissions" otherwise
    passphrase = secrets.token_urlsafe(18)
    gpg = gnupg.GPG(gnupghome=str(home))
    made = gpg.gen_key(gpg.gen_key_input(
        key_type="RSA", key_length=2048, name_real=_UID[0], name_email=_UID[1],
        expire_date=0, passphrase=passphrase))
    _stop_agent(home)
    if not made.fingerprint:
        raise UpdraftError(f"could not make the demo key: {(made.stderr or '')[-300:]}")
    public = gpg.export_keys(made.fingerprint)
    if "BEGIN PGP PUBLIC KEY BLOCK" not in public:
        raise UpdraftError("could not export the demo key's public half")
    (directory / PUBLIC_NAME).write_text(public)
    descriptor = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(passphrase)
    # Written last: its presence says the key is complete.
    fingerprint_file.write_text(made.fingerprint.upper() + "\n")


def _stop_agent(home: Path) -> None:
    # gen_key and sign start an agent in the home; none may outlive the demo's setup.
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,
                   capture_output=True)

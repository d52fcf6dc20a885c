"""Test kit: real GPG keys, rpmsign'ed packages, detached signatures and broken signatures.

Every gpg and rpmsign run gets its own GNUPGHOME and HOME (no ~/.gnupg, no ~/.rpmmacros)
and the gpg-agent it starts is stopped again, so no agent outlives a test. gpg puts the
agent's sockets in the GNUPGHOME here (there is no /run/user/<uid>), and a socket path
may not exceed 107 bytes: a key whose `directory` is deep (an xdist worker's tmp_path is
ten bytes deeper) gets its home in a short dir of its own, as updraft's signer does.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_MAX_HOME = 80  # as updraft.build.signing: gpg-agent's sockets and lock files fit
_LEAD = 96  # bytes of the legacy rpm lead before the signature header
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
# Signature header tags holding an OpenPGP signature packet: header-only RSA/DSA (what
# rpm >= 4.16 writes), then the legacy header+payload PGP/GPG ones.
_SIGNATURE_TAGS = (268, 267, 1002, 1005)


@dataclass(frozen=True)
class SigningKey:
    home: Path  # its private GNUPGHOME
    uid: str  # "Upstream Test <upstream-test@example.org>"
    fingerprint: str  # uppercase hex
    public: Path  # armored public key file

    @property
    def key_id(self) -> str:
        """The short key ID as rpmkeys prints it."""
        return self.fingerprint[-8:].lower()


def make_key(directory: Path, name: str = "Upstream Test",
             passphrase: str | None = None) -> SigningKey:
    """A real RSA 2048 key (~0.1 s) in its own GNUPGHOME, protected by `passphrase` if
    given, else without passphrase."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "key"
    uid = f"{name} <{slug}@example.org>"
    directory.mkdir(parents=True, exist_ok=True)  # the public key goes there
    home = directory / f"{slug}.gnupg"
    if len(str(home)) > _MAX_HOME:
        short = tempfile.mkdtemp(prefix="updraft-testkey-")
        atexit.register(shutil.rmtree, short, True)
        home = Path(short) / f"{slug}.gnupg"
    home.mkdir(mode=0o700, parents=True)
    home.chmod(0o700)  # gpg warns about "unsafe permissions" otherwise
    # "Passphrase:" is a key parameter: it must follow Key-Type, unlike %no-protection.
    protection = ("%no-protection\n", "") if passphrase is None else \
        ("", f"Passphrase: {passphrase}\n")
    params = (f"{protection[0]}Key-Type: RSA\nKey-Length: 2048\n{protection[1]}"
              f"Name-Real: {name}\nName-Email: {slug}@example.org\nExpire-Date: 0\n%commit\n")
    with _agent(home):
        _gpg(home, "--gen-key", stdin=params.encode())
    listing = _gpg(home, "--with-colons", "--list-keys", uid).stdout.decode()
    fingerprint = next(line.split(":")[9] for line in listing.splitlines()
                       if line.startswith("fpr:"))
    public = directory / f"{slug}.asc"
    public.write_bytes(_gpg(home, "--armor", "--export", fingerprint).stdout)
    return SigningKey(home, uid, fingerprint.upper(), public)


def sign_rpms(key: SigningKey, paths: Sequence[Path]) -> None:
    """rpmsign --addsign every package in place, in one rpmsign run."""
    command = ["rpmsign",
               # Debian's rpm points %__gpg at a binary that does not exist.
               "--define", "__gpg /usr/bin/gpg",
               "--define", f"_gpg_name {key.fingerprint}",
               "--define", f"_gpg_path {key.home}",
               "--addsign", *map(str, paths)]
    with _agent(key.home):
        _run(command, key.home)


def sign_detached(key: SigningKey, path: Path) -> Path:
    """An armored detached signature `<path>.asc` (like repomd.xml.asc)."""
    signature = path.with_name(path.name + ".asc")
    with _agent(key.home):
        _gpg(key.home, "--yes", "--armor", "--local-user", key.fingerprint,
             "--output", str(signature), "--detach-sign", str(path))
    return signature


def export_secret_key(key: SigningKey, passphrase: str | None = None) -> bytes:
    """The armored secret key, to check that a keyring refuses one; a protected key's
    `passphrase` is fed on stdin (gpg asks for it to export)."""
    unlock = () if passphrase is None else ("--pinentry-mode", "loopback", "--passphrase-fd", "0")
    with _agent(key.home):
        return _gpg(key.home, *unlock, "--armor", "--export-secret-keys", key.fingerprint,
                    stdin=None if passphrase is None else passphrase.encode()).stdout


def corrupt_signature(path: Path) -> None:
    """Damage a signed package so that rpmkeys reads its signature as BAD, digests OK.

    Flipping a byte of the signed main header would do it too, but then the header
    digests read BAD as well; flipping the last byte of the signature packet (inside the
    RSA value) leaves everything intact except the signature itself.
    """
    data = bytearray(path.read_bytes())
    store, entries, _ = _signature_header(data)
    for tag in _SIGNATURE_TAGS:
        if tag in entries:
            offset, count = entries[tag]
            data[store + offset + count - 1] ^= 0x01
            path.write_bytes(data)
            return
    raise ValueError(f"{path}: not signed, no signature to corrupt")


def tamper_payload(path: Path) -> None:
    """Flip a byte of the compressed payload: rpmkeys reads the payload digest as BAD."""
    data = bytearray(path.read_bytes())
    _, _, end = _signature_header(data)
    main_entries, main_size = struct.unpack(">II", data[end + 8:end + 16])
    payload = end + 16 + 16 * main_entries + main_size
    if payload + 40 >= len(data):
        raise ValueError(f"{path}: payload too small to tamper with")
    data[payload + 40] ^= 0x01
    path.write_bytes(data)


def _signature_header(data: bytearray) -> tuple[int, dict[int, tuple[int, int]], int]:
    """Where the signature header's data store starts, its tags (offset, count) and where
    the main header starts (the signature header is padded to 8 bytes)."""
    if data[_LEAD:_LEAD + 4] != _HEADER_MAGIC:
        raise ValueError("not an rpm package (no signature header after the lead)")
    count, size = struct.unpack(">II", data[_LEAD + 8:_LEAD + 16])
    index = _LEAD + 16
    entries = {}
    for i in range(count):
        tag, _type, offset, items = struct.unpack(">iiii", data[index + 16 * i:index + 16 * i + 16])
        entries[tag] = (offset, items)
    store = index + 16 * count
    return store, entries, (store + size + 7) // 8 * 8


@contextmanager
def _agent(home: Path) -> Iterator[None]:
    """Stop the gpg-agent that gpg starts for secret key operations in `home`."""
    try:
        yield
    finally:
        _run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], home)
        # The agent leaves after the kill returns; a gpg started before its socket is
        # gone connects to the dying agent and fails "can't connect to the agent: End of
        # file" (seen under load). Its socket going away is the agent's exit.
        socket = home / "S.gpg-agent"
        deadline = time.monotonic() + 10
        while socket.exists() and time.monotonic() < deadline:
            time.sleep(0.02)


def _gpg(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return _run(["gpg", "--homedir", str(home), "--batch", *args], home, stdin)


def _run(command: list[str], home: Path,
         stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "LC_ALL": "C",
           "GNUPGHOME": str(home)}
    done = subprocess.run(command, input=stdin, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
    return done

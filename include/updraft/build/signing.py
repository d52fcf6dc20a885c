"""Signing built packages: `rpmsign --addsign` with the builder's key, then every signature
checked by rpmkeys against that key's public half (seed 004's "Sign?" gate).

Everything runs in a private scratch dir: a copy of the builder's GnuPG home (or a fresh
one holding the imported secret key), the passphrase file and the rpmdb of the check.
The builder's own home is never written to and no gpg-agent outlives `close()`. The
passphrase only ever sits in a 0600 file in that 0700 dir, read by gpg itself: never in
argv, the environment, a log line or an error message.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import gnupg

from updraft.engine.durable import alive
from updraft.engine.faults import checkpoint
from updraft.errors import UpdraftError
from updraft.upstream.keyring import Keyring

# Files per rpmsign run: far below ARG_MAX, and rpmsign exits with the number of failures.
_BATCH = 200
# gpg puts the agent's sockets in the home (no /run/user here); a socket path is at most
# 107 bytes, and the agent needs room for "S.gpg-agent.browser" and its lock files.
_MAX_HOME = 80  # measured: gpg-agent 2.2 fails from 87 bytes on (sockets, lock files)
# What a copied home needs; never the user's sockets, gpg.conf or gpg-agent.conf.
_HOME_ENTRIES = ("pubring.kbx", "pubring.gpg", "secring.gpg", "trustdb.gpg",
                 "private-keys-v1.d", "openpgp-revocs.d")
_CONNECTION = "the updraft_gpg connection"
# gpg's words (stderr of rpmsign) -> what the user should do.
_REASONS = (
    ("Bad passphrase", f"bad passphrase (check the password of {_CONNECTION})"),
    ("No passphrase given", f"the key needs a passphrase (set the password of {_CONNECTION})"),
    ("No secret key", f"no secret key (check the key id of {_CONNECTION})"),
)


class SigningError(UpdraftError):
    """Packages could not be signed, or their signatures did not verify afterwards."""


@dataclass(frozen=True)
class SigningKey:
    key_id: str  # fingerprint, key id or uid: anything gpg accepts for -u
    passphrase: str = field(default="", repr=False)
    gnupghome: Path | None = None  # the builder's GnuPG home holding the secret key
    secret_key: str | None = field(default=None, repr=False)  # or an armored secret key

    def __post_init__(self) -> None:
        if (self.gnupghome is None) == (self.secret_key is None):
            raise SigningError(f"{_CONNECTION} needs extra.gnupghome or extra.secret_key "
                               "(exactly one of them)")
        if not self.key_id.strip():
            raise SigningError(f"{_CONNECTION} needs the key id of the signing key")
        if "\n" in self.passphrase or "\r" in self.passphrase:
            # gpg reads only the first line of --passphrase-file.
            raise SigningError(f"the password of {_CONNECTION} must be one line")


@dataclass(frozen=True)
class SignReport:
    signed: tuple[Path, ...]
    fingerprint: str  # uppercase full fingerprint of the signing key
    key_id: str  # short key id as rpmkeys prints it (last 8 hex, lowercase)
    public_key: str  # armored public key used for verification


class Signer:
    """Signs packages with one key, in a private scratch dir under `workdir`."""

    def __init__(self, key: SigningKey, workdir: Path) -> None:
        self.key = key
        Path(workdir).mkdir(parents=True, exist_ok=True)
        sweep(Path(workdir))
        self.scratch = Path(tempfile.mkdtemp(prefix=f"sign-{os.getpid()}-",
                                             dir=workdir)).absolute()  # 0700
        self._home = self.scratch / "gnupg"
        self._own_home = False  # True when the home had to live outside the scratch dir
        self._env: dict[str, str] = {}
        self._keys: dict | None = None
        self._public: str | None = None
        try:
            self._make_home()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Signer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop the agent and delete the scratch dir, passphrase file included."""
        if self._home.is_dir():
            self._run(["gpgconf", "--homedir", str(self._home), "--kill", "gpg-agent"],
                      required=False)
        if self._own_home:
            shutil.rmtree(self._home, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def fingerprint(self) -> str:
        """The uppercase fingerprint of the secret key named by the key id."""
        return self._key()["fingerprint"].upper()

    def public_key(self) -> str:
        """The armored public key, for verification here and for publishing."""
        if self._public is None:
            exported = self._gpg().export_keys(self.fingerprint())
            if "BEGIN PGP PUBLIC KEY BLOCK" not in exported:
                raise SigningError(f"gpg could not export the public key {self.fingerprint()}")
            self._public = exported
        return self._public

    def sign(self, paths: Sequence[Path],
             on_progress: Callable[[str], None] | None = None) -> SignReport:
        """rpmsign every package in place, then require each to verify as signed by us."""
        files = list(dict.fromkeys(Path(p).absolute() for p in paths))
        for path in files:
            if not path.is_file():
                raise SigningError(f"{path}: no such package to sign")
        fingerprint, short = self.fingerprint(), self.fingerprint()[-8:].lower()
        keyring = self._keyring()
        secret = self.scratch / "passphrase"
        descriptor = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.key.passphrase)
        checkpoint("signing: passphrase written")
        seen: list[str] = []
        try:
            for start in range(0, len(files), _BATCH):
                batch = files[start:start + _BATCH]
                done = self._rpmsign(batch, fingerprint, secret)
                checkpoint("signing: batch signed")
                seen += self._verify(keyring, batch, done, short)
                if on_progress is not None:
                    on_progress(f"signed {start + len(batch)} of {len(files)} packages "
                                f"with key {short}")
        finally:
            secret.unlink(missing_ok=True)
        return SignReport(tuple(files), fingerprint, seen[0] if seen else short,
                          self.public_key())

    # -- the private GnuPG home ---------------------------------------------------------

    def _make_home(self) -> None:
        if len(str(self._home)) > _MAX_HOME:  # a deep workdir: the sockets would not fit
            self._home = Path(tempfile.mkdtemp(prefix=f"updraft-gpg-{os.getpid()}-")).absolute()
            self._own_home = True
            if len(str(self._home)) > _MAX_HOME:
                raise SigningError(f"{self._home}: too long for gpg-agent's sockets; "
                                   "set TMPDIR to a short directory")
        else:
            self._home.mkdir(mode=0o700)
        self._home.chmod(0o700)  # gpg warns about "unsafe permissions" otherwise
        self._env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.scratch),
                     "LC_ALL": "C", "GNUPGHOME": str(self._home)}
        # Loopback is gpg-agent's default since 2.1.12; say so in case a build disabled it.
        (self._home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
        if self.key.gnupghome is not None:
            self._copy_home(Path(self.key.gnupghome))
        else:
            self._import_secret(self.key.secret_key or "")

    def _copy_home(self, source: Path) -> None:
        if not source.is_dir():
            raise SigningError(f"{source}: no such GnuPG home; fix extra.gnupghome of "
                               f"{_CONNECTION}")
        try:
            for name in _HOME_ENTRIES:
                entry = source / name
                if entry.is_dir():
                    shutil.copytree(entry, self._home / name)
                elif entry.is_file():
                    shutil.copyfile(entry, self._home / name)
        except OSError as error:
            raise SigningError(f"{source}: cannot copy the GnuPG home "
                               f"({getattr(error, 'strerror', None) or error})") from None

    def _import_secret(self, armored: str) -> None:
        # gpg >= 2.1 hands a protected secret key to the agent as it is: no passphrase.
        # python-gnupg logs the start of the key data at DEBUG: not for a secret key.
        gnupg_log = logging.getLogger("gnupg")
        level = gnupg_log.level
        gnupg_log.setLevel(max(level, logging.INFO))
        try:
            result = self._gpg().import_keys(armored)
        finally:
            gnupg_log.setLevel(level)
        if not result.sec_imported:
            raise SigningError(f"extra.secret_key of {_CONNECTION} holds no importable "
                               f"secret key ({_last_line(result.stderr) or 'nothing imported'})")

    def _gpg(self) -> gnupg.GPG:
        # No keyserver look-ups: the key must be here already.
        return gnupg.GPG(gnupghome=str(self._home), env=self._env,
                         options=["--no-auto-key-retrieve"])

    def _key(self) -> dict:
        if self._keys is None:
            listed = self._gpg().list_keys(secret=True, keys=[self.key.key_id])
            where = (str(self.key.gnupghome) if self.key.gnupghome is not None
                     else "extra.secret_key")
            if not listed:
                detail = _last_line(getattr(listed, "stderr", "")).removeprefix("gpg: ")
                raise SigningError(f"no secret key {self.key.key_id} in {where}: "
                                   f"{detail or 'not found'}; check the key id of {_CONNECTION}")
            if len(listed) > 1:
                raise SigningError(f"key id {self.key.key_id} matches {len(listed)} secret "
                                   f"keys in {where}; give the full fingerprint")
            self._keys = listed[0]
        return self._keys

    def _key_ids(self) -> set[str]:
        # A signing subkey signs in place of the primary: rpmkeys then prints its id.
        key = self._key()
        subkeys = [sub[2] or sub[0] for sub in key.get("subkeys", [])]
        return {fpr[-8:].lower() for fpr in [key["fingerprint"], *subkeys] if fpr}

    # -- rpmsign and rpmkeys ------------------------------------------------------------

    def _keyring(self) -> Keyring:
        public = self.scratch / "public.asc"
        public.write_text(self.public_key())
        keyring = Keyring(self.scratch / "keyring")
        try:
            keyring.load([public], [self.fingerprint()])
        except UpdraftError as error:
            raise SigningError(f"cannot verify with key {self.fingerprint()}: {error}") \
                from None
        return keyring

    def _rpmsign(self, batch: list[Path], fingerprint: str,
                 secret: Path) -> subprocess.CompletedProcess[bytes]:
        # The extra args are split by popt, hence shescape; "%" would start a macro.
        extra = ("--batch --pinentry-mode loopback --passphrase-file "
                 f"%{{shescape:{_macro(str(secret))}}}")
        # rpm 4.18's --addsign replaces a signature by another key (the header has one
        # RSA slot) and skips one identical to ours: no --resign needed (verified).
        return self._run(["rpmsign", "--define", "__gpg /usr/bin/gpg",
                          "--define", f"_gpg_name {fingerprint}",
                          "--define", f"_gpg_path {_macro(str(self._home))}",
                          "--define", f"_gpg_sign_cmd_extra_args {extra}",
                          "--addsign", "--", *map(str, batch)])

    def _verify(self, keyring: Keyring, batch: list[Path],
                done: subprocess.CompletedProcess[bytes], short: str) -> list[str]:
        """The key ids rpmkeys read off the batch; SigningError at the first bad file."""
        checks = keyring.check_packages(batch)
        ours = self._key_ids()
        for path in batch:
            check = checks[path]
            if check.ok and check.key_id in ours:
                continue
            if done.returncode != 0:
                raise SigningError(f"rpmsign could not sign {path} with key {short}: "
                                   f"{self._reason(done.stderr)}")
            said = check.reason or f"signed by key ID {check.key_id}"
            raise SigningError(f"{path}: not signed by key {short} after rpmsign ({said})")
        if done.returncode != 0:  # every file verified, yet rpmsign failed: do not trust it
            raise SigningError(f"rpmsign failed (exit {done.returncode}) signing {batch[0]} "
                               f"and others: {self._reason(done.stderr)}")
        return [checks[path].key_id or short for path in batch]

    def _reason(self, stderr: bytes) -> str:
        text = self._scrub(os.fsdecode(stderr))
        for words, reason in _REASONS:
            if words in text:
                return reason
        lines = [line for line in text.splitlines() if "GPG_TTY" not in line]
        return _last_line("\n".join(lines)) or "no message"

    def _scrub(self, text: str) -> str:
        secret = self.key.passphrase
        return text.replace(secret, "********") if secret else text

    def _run(self, command: list[str],
             required: bool = True) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(command, capture_output=True, env=self._env, check=False)
        except OSError as error:
            if not required:
                return subprocess.CompletedProcess(command, 127, b"", b"")
            raise SigningError(f"cannot run {command[0]} ({error.strerror}); install "
                               "rpm-sign and gnupg") from None


def sweep(workdir: Path) -> None:
    """What signers killed midway left: their scratch dirs (a copy of the secret keyring,
    the passphrase file) and GnuPG homes, their agents stopped. A live signer's stay."""
    for scratch in [*workdir.glob("sign-*-*"),
                    *Path(tempfile.gettempdir()).glob("updraft-gpg-*-*")]:
        pid = scratch.name.removeprefix("updraft-gpg-").removeprefix("sign-").split("-")[0]
        if not pid.isdigit() or alive(int(pid)):
            continue
        home = scratch / "gnupg" if scratch.name.startswith("sign-") else scratch
        if home.is_dir() and shutil.which("gpgconf"):
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                           capture_output=True, check=False, timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


def _macro(text: str) -> str:
    return text.replace("%", "%%")


def _last_line(text: str | None) -> str:
    # "[GNUPG:] ..." status lines (python-gnupg's --status-fd 2) are for machines.
    lines = [line.strip() for line in (text or "").splitlines()
             if line.strip() and not line.startswith("[GNUPG:]")]
    return lines[-1] if lines else ""

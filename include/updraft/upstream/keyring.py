"""The public keys one upstream source is trusted with, and the checks made with them.

Packages are checked with `rpmkeys --checksig` against a private rpmdb, never the system
one (Debian's rpm defaults to ~/.rpmdb, so HOME is pinned too); a repo's repomd.xml.asc is
checked with python-gnupg in a private GnuPG home. Both stores are rebuilt from the key
files whenever those change, so a removed key stops being trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gnupg

from updraft.errors import ConfigError, UpstreamError

_FORMAT = 1  # bump to rebuild every keyring when the stores' layout changes
# Files per rpmkeys run: far below ARG_MAX, and rpmkeys exits with the number of failed
# files, which wraps at 256.
_BATCH = 200
_FPR_RE = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")
# "    Header V4 RSA/SHA512 Signature, key ID f24d5caf: OK", "    MD5 digest: BAD (...)"
_LINE_RE = re.compile(r"^\s+(?P<label>.+?): (?P<status>OK|BAD|NOKEY|NOTTRUSTED|NOTFOUND)\b"
                      r"(?P<detail>.*)$")
_KEY_ID_RE = re.compile(r"key ID ([0-9a-fA-F]+)")


class KeyringError(UpstreamError):
    """A signature could not be verified with the source's keys, or no keys are loaded."""


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str  # "" when ok, else one line saying what is wrong
    key_id: str | None  # as rpmkeys prints it: the short ID of the (sub)key that signed


class Keyring:
    """The public keys one upstream source is trusted with: a private GnuPG home and a
    private rpmdb under `home`."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).absolute()
        self.gnupg_home = self.home / "gnupg"
        self.rpmdb = self.home / "rpmdb"
        self._state = self.home / "keyring.json"  # written last: it means "stores complete"
        # No user gpg.conf, ~/.rpmmacros or locale may change what is trusted or how
        # rpmkeys words its verdicts.
        self._env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.home),
                     "LC_ALL": "C", "GNUPGHOME": str(self.gnupg_home)}

    def load(self, keys: Sequence[Path], fingerprints: Sequence[str] = ()) -> list[str]:
        """Trust exactly the keys in these armored files; return their fingerprints."""
        paths = [Path(k) for k in keys]
        if not paths:
            raise ConfigError("no public key files given: a source needs its upstream's "
                              "GPG keys to verify packages")
        try:
            contents = [path.read_bytes() for path in paths]
        except OSError as error:
            raise ConfigError(f"{error.filename}: cannot read public key file "
                              f"({error.strerror}); fix the source's key path") from None
        pins = [_normalise_pin(pin) for pin in fingerprints]
        digest = hashlib.sha256(json.dumps({
            "format": _FORMAT, "pins": sorted(set(pins)),
            "keys": [hashlib.sha256(c).hexdigest() for c in contents]}).encode()).hexdigest()
        with self._locked(fcntl.LOCK_EX):
            state = self._read_state()
            stores = (self.gnupg_home, self.rpmdb)
            if (state and state["digest"] == digest
                    and all(s.is_dir() and any(s.iterdir()) for s in stores)):
                return list(state["fingerprints"])
            return self._rebuild(paths, contents, pins, digest)

    def verify_detached(self, data: Path, signature: Path) -> str:
        """Check a detached signature (repomd.xml.asc); return the signer's fingerprint."""
        try:
            with open(data, "rb"):  # else gpg only says "can't hash datafile"
                pass
            armored = signature.read_bytes()
        except OSError as error:
            raise KeyringError(f"{error.filename}: cannot read ({error.strerror})") from None
        with self._locked(fcntl.LOCK_SH):  # a concurrent load() must not swap keys midway
            trusted = self._trusted()
            result = self._gpg().verify_file(io.BytesIO(armored), str(data))
        key_id = result.key_id or "?"
        if result.valid and result.returncode == 0:
            signer = (result.pubkey_fingerprint or result.fingerprint or "").upper()
            if signer in trusted:  # the primary key, also when a subkey signed
                return signer
            raise KeyringError(f"{signature}: signed by a key not trusted here ({signer})")
        if result.status == "no public key":
            raise KeyringError(f"{signature}: signed by an unknown key (key ID {key_id})")
        if result.status == "signature bad":
            raise KeyringError(f"{signature}: bad signature (key ID {key_id})")
        if result.status in ("signature expected but not found", "unexpected data"):
            raise KeyringError(f"{signature}: not a signature")
        detail = result.status or _last_line(result.stderr) or f"gpg exit {result.returncode}"
        raise KeyringError(f"{signature}: could not be verified ({detail}, key ID {key_id})")

    def check_package(self, path: Path) -> SignatureCheck:
        """Check one package's GPG signature and digests against the trusted keys."""
        return self.check_packages([path])[path]

    def check_packages(self, paths: Sequence[Path]) -> dict[Path, SignatureCheck]:
        """Check many packages, one rpmkeys run per batch (it prints a block per file)."""
        unique = list(dict.fromkeys(paths))
        results: dict[Path, SignatureCheck] = {}
        # rpmkeys heads each block with "<path as given>:"; absolute paths (never starting
        # with a blank) without newlines cannot be mistaken for a result line.
        batchable = [p for p in unique if "\n" not in str(p.absolute())]
        with self._locked(fcntl.LOCK_SH):
            self._trusted()
            for start in range(0, len(batchable), _BATCH):
                results.update(self._check_batch(batchable[start:start + _BATCH]))
            for path in unique:
                if path not in results:
                    results[path] = self._check_one(path)
        return results

    def _check_batch(self, paths: list[Path]) -> dict[Path, SignatureCheck]:
        names: dict[str, list[Path]] = {}  # "a.rpm" and "/cwd/a.rpm" are one file
        for path in paths:
            names.setdefault(str(path.absolute()), []).append(path)
        rc, out, _ = self._checksig(list(names))
        blocks: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in out.split("\n"):
            if line[:1].isspace() and current is not None:
                current.append(line)
            elif line.endswith(":") and line[:-1] in names and line[:-1] not in blocks:
                current = blocks[line[:-1]] = []
            elif line:
                return {}  # output we cannot attribute: check every file alone
        read = {n: _classify(lines, 0, "", n) for n, lines in blocks.items() if lines}
        # A missing file prints no block, an unreadable one an empty block: those are
        # checked alone, for rpmkeys' stderr. rpmkeys' exit code must match our reading.
        if rc != len(names) - len(read) + sum(failed for _, failed in read.values()):
            return {}
        return {path: check for n, (check, _) in read.items() for path in names[n]}

    def _check_one(self, path: Path) -> SignatureCheck:
        name = str(path.absolute())
        rc, out, err = self._checksig([name])
        lines = [line for line in out.split("\n") if line[:1].isspace()]
        return _classify(lines, rc, err, name)[0]

    def _checksig(self, names: list[str]) -> tuple[int, str, str]:
        done = self._run(["rpmkeys", "--dbpath", str(self.rpmdb), "--checksig", "-v", "--",
                          *names])
        # rpmkeys prints file names as raw bytes: decode them the way str(Path) does.
        return done.returncode, os.fsdecode(done.stdout), os.fsdecode(done.stderr)

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(command, capture_output=True, env=self._env, check=False)
        except OSError as error:
            raise KeyringError(f"cannot run {command[0]} ({error.strerror}); install rpm") \
                from None

    def _gpg(self) -> gnupg.GPG:
        # No agent, no dirmngr: a missing key must never be fetched from a keyserver.
        return gnupg.GPG(gnupghome=str(self.gnupg_home), env=self._env,
                         options=["--no-autostart", "--no-auto-key-retrieve"])

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "lock", "a") as lock:
            fcntl.flock(lock, mode)  # released when the file is closed
            yield

    def _read_state(self) -> dict | None:
        try:
            state = json.loads(self._state.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and state.get("format") == _FORMAT else None

    def _trusted(self) -> set[str]:
        state = self._read_state()
        if state is None:
            raise KeyringError(f"{self.home}: no keys loaded; load the source's keys first")
        return set(state["fingerprints"])

    def _rebuild(self, paths: list[Path], contents: list[bytes], pins: list[str],
                 digest: str) -> list[str]:
        self._state.unlink(missing_ok=True)  # fail closed: nothing is trusted until done
        for store in (self.gnupg_home, self.rpmdb):
            shutil.rmtree(store, ignore_errors=True)
            store.mkdir()
        self.gnupg_home.chmod(0o700)  # gpg warns about "unsafe permissions" otherwise
        gpg = self._gpg()
        found: list[str] = []
        for path, content in zip(paths, contents, strict=True):
            listed = gpg.scan_keys_mem(content)
            if any(key["type"] == "sec" for key in listed):
                raise ConfigError(f"{path}: holds a secret key; give only the public key "
                                  "(gpg --armor --export)")
            in_file = [key["fingerprint"].upper() for key in listed if key["type"] == "pub"]
            if not in_file:
                raise ConfigError(f"{path}: holds no OpenPGP public key; give the "
                                  "upstream's armored public key file")
            for fpr in in_file:
                if pins and fpr not in pins:
                    raise ConfigError(f"{path}: key {fpr} is not one of the pinned fingerprints"
                                      f" ({', '.join(pins)}); check that the file is the "
                                      "upstream's genuine key, or pin its fingerprint")
            imported = gpg.import_keys(content)
            if not set(in_file) <= {f.upper() for f in imported.fingerprints}:
                raise ConfigError(f"{path}: gpg could not import its key(s) "
                                  f"({_last_line(imported.stderr)})")
            self._rpm_import(path, content, in_file)
            found += [fpr for fpr in in_file if fpr not in found]
        for pin in pins:
            if pin not in found:
                raise ConfigError(f"pinned fingerprint {pin} is in none of "
                                  f"{', '.join(map(str, paths))}; add the upstream's key "
                                  "file that holds it, or drop the pin")
        with tempfile.NamedTemporaryFile("w", dir=self.home, delete=False) as handle:
            json.dump({"format": _FORMAT, "digest": digest, "fingerprints": found}, handle)
        os.replace(handle.name, self._state)
        return found

    def _rpm_import(self, path: Path, content: bytes, fingerprints: list[str]) -> None:
        # Import the bytes validated above, not the file again: it may have changed since.
        with tempfile.NamedTemporaryFile(dir=self.home, suffix=".asc") as handle:
            handle.write(content)
            handle.flush()
            done = self._run(["rpmkeys", "--dbpath", str(self.rpmdb), "--import", handle.name])
        # rpm names each key gpg-pubkey-<short key ID>: check that every key made it.
        query = self._run(["rpm", "--dbpath", str(self.rpmdb), "-q", "gpg-pubkey",
                           "--qf", "%{VERSION}\n"])
        present = set(query.stdout.decode().split())
        missing = [f for f in fingerprints if f[-8:].lower() not in present]
        if done.returncode != 0 or missing:
            error = done.stderr.decode(errors="replace").replace(handle.name, str(path))
            raise ConfigError(f"{path}: rpm could not import key {', '.join(missing)} "
                              f"({_last_line(error) or 'not in the rpmdb'}); this rpm may "
                              "not support its algorithm")


def _classify(lines: list[str], rc: int, stderr: str, name: str) -> tuple[SignatureCheck, bool]:
    """Read one file's block of `rpmkeys --checksig -v` output; also say whether
    rpmkeys itself counts the file as failed (it does not for an unsigned one)."""
    entries = [m for m in map(_LINE_RE.match, lines) if m]
    if not entries:  # not an rpm, truncated, or missing: only stderr may say why
        message = _last_line(stderr).removeprefix(f"error: {name}: ") or "not an rpm package"
        return SignatureCheck(False, f"unreadable package ({message})", None), True
    # "RSA signature: NOTFOUND" (printed once the payload is bad) is no signature at all.
    signatures = [m for m in entries if "ignature" in m["label"] and m["status"] != "NOTFOUND"]
    key_ids = [k.group(1).lower() for m in signatures if (k := _KEY_ID_RE.search(m["label"]))]
    key_id = key_ids[0] if key_ids else None
    bad = [m for m in entries if m["status"] == "BAD"]
    bad_signatures = [m for m in bad if m in signatures]
    if bad_signatures:  # a malformed one has no key ID: "Header RSA signature: BAD (...)"
        first = bad_signatures[0]
        what = f"key ID {key_id}" if key_id else f"{first['label']}: BAD{first['detail']}"
        return SignatureCheck(False, f"bad GPG signature ({what})", key_id), True
    if bad:  # prefer "Payload SHA256 digest" to its "ALT" twin
        first = sorted(bad, key=lambda m: "ALT" in m["label"])[0]
        return SignatureCheck(False, f"digest mismatch ({first['label']}: BAD)", key_id), True
    for status, words in (("NOKEY", "an unknown key"), ("NOTTRUSTED", "an untrusted key")):
        if any(m["status"] == status for m in signatures):
            return SignatureCheck(False, f"signed by {words} (key ID {key_id})", key_id), True
    if not signatures:  # rpmkeys exits 0 for an unsigned package: only this tells
        return SignatureCheck(False, "unsigned (no GPG signature)", None), False
    if rc != 0:  # every line read OK yet rpmkeys failed: do not trust our reading
        reason = f"rpmkeys failed (exit {rc}: {_last_line(stderr) or 'no message'})"
        return SignatureCheck(False, reason, key_id), True
    return SignatureCheck(True, "", key_id), False


def _normalise_pin(pin: str) -> str:
    # Accept fingerprints as gpg prints them: grouped by spaces, any case, 0x-prefixed.
    text = pin.replace(" ", "").upper().removeprefix("0X")
    if not _FPR_RE.match(text):
        raise ConfigError(f"pinned fingerprint {pin!r} is not a full OpenPGP fingerprint; "
                          "give all 40 hex digits (gpg --fingerprint)")
    return text


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""

"""Keys: where a source's trusted public keys come from (its `gpgkeys` entries).

An entry is a key file (relative to the config file), a URL to fetch one from, or a
40-hex fingerprint naming a key among the files of the config's `keys_dir`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gnupg

from updraft.config.dist import DistConfig
from updraft.config.upstream import UpstreamSource
from updraft.errors import ConfigError
from updraft.upstream.download import DownloadError, fetch_bytes


def key_files(config: DistConfig, source: UpstreamSource, fetched: Path) -> list[Path]:
    where = f"{config.source_file or 'config'}: source {source.name}: gpgkeys"
    files: list[Path] = []
    for entry in source.key_files:
        if entry.startswith(("http://", "https://", "file://")):
            try:
                armored = fetch_bytes(entry, limit=1 << 20)
            except DownloadError as exc:
                raise ConfigError(f"{where}: cannot fetch key {entry}: {exc}") from exc
            fetched.mkdir(parents=True, exist_ok=True)
            path = fetched / (entry.rstrip("/").rsplit("/", 1)[-1] or "key.asc")
            path.write_bytes(armored)
        else:
            path = config.resolve_path(entry)
            if not path.is_file():
                raise ConfigError(f"{where}: key file {path} does not exist")
        files.append(path)
    if source.fingerprints and not source.key_files:
        files = _files_holding(config.resolve_path(config.keys_dir), source.fingerprints, where)
    return files


def _files_holding(keys_dir: Path, fingerprints: tuple[str, ...], where: str) -> list[Path]:
    """The files of keys_dir that hold the named keys (each fingerprint must be found)."""
    if not keys_dir.is_dir():
        raise ConfigError(f"{where}: fingerprints need key files in keys_dir {keys_dir}, "
                          "which does not exist")
    chosen: dict[Path, None] = {}
    found: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="updraft-keys-") as home:
        gpg = gnupg.GPG(gnupghome=home)
        for path in sorted(p for p in keys_dir.iterdir() if p.is_file()):
            for key in gpg.scan_keys(str(path)):
                if key["fingerprint"].upper() in fingerprints:
                    chosen[path] = None
                    found.add(key["fingerprint"].upper())
    missing = [fp for fp in fingerprints if fp not in found]
    if missing:
        raise ConfigError(f"{where}: no key with fingerprint {missing[0]} in {keys_dir}; "
                          "put its armored public key there")
    return list(chosen)

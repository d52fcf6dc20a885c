"""Upstream quarantine: packages that failed their tests, kept with the reason.

<state>/quarantine/<release>/upstream/<source>/<file> and <file>.reason (JSON). A file
quarantined once is not downloaded again while upstream serves the same bytes (same
checksum): the release engineer is told once, not every hour.

Bounded, since an upstream decides what arrives: an earlier file of the same name is never
overwritten (the next one is `<file>~2`, ...), and once the source's quarantined bytes pass
its `quarantine_cap` the oldest files are dropped (their `.reason` stays, so they remain
blocked and explained).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from updraft.safepath import UnsafePath, plain_name
from updraft.upstream.metadata import RemotePackage

log = logging.getLogger(__name__)
REASON = ".reason"


class UpstreamQuarantine:
    def __init__(self, directory: Path, cap: int | None = None) -> None:
        self.directory = directory
        self.cap = cap

    def put(self, path: Path | None, package: RemotePackage, reason: str) -> Path:
        """Keep `path` (the bad bytes, if any arrived) with the reason; where it went."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._free_name(package.filename)
        if path is not None and path.exists():
            shutil.move(path, target)
        record = {"reason": reason, "checksum_type": package.checksum_type,
                  "checksum": package.checksum, "url": package.url,
                  "at": datetime.now(UTC).isoformat()}
        self._write_record(target, record)
        if self.cap is not None:
            self._trim(self.cap)
        return target

    def _free_name(self, filename: str) -> Path:
        try:
            name = plain_name(filename, "quarantined file name")
        except UnsafePath:
            name = filename.replace("/", "_").replace("\\", "_").lstrip(".") or "unnamed"
        target, number = self.directory / name, 1
        while target.exists() or target.with_name(target.name + REASON).exists():
            number += 1
            target = self.directory / f"{name}~{number}"
        return target

    @staticmethod
    def _write_record(target: Path, record: dict) -> None:
        reason_file = target.with_name(target.name + REASON)
        temporary = reason_file.with_name(f".{reason_file.name}.tmp")
        temporary.write_text(json.dumps(record, indent=1))
        os.replace(temporary, reason_file)

    def _trim(self, cap: int) -> None:
        """Drop the oldest quarantined bytes until the source's total is within `cap`."""
        files = [entry for entry in self.directory.iterdir()
                 if entry.is_file() and not entry.name.endswith(REASON)
                 and not entry.name.startswith(".")]
        total = sum(entry.stat().st_size for entry in files)
        for entry in sorted(files, key=lambda e: e.stat().st_mtime_ns):
            if total <= cap:
                break
            size = entry.stat().st_size
            entry.unlink()
            total -= size
            record = self._read(entry.with_name(entry.name + REASON)) or {}
            record["dropped"] = (f"{size} bytes dropped: quarantine over its cap of {cap} "
                                 "bytes (oldest first)")
            self._write_record(entry, record)
            log.warning("%s: dropped from quarantine (%d bytes, over its cap of %d)",
                        entry, size, cap)

    def blocked(self, packages: Iterable[RemotePackage]) -> dict[str, str]:
        """File name -> reason, for packages quarantined with these very bytes."""
        records: dict[str, list[Path]] = {}  # file name -> its .reason files
        if self.directory.is_dir():
            for entry in self.directory.iterdir():
                if entry.name.endswith(REASON) and not entry.name.startswith("."):
                    name = entry.name.removesuffix(REASON)
                    records.setdefault(name.rsplit("~", 1)[0] if "~" in name else name,
                                       []).append(entry)
        blocked = {}
        for package in packages:
            for reason_file in records.get(package.filename, ()):
                record = self._read(reason_file) or {}
                if record.get("checksum") == package.checksum:
                    blocked[package.filename] = f"quarantined earlier: {record.get('reason', '')}"
                    break
        return blocked

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, ValueError, OSError):
            return None

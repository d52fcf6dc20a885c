"""Upstream quarantine: packages that failed their tests, kept with the reason.

<state>/quarantine/<release>/upstream/<source>/<file> and <file>.reason (JSON). A file
quarantined once is not downloaded again while upstream serves the same bytes (same
checksum): the release engineer is told once, not every hour.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from updraft.upstream.metadata import RemotePackage


class UpstreamQuarantine:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, path: Path, package: RemotePackage, reason: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / package.filename
        if path.exists():
            shutil.move(path, target)
        record = {"reason": reason, "checksum_type": package.checksum_type,
                  "checksum": package.checksum, "url": package.url,
                  "at": datetime.now(UTC).isoformat()}
        reason_file = target.with_name(target.name + ".reason")
        temporary = reason_file.with_name(f".{reason_file.name}.tmp")
        temporary.write_text(json.dumps(record, indent=1))
        os.replace(temporary, reason_file)
        return target

    def blocked(self, packages: Iterable[RemotePackage]) -> dict[str, str]:
        """File name -> reason, for packages quarantined with these very bytes."""
        blocked = {}
        for package in packages:
            record = self._record(package.filename)
            if record and record.get("checksum") == package.checksum:
                blocked[package.filename] = f"quarantined earlier: {record.get('reason', '')}"
        return blocked

    def _record(self, filename: str) -> dict | None:
        try:
            return json.loads((self.directory / f"{filename}.reason").read_text())
        except (FileNotFoundError, ValueError):
            return None

"""Does the installer need rebuilding? Seed 002: "If either anaconda has changed OR there
is new content in cdrom.image (apart from the release note) then the installer needs to
be rebuilt ... Otherwise just the ISO needs to be built."

Decided by content hash: the anaconda package files (from the configured repos) and every
cdrom.image file but the ignored ones. The hash of the last successful installer build
is kept per release and arch in the state dir.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from updraft.engine.package import BadPackage, read_facts
from updraft.iso.image import sha256_of
from updraft.iso.target import IsoTarget


@dataclass(frozen=True)
class InstallerDecision:
    arch: str
    rebuild: bool
    reason: str
    digest: str

    def to_dict(self) -> dict[str, object]:
        return {"arch": self.arch, "rebuild": self.rebuild, "reason": self.reason,
                "digest": self.digest}


def _anaconda_files(target: IsoTarget, arch: str) -> list[Path]:
    layout, name = target.layout, target.settings.anaconda_package
    found = []
    for repo in target.settings.anaconda_repos:
        if repo not in layout.config.repos:
            continue
        directory = layout.binary_dir(target.release, repo, arch)
        for path in sorted(directory.glob(f"{name}-*.rpm")) if directory.is_dir() else []:
            try:
                if read_facts(path).name == name:
                    found.append(path)
            except BadPackage:
                continue
    return found


def _cdrom_files(target: IsoTarget) -> list[tuple[str, Path]]:
    root = target.config_dir(target.settings.cdrom_image)
    if root is None or not root.is_dir():
        return []
    ignores = target.settings.installer_ignores
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in ("CVS", ".git", ".svn"))
        for name in sorted(files):
            relative = str((Path(directory) / name).relative_to(root))
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in ignores):
                found.append((relative, Path(directory) / name))
    return found


def inputs_digest(target: IsoTarget, arch: str) -> tuple[str, list[str]]:
    """The hash of the installer's inputs, and the anaconda packages it covers."""
    digest = hashlib.sha256()
    anaconda = _anaconda_files(target, arch)
    for path in anaconda:
        digest.update(f"anaconda {path.name} {sha256_of(path)}\n".encode())
    for relative, path in _cdrom_files(target):
        digest.update(f"cdrom {relative} {sha256_of(path)}\n".encode())
    return digest.hexdigest(), [p.name for p in anaconda]


def _record(target: IsoTarget, arch: str) -> Path:
    return target.state_dir / f"installer-{arch}.json"


def decide(target: IsoTarget, arch: str, force: bool = False) -> InstallerDecision:
    digest, anaconda = inputs_digest(target, arch)
    images = target.arch_tree(arch) / "images"
    try:
        last = json.loads(_record(target, arch).read_text())
    except (OSError, ValueError):
        last = None
    if force:
        reason = "rebuild asked for"
    elif last is None:
        reason = "no installer was built yet"
    elif not all((images / f"{name}.img").is_file() for name in ("product", "updates")):
        reason = f"product.img or updates.img missing in {images}"
    elif last.get("digest") != digest:
        reason = (f"anaconda ({', '.join(anaconda) or 'none'}) or cdrom.image content changed "
                  f"since the installer of {last.get('version')}")
    else:
        return InstallerDecision(arch, False, f"anaconda and cdrom.image unchanged since the "
                                 f"installer of {last.get('version')}", digest)
    return InstallerDecision(arch, True, reason, digest)


def remember(target: IsoTarget, decision: InstallerDecision) -> None:
    """Record a successful installer build's inputs."""
    path = _record(target, decision.arch)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"digest": decision.digest, "version": target.version,
                                     "at": datetime.now(UTC).isoformat(timespec="seconds")}))
    os.replace(temporary, path)

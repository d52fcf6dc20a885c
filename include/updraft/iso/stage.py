"""Compose the ISO tree from the engine's stage (seed 002's "Create stage content").

The engine keeps the stage repo refreshed from smeos + smeupdates + smeupdates-testing
(never smetest); this lays it out the way the installer and the ISO want it: the
packages hardlinked into `Packages/base` (comps.xml kept), the SRPMs, seed 002's empty
dirs, the cdrom.image content and the anaconda translations in `updates/po`.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from updraft.errors import ConfigError
from updraft.iso.target import IsoTarget


@dataclass
class StageSummary:
    packages: dict[str, int] = field(default_factory=dict)  # arch -> rpms in Packages/base
    sources: int = 0
    added: int = 0
    removed: int = 0
    cdrom_files: int = 0
    translations: int = 0
    size: int = 0  # bytes of packages and sources

    def lines(self) -> list[str]:
        per_arch = ", ".join(f"{arch}: {count}" for arch, count in self.packages.items())
        return [f"packages: {per_arch}; SRPMS: {self.sources}",
                f"{self.added} linked in, {self.removed} removed, "
                f"{self.size / 1e6:.1f} MB",
                f"cdrom.image files: {self.cdrom_files}; anaconda translations: "
                f"{self.translations}"]

    def to_dict(self) -> dict[str, object]:
        return {"packages": self.packages, "sources": self.sources, "added": self.added,
                "removed": self.removed, "cdrom_files": self.cdrom_files,
                "translations": self.translations, "size": self.size,
                "lines": self.lines()}


def compose(target: IsoTarget) -> StageSummary:
    """Lay out the ISO tree of every arch of `target` from the engine's stage."""
    layout = target.layout
    stage = layout.config.stage_repo
    if stage is None:
        raise ConfigError(f"{layout.config.source_file}: no repo has `stage: true`; the ISO "
                          "is built from the stage")
    summary = StageSummary()
    cdrom = target.config_dir(target.settings.cdrom_image)
    po = target.config_dir(target.settings.anaconda_po)
    for path, key in ((cdrom, "iso.cdrom_image"), (po, "iso.anaconda_po")):
        if path is not None and not path.is_dir():
            raise ConfigError(f"{key}: {path} is not a directory: check it out (seed 002: "
                              "cvs co cdrom.image) or fix the path")
    for arch in target.arches:
        tree = target.arch_tree(arch)
        for name in target.settings.tree.dirs:
            (tree / name).mkdir(parents=True, exist_ok=True)
        if cdrom is not None:
            summary.cdrom_files += _copy_tree(cdrom, tree)
        if po is not None:
            summary.translations += _copy_tree(po, tree / "updates" / "po")
        source = layout.binary_dir(target.release, stage, arch)
        count = _mirror_rpms(source, target.packages_dir(arch), summary)
        summary.packages[arch] = count
    summary.sources = _mirror_rpms(layout.source_dir(target.release, stage),
                                   target.sources_dir, summary)
    return summary


def _copy_tree(source: Path, destination: Path) -> int:
    """rsync -a --exclude CVS/ without --delete: what is there and not in source stays."""
    copied = 0
    for directory, subdirs, files in os.walk(source):
        subdirs[:] = [d for d in subdirs if d not in ("CVS", ".git", ".svn")]
        here = destination / Path(directory).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy2(Path(directory) / name, here / name)
            copied += 1
    return copied


def _mirror_rpms(source: Path, destination: Path, summary: StageSummary) -> int:
    """Make destination's *.rpm exactly source's (hardlinks); other files stay."""
    destination.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in source.glob("*.rpm")} if source.is_dir() else {}
    for present in destination.glob("*.rpm"):
        origin = wanted.get(present.name)
        if origin is None or not os.path.samefile(origin, present):
            present.unlink()
            summary.removed += origin is None
    for name, origin in sorted(wanted.items()):
        placed = destination / name
        if not placed.exists():
            link_or_copy(origin, placed)
            summary.added += 1
        summary.size += placed.stat().st_size
    return len(wanted)


def link_or_copy(source: Path, destination: Path) -> None:
    """A hardlink, or a copy when the two are on different filesystems."""
    try:
        os.link(source, destination)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, destination)

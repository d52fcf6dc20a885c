"""One ISO to build: its release, version and arches, and every path it reads or writes.

Seed 002: the stage is `stage/$VERSION/x86_64/{Packages/base,images,isolinux,...}` and
`stage/$VERSION/SRPMS`; the images land in `stage/iso/$VER/{x86_64,source}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from updraft.config.iso import IsoSettings
from updraft.engine.layout import Layout
from updraft.errors import ConfigError

# A final version is numbers only (10.1); 10.1rc1, 10.0beta3, 10alpha5 are not.
_FINAL = re.compile(r"\d+(?:\.\d+)*")
_VERSION = re.compile(r"[0-9][A-Za-z0-9._+~-]*")


@dataclass(frozen=True)
class IsoTarget:
    layout: Layout
    release: str  # "10": the major version, the engine's release
    version: str  # "10.1", "10.1rc1"
    arches: tuple[str, ...]

    @classmethod
    def of(cls, layout: Layout, release: str, version: str,
           arches: tuple[str, ...] | list[str] | None = None) -> IsoTarget:
        config = layout.config
        release = config.check_release(release)
        version = str(version)
        if not _VERSION.fullmatch(version) or "/" in version:
            raise ConfigError(f"ISO version {version!r}: give a version such as 10.1 or 10.1rc1")
        if not re.match(rf"{re.escape(release)}(?![0-9])", version):
            raise ConfigError(f"ISO version {version} does not belong to release {release}: "
                              f"it must start with {release}")
        known = config.iso.arches.get(release) or tuple(config.releases[release].arches)
        chosen = tuple(arches) if arches else tuple(known)
        for arch in chosen:
            if arch not in config.releases[release].arches:
                raise ConfigError(f"release {release} has no arch dir {arch!r} (it has "
                                  f"{', '.join(config.releases[release].arches)})")
        return cls(layout, release, version, chosen)

    @property
    def settings(self) -> IsoSettings:
        return self.layout.config.iso

    @property
    def final(self) -> bool:
        return bool(_FINAL.fullmatch(self.version))

    @property
    def root(self) -> Path:
        chosen = self.settings.root
        return chosen if chosen.is_absolute() else self.layout.root / chosen

    def arch_tree(self, arch: str) -> Path:
        return self.root / self.settings.tree.arch_dir.format(version=self.version, arch=arch)

    def packages_dir(self, arch: str) -> Path:
        return self.arch_tree(arch) / self.settings.tree.packages

    def comps(self, arch: str) -> Path:
        return self.arch_tree(arch) / self.settings.comps

    @property
    def sources_dir(self) -> Path:
        return self.root / self.settings.tree.sources.format(version=self.version)

    @property
    def output_dir(self) -> Path:
        return self.root / self.settings.tree.output.format(version=self.version)

    def iso_file(self, arch: str) -> Path:
        return self.output_dir / arch / f"{self.settings.name}-{self.version}-{arch}.iso"

    @property
    def srpms_iso(self) -> Path:
        return self.output_dir / "source" / f"{self.settings.name}-{self.version}-SRPMS.iso"

    def label(self, arch: str) -> str:
        # ISO 9660 volume ids hold 32 characters.
        return self.settings.volume_label.format(
            name=self.settings.name, version=self.version, arch=arch, release=self.release)[:32]

    def config_dir(self, key: Path | None) -> Path | None:
        """cdrom_image / anaconda_po of the config, {release} filled in."""
        if key is None:
            return None
        return self.layout.config.resolve_path(str(key).replace("{release}", self.release))

    @property
    def state_dir(self) -> Path:
        return self.layout.state_dir / "iso" / self.release

    @property
    def major_link(self) -> Path:
        """The tree's `10` -> `10.0` symlink that publishing switches."""
        return self.layout.root / self.release

    def previous_version(self) -> str | None:
        """The version the major link points to now: the previous ISO's tree."""
        link = self.major_link
        if not link.is_symlink():
            return None
        return Path(link.readlink()).name

"""The `iso:` section of the YAML: where the ISO tree, its inputs and its outputs live,
how it is built, and what publishing it does (seed 002)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_template(value: str, allowed: tuple[str, ...]) -> str:
    try:
        value.format(**{name: "x" for name in allowed})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{value!r}: only {', '.join('{' + a + '}' for a in allowed)} "
                         f"may be used ({exc})") from exc
    return value


class IsoTree(_Strict):
    """Seed 002's stage layout (`mkdir -p $VERSION/x86_64/{Packages/base,EFI/BOOT,...}`),
    relative to `iso.root`. {version} is the ISO's version (10.1rc1), {arch} its arch dir."""

    arch_dir: str = "{version}/{arch}"
    packages: str = "Packages/base"  # inside the arch dir
    sources: str = "{version}/SRPMS"
    dirs: tuple[str, ...] = ("repodata", "images/pxeboot", "isolinux", "EFI/BOOT", "LiveOS",
                             "product", "updates/po", "netinstall")
    # Where the built images go: seed 002's stage/iso/10/{x86_64,source}.
    output: str = "iso/{version}"

    @field_validator("arch_dir")
    @classmethod
    def _arch_template(cls, value: str) -> str:
        return _check_template(value, ("version", "arch"))

    @field_validator("sources", "output")
    @classmethod
    def _version_template(cls, value: str) -> str:
        return _check_template(value, ("version",))


class IsoSettings(_Strict):
    product: str = "SME Server"
    name: str = "smeserver"  # smeserver-10.1-x86_64.iso, smeserver-10.1-SRPMS.iso
    # The package whose version/release/displayversion name the ISO (seed 002).
    release_package: str = "smeserver-release"
    # Armored public key file(s) every package on the ISO must be signed with.
    release_keys: tuple[Path, ...] = ()
    # The ISO work area, relative to the tree root: seed 002's stage dir, which the
    # engine's stage repo (stage/<release>/...) shares with the versions (stage/10.1/...).
    root: Path = Path("stage")
    tree: IsoTree = IsoTree()
    # Per release: the arch dirs an ISO is built for (default: every arch dir).
    arches: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # cdrom.image content and anaconda translations; {release} is filled in.
    cdrom_image: Path | None = None
    anaconda_po: Path | None = None
    comps: str = "Packages/base/comps.xml"  # inside the arch dir; kept by the stage
    # The installer is rebuilt when this package or the cdrom.image content changes.
    anaconda_package: str = "anaconda"
    anaconda_repos: tuple[str, ...] = ("smeextras", "stage")
    # cdrom.image files whose change does not need a new installer (seed 002: "apart
    # from the release note").
    installer_ignores: tuple[str, ...] = ("README.txt", "*/README.txt")
    volume_label: str = "{name}-{version}-{arch}"  # ISO 9660 volume id, cut to 32 chars
    backend: Literal["mock", "local"] = "local"
    mock_config: str = "smeserver-{release}-{arch}-iso"
    # What runs in the mock chroot (seed 002's scripts), with --cwd the stage.
    installer_command: str = "/build/smeserver/stage/bin/build_installer"
    iso_command: str = "/build/smeserver/stage/bin/build_ISO"
    timeout: float = Field(4 * 3600.0, gt=0)
    # Repos no package may move into while an ISO of the release builds (seed 002).
    freeze_repos: tuple[str, ...] = ("smeupdates-testing",)
    # Publish: the repo the stage becomes, and the repos hardlinked from the previous
    # version (default: every other repo but the stage).
    published_repo: str = "smeos"
    hardlink_repos: tuple[str, ...] | None = None

    @field_validator("arches", mode="before")
    @classmethod
    def _release_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): val for key, val in value.items()}
        return value

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", value):
            raise ValueError(f"{value!r}: letters, digits, '.', '_', '+' or '-'")
        return value

    @field_validator("volume_label")
    @classmethod
    def _label(cls, value: str) -> str:
        return _check_template(value, ("name", "version", "arch", "release"))

    @field_validator("mock_config")
    @classmethod
    def _mock(cls, value: str) -> str:
        return _check_template(value, ("release", "arch"))

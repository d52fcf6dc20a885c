"""EVR: epoch-version-release values, always compared with rpm.labelCompare."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import rpm


@dataclass(frozen=True, slots=True)
class EVR:
    epoch: int | None
    version: str
    release: str

    def label(self) -> tuple[str, str, str]:
        return (str(self.epoch or 0), self.version, self.release)

    def __str__(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


class Nevra:
    """What anything named by name, epoch, version, release and arch can say of itself
    (a header's facts, an upstream listing): a mixin for their frozen dataclasses."""

    __slots__ = ()
    name: str
    epoch: int | None
    version: str
    release: str
    arch: str

    @property
    def is_source(self) -> bool:
        return self.arch == "src"

    @property
    def evr(self) -> EVR:
        return EVR(self.epoch, self.version, self.release)

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"


def compare(left: EVR, right: EVR) -> int:
    """rpm's own ordering (never a string compare): -1, 0 or 1."""
    return rpm.labelCompare(left.label(), right.label())


def compare_versions(left: EVR, right: EVR) -> int:
    """Order by epoch and version only: the 'version stream' retention counts."""
    return rpm.labelCompare((str(left.epoch or 0), left.version, ""),
                            (str(right.epoch or 0), right.version, ""))


evr_key = functools.cmp_to_key(compare)
version_key = functools.cmp_to_key(compare_versions)


def split_nvr(nvr: str) -> tuple[str, str, str]:
    """Split name-version-release (as in a SOURCERPM header, without .src.rpm)."""
    name_version, _, release = nvr.rpartition("-")
    name, _, version = name_version.rpartition("-")
    if not name or not version or not release:
        raise ValueError(f"not a name-version-release: {nvr!r}")
    return name, version, release


def split_sourcerpm(sourcerpm: str) -> tuple[str, str, str]:
    """'clamav-0.97.6-1.el4.rf.src.rpm' -> ('clamav', '0.97.6', '1.el4.rf')."""
    stem = sourcerpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    return split_nvr(stem)


class DistTag:
    """Strips distribution tags so an SRPM and its binaries name the same release.

    rpmforge published clamav-0.97.6-1.rf.src.rpm whose binaries say
    SOURCERPM clamav-0.97.6-1.el4.rf.src.rpm; both normalise to release '1.rf'.
    """

    def __init__(self, pattern: str) -> None:
        self._pattern = re.compile(pattern)

    def strip(self, release: str) -> str:
        return self._pattern.sub("", release)

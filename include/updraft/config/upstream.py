"""Upstream sources in the YAML: where each release mirrors from, whose keys it trusts,
and the bounds (sizes, deadlines, rates) that keep a hostile mirror harmless."""

from __future__ import annotations

import re

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from updraft.config.repos import Strict, compiled_regex

_FINGERPRINT = re.compile(r"^(?:[0-9A-Fa-f]{4}\s?){10}$")


_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """ "512K", "64M", "1G" (powers of 1024) or plain bytes -> bytes; ValueError otherwise."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (write bytes, or e.g. 512K, 64M, 1G)")
    return int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))


def is_fingerprint(entry: str) -> bool:
    """A 40-hex GPG fingerprint (spaces allowed), as opposed to a key file or URL."""
    return bool(_FINGERPRINT.match(entry.strip()))


class UpstreamSource(Strict):
    """One upstream repo a release takes packages from (seed 000: centos, epel, ...)."""

    name: str
    # http(s):// or file:// URL of the binary repo; {arch} is replaced by each of `arches`.
    baseurl: str
    arches: tuple[str, ...] = ()
    # Where the SRPMs are, when not in the binary repos (CentOS' vault "Source" repo).
    source_url: str | None = None
    # yum's convention: the lower number wins; a name carried by a higher-priority
    # source is never taken from a lower one.
    priority: int = Field(99, ge=1)
    # Armored public key files (relative to the config file) or URLs, or 40-hex
    # fingerprints of keys found in the config's keys_dir (a fingerprint also pins).
    gpgkeys: tuple[str, ...] = ()
    gpgcheck: bool = True
    signed_metadata: bool = False  # verify repodata/repomd.xml.asc
    dist_tag: str | None = None  # a regex every package release must contain, e.g. '\.el6'
    vendor: str | None = None  # the Vendor header every package must carry
    # Land packages that first appear upstream after this source's first sync (smedev).
    land_new: bool = True
    # Limits, so a hostile or broken mirror cannot fill the disk or hang the sync.
    # Sizes take a number of bytes or "512K", "64M", "1G". A file's deadline is the
    # longer of `file_deadline` and its declared size at `min_rate` bytes/s; the whole
    # source (metadata and packages) must finish within `source_deadline` seconds.
    file_deadline: float = Field(300.0, gt=0)
    min_rate: int = Field(16384, gt=0)
    source_deadline: float = Field(3600.0, gt=0)
    size_cap: int = Field(1 << 30, gt=0)  # a package whose size the metadata does not give
    metadata_cap: int = Field(1 << 30, gt=0)  # a metadata file, compressed or decompressed
    quarantine_cap: int = Field(2 << 30, ge=0)  # the source's quarantined bytes, oldest out

    @field_validator("size_cap", "metadata_cap", "quarantine_cap", "min_rate", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError(f"{value!r}: use letters, digits, '.', '_' or '-'")
        return value

    @field_validator("baseurl", "source_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "file://")):
            raise ValueError(f"{value!r} is not an http://, https:// or file:// URL")
        return value

    @field_validator("dist_tag")
    @classmethod
    def _tag_compiles(cls, value: str | None) -> str | None:
        return value if value is None else compiled_regex(value)

    @model_validator(mode="after")
    def _consistent(self) -> UpstreamSource:
        if "{arch}" in self.baseurl and not self.arches:
            raise ValueError(f"{self.name}: baseurl has {{arch}} but `arches` is empty")
        if (self.gpgcheck or self.signed_metadata) and not self.gpgkeys:
            raise ValueError(f"{self.name}: gpgcheck or signed_metadata needs `gpgkeys` "
                             "(or set gpgcheck: false for an unsigned source)")
        return self

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(k.replace(" ", "").upper() for k in self.gpgkeys if is_fingerprint(k))

    @property
    def key_files(self) -> tuple[str, ...]:
        return tuple(k for k in self.gpgkeys if not is_fingerprint(k))

    def repo_urls(self) -> dict[str, str]:
        """Upstream repo key ("x86_64", or "SRPMS" for source_url) -> its base URL."""
        if "{arch}" in self.baseurl:
            urls = {arch: self.baseurl.replace("{arch}", arch) for arch in self.arches}
        else:
            urls = {self.arches[0] if self.arches else "all": self.baseurl}
        if self.source_url:
            urls["SRPMS"] = self.source_url
        return urls



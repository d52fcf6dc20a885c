"""Verification: every downloaded upstream package is tested before it may land (seed 004
step 2, "Test if we have proper packages (md5, gpg, some tags)").

Digests by rpm (header and payload), the GPG signature against the source's own keys,
the header against the metadata that announced it, and the tags the source promises
(dist tag, vendor, an arch the release takes). The first failure is the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rpm

from updraft.config.dist import DistConfig
from updraft.config.upstream import UpstreamSource
from updraft.engine.package import BadPackage, read_facts
from updraft.upstream.keyring import Keyring
from updraft.upstream.metadata import RemotePackage


@dataclass(frozen=True)
class Verdict:
    package: RemotePackage
    path: Path
    reason: str = ""  # empty: the package passed

    @property
    def ok(self) -> bool:
        return not self.reason


def _vendor(path: Path) -> str:
    ts = rpm.TransactionSet()
    ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)  # checked already
    fd = os.open(path, os.O_RDONLY)
    try:
        return ts.hdrFromFdno(fd)[rpm.RPMTAG_VENDOR] or ""
    finally:
        os.close(fd)


def _accepted_arches(config: DistConfig, release: str) -> set[str]:
    return {arch for accepted in config.releases[release].arches.values() for arch in accepted}


def verify_packages(downloads: Sequence[tuple[RemotePackage, Path]], source: UpstreamSource,
                    keyring: Keyring | None, config: DistConfig,
                    release: str) -> list[Verdict]:
    signatures = keyring.check_packages([path for _, path in downloads]) if (
        keyring is not None and source.gpgcheck and downloads) else {}
    arches = _accepted_arches(config, release)
    verdicts = []
    for remote, path in downloads:
        reason = _digest_and_header(remote, path)
        if not reason and path in signatures and not signatures[path].ok:
            reason = signatures[path].reason
        if not reason:
            reason = _tags(remote, path, source, arches)
        verdicts.append(Verdict(remote, path, reason))
    return verdicts


def _digest_and_header(remote: RemotePackage, path: Path) -> str:
    try:
        facts = read_facts(path)
    except BadPackage as exc:
        return f"md5/sha digest check failed: {exc}"
    announced = f"{remote.name}-{remote.version}-{remote.release}.{remote.arch}"
    found = f"{facts.name}-{facts.version}-{facts.release}.{facts.arch}"
    if announced != found or (facts.epoch or None) != remote.epoch:
        return f"header says {found}, the repo metadata says {announced}"
    return ""


def _tags(remote: RemotePackage, path: Path, source: UpstreamSource, arches: set[str]) -> str:
    if source.dist_tag and not re.search(source.dist_tag, remote.release):
        return (f"release {remote.release!r} lacks the dist tag {source.dist_tag!r} "
                f"{source.name} packages must carry")
    if not remote.is_source and remote.arch not in arches:
        return f"arch {remote.arch} is not one this release takes ({', '.join(sorted(arches))})"
    if source.vendor is not None:
        vendor = _vendor(path)
        if vendor != source.vendor:
            return f"vendor {vendor or '(none)'!r} is not {source.vendor!r}"
    return ""

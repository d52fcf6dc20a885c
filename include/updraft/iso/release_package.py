"""The release package (smeserver-release): its version, release and displayversion.

displayversion is a spec macro (seed 002: `%define displayversion %{version}rc2`), so it
is read from the spec inside the package's SRPM, with the specfile library.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from functools import cmp_to_key
from pathlib import Path

import rpm
from specfile import Specfile

from updraft.engine.package import BadPackage, PackageFacts, read_facts


@dataclass(frozen=True)
class ReleasePackage:
    name: str
    version: str
    release: str
    displayversion: str  # "" when the spec defines none

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"


def _older_first(a: PackageFacts, b: PackageFacts) -> int:
    return int(rpm.labelCompare(("0", a.version, a.release), ("0", b.version, b.release)))


def find_release_package(binaries: Path, sources: Path, name: str) -> ReleasePackage | None:
    """The newest `name` binary in `binaries`, its displayversion from its SRPM."""
    found = []
    for path in sorted(binaries.glob(f"{name}-*.rpm")) if binaries.is_dir() else []:
        try:
            facts = read_facts(path)
        except BadPackage:
            continue
        if facts.name == name and not facts.is_source:
            found.append(facts)
    if not found:
        return None
    facts = max(found, key=cmp_to_key(_older_first))
    srpm = sources / facts.sourcerpm if facts.sourcerpm else None
    display = displayversion(srpm) if srpm is not None and srpm.is_file() else ""
    return ReleasePackage(facts.name, facts.version, facts.release, display)


def displayversion(srpm: Path) -> str:
    """%{displayversion} as the SRPM's spec defines it, expanded; "" when undefined."""
    with tempfile.TemporaryDirectory(prefix="updraft-spec-") as tmp:
        payload = subprocess.run(["rpm2cpio", str(srpm)], capture_output=True, check=False)
        if payload.returncode != 0:
            return ""
        subprocess.run(["cpio", "-idu", "--quiet", "*.spec"], input=payload.stdout, cwd=tmp,
                       capture_output=True, check=False)
        specs = sorted(Path(tmp).glob("*.spec"))
        if not specs:
            return ""
        spec = Specfile(specs[0], sourcedir=tmp, force_parse=True)
        value = spec.expand("%{?displayversion}")
        return value.strip()

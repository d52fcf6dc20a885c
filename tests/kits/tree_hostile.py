"""Helpers for the tree's hostile cases: repodata read back, files on disk compared."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from updraft.engine.engine import Engine

_REPO = "{http://linux.duke.edu/metadata/repo}"
_COMMON = "{http://linux.duke.edu/metadata/common}"


def primary_hrefs(repo_dir: Path) -> list[str]:
    """Every location href in repo_dir's primary.xml, duplicates and all (createrepo_c's
    Metadata keys by checksum and would hide a second copy of one package)."""
    repomd = ET.parse(repo_dir / "repodata" / "repomd.xml").getroot()
    for data in repomd.findall(f"{_REPO}data"):
        if data.get("type") == "primary":
            href = data.find(f"{_REPO}location").get("href")
            raw = (repo_dir / href).read_bytes()
            xml = gzip.decompress(raw) if href.endswith(".gz") else raw
            root = ET.fromstring(xml)
            return sorted(p.find(f"{_COMMON}location").get("href")
                          for p in root.findall(f"{_COMMON}package"))
    raise AssertionError(f"{repo_dir}: no primary in repomd.xml")


def force_publish(engine: Engine, *arch_dirs: tuple[str, str]) -> None:
    """Drop the repodata of these (repo, arch dir)s: the next cycle writes it afresh."""
    for repo, archdir in arch_dirs:
        shutil.rmtree(engine.layout.repodata_dir("9", repo, archdir) / "repodata")


def snapshot(top: Path) -> dict[str, str]:
    """Relative path -> sha256 (or what it is) of everything under top."""
    found = {}
    for directory, dirs, files in os.walk(top):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(directory, d))]:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                found[os.path.relpath(path, top)] = hashlib.sha256(
                    Path(path).read_bytes()).hexdigest()
            else:
                found[os.path.relpath(path, top)] = stat.filemode(mode)
    return found


def weird_arch_rpm(workdir: Path, arch: str) -> Path:
    """A real, digest-valid RPM whose header arch is `arch` (rpmbuild --target takes
    anything, even '../../smeos')."""
    spec = workdir / "weird.spec"
    spec.write_text("Name: weird\nVersion: 1\nRelease: 1\nSummary: x\nLicense: GPL\n"
                    "%description\nx\n%files\n")
    top = workdir / "top"
    subprocess.run(["rpmbuild", "-bb", "--target", arch, "--define", f"_topdir {top}",
                    "--define", "_build_name_fmt weird-out.rpm", str(spec)],
                   check=True, capture_output=True)
    return top / "RPMS" / "weird-out.rpm"

"""Test kit for rebase: real upstream SRPMs (rpmbuild -bs of a real tarball) and real
unified diffs for our patches.

An upstream SRPM holds Source0 `<name>-<version>.tar.gz` (a directory `<name>-<version>/`
of text files), upstream's own patches applied in %prep, optional `%global` lines at the
top, and one upstream %changelog entry, like a CentOS SRPM of seed 000's initscripts.
"""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import yaml

from tests.kits.treekit import CONFIG_FILE
from updraft.devkit.demo_upstream import tarball
from updraft.devkit.samba_standin import SAMBA_SPEC, TARBALL_FILES

DEFAULT_FILES = {
    "rc.sysinit": "#!/bin/bash\n# rc.sysinit, run once at boot\n"
                  + "".join(f"# step {n}\n" for n in range(1, 10))
                  + "dmesg -s 131072 > /var/log/dmesg\n"
                  + "".join(f"# step {n}\n" for n in range(10, 20)),
    "rc.d/init.d/functions": "# -*-Shell-script-*-\n"
                             + "".join(f"# helper {n}\n" for n in range(1, 8))
                             + "plymouth --ping\n"
                             + "".join(f"# helper {n}\n" for n in range(8, 15)),
}

# What rpmbuild needs to be quick and quiet in a private topdir (no debuginfo, no
# brp scripts, no build-id links: the packages hold plain text files).
FAST_DEFINES = {
    "debug_package": "%{nil}",
    "__os_install_post": "%{nil}",
    "__spec_install_post": "%{nil}",
    "_build_id_links": "none",
    "_binary_payload": "w1.gzdio",
    "_source_payload": "w1.gzdio",
}


def make_patch(old: str, new: str, path: str) -> str:
    """A unified diff of one file, `a/` and `b/` prefixed (applies with -p1)."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    return "".join(lines)


def _spec(name: str, version: str, release: str, patches: dict[str, str],
          macros: dict[str, str], autosetup: bool, description: str) -> str:
    lines = [f"%global {key} {value}" for key, value in macros.items()]
    lines += [f"Name: {name}", f"Version: {version}", f"Release: {release}%{{?dist}}",
              f"Summary: {name} for tests", "License: GPLv2", "BuildArch: noarch",
              "Source0: %{name}-%{version}.tar.gz"]
    lines += [f"Patch{number}: {file}" for number, file in enumerate(patches)]
    lines += ["", "%description", description, "", "%prep"]
    if autosetup:
        lines.append("%autosetup -p1")
    else:
        lines.append("%setup -q")
        lines += [f"%patch{number} -p1" for number in range(len(patches))]
    lines += ["", "%build", "", "%install",
              "mkdir -p %{buildroot}%{_datadir}/%{name}",
              "cp -a . %{buildroot}%{_datadir}/%{name}/", "",
              "%files", "%{_datadir}/%{name}", "",
              "%changelog",
              f"* Mon Jan 07 2013 Upstream Builder <builder@upstream.example> - "
              f"{version}-{release}",
              f"- Upstream release {version}", ""]
    return "\n".join(lines)


def rpmbuild(args: list[str], topdir: Path, dist: str = "") -> subprocess.CompletedProcess[str]:
    """rpmbuild in a private topdir, HOME pinned so no ~/.rpmmacros sneaks in."""
    defines = {**FAST_DEFINES, "_topdir": str(topdir), "dist": dist or "%{nil}"}
    command = ["rpmbuild", "--nodeps"]
    for key, value in defines.items():
        command += ["--define", f"{key} {value}"]
    (topdir / "home").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LC_ALL": "C", "HOME": str(topdir / "home")}
    return subprocess.run(command + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, check=False)


def upstream_srpm(directory: Path, name: str = "initscripts", version: str = "9.03.49",
                  release: str = "1", files: dict[str, str] | None = None,
                  patches: dict[str, str] | None = None,
                  macros: dict[str, str] | None = None, dist: str = ".el6", *,
                  autosetup: bool = False, description: str = "Test package.") -> Path:
    """Build `<name>-<version>-<release><dist>.src.rpm` into `directory` and return it.

    `patches` (file name -> diff) become upstream's Patch0.. applied with `%patchN -p1`
    (or by `%autosetup -p1`); `description` may hold %if lines over `macros`.
    """
    topdir = directory / f".kit-{name}-{version}-{release}"
    for sub in ("SOURCES", "SPECS", "SRPMS"):
        (topdir / sub).mkdir(parents=True, exist_ok=True)
    tarball(topdir / "SOURCES" / f"{name}-{version}.tar.gz", f"{name}-{version}",
             DEFAULT_FILES if files is None else files)
    for file, diff in (patches or {}).items():
        (topdir / "SOURCES" / file).write_text(diff)
    spec = topdir / "SPECS" / f"{name}.spec"
    spec.write_text(_spec(name, version, release, patches or {}, macros or {}, autosetup,
                          description))
    done = rpmbuild(["-bs", str(spec)], topdir, dist)
    if done.returncode != 0:
        raise RuntimeError(f"rpmbuild -bs of the {name} fixture failed:\n{done.stdout}")
    (built,) = (topdir / "SRPMS").glob("*.src.rpm")
    target = directory / built.name
    built.replace(target)
    return target


OWNER = "initscripts-owner@example.org"


def rebase_config(directory: Path, patches: dict[str, str]) -> Path:
    """config/sme.yaml with the initscripts policy re-applying `patches` (name -> diff)."""
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    (directory / "patches").mkdir(parents=True, exist_ok=True)
    for name, diff in patches.items():
        (directory / "patches" / name).write_text(diff)
    raw["build"]["patches_dir"] = str(directory / "patches")
    policy = next(p for p in raw["policies"] if p["match"] == "initscripts")
    policy["rebase"]["patches"] = list(patches)
    policy["owners"] = [OWNER]
    config = directory / "sme.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


# -- samba: seed 000's spec patch, on a cut-down upstream spec ----------------------------

PATCHES_DIR = CONFIG_FILE.parent / "patches"

def samba_srpm(directory: Path, spec_text: str = SAMBA_SPEC) -> Path:
    top = directory / ".kit-samba"
    for sub in ("SOURCES", "SPECS", "SRPMS"):
        (top / sub).mkdir(parents=True, exist_ok=True)
    tarball(top / "SOURCES" / "samba-4.6.2.tar.gz", "samba-4.6.2", TARBALL_FILES)
    (top / "SPECS" / "samba.spec").write_text(spec_text)
    done = rpmbuild(["-bs", str(top / "SPECS" / "samba.spec")], top, ".el7")
    assert done.returncode == 0, done.stdout
    (built,) = (top / "SRPMS").glob("*.src.rpm")
    return built


def samba_config(tmp: Path, backend: str = "rpmbuild") -> Path:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    raw["build"]["patches_dir"] = str(PATCHES_DIR)
    raw["build"]["backend"] = backend
    config = tmp / "sme.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config

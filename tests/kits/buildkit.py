"""Test kit for builds: small real SRPMs, made with `rpmbuild -bs`, for the backends to rebuild.

The default package is a C program plus a noarch `-doc` subpackage. It is compiled with a
plain `gcc -o` (no %optflags), so an i386 target builds on an x86_64 host, and declares no
BuildRequires, since this host's rpm database is empty and rpmbuild would refuse the build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

_WORD = re.compile(r"^[A-Za-z0-9._+-]+$")  # the values go into spec lines and file names

_C_SOURCE = '#include <stdio.h>\n\nint main(void)\n{\n    puts("{greeting}");\n    return 0;\n}\n'
_BROKEN_C = "int main(void)\n{\n    return 0\n}\n"  # a missing ';': gcc fails in %build
_SCRIPT = "#!/bin/sh\necho {greeting}\n"

# `--define greeting X`, `--with extras` and `--without docs` each leave a visible trace.
_PROBE = """%bcond_with extras
%bcond_without docs
%{!?greeting:%global greeting plain}
"""
_PROBE_DESCRIPTION = "greeting=%{greeting} extras=%{with extras} docs=%{with docs}\n"


def srpm(directory: Path, name: str = "hello", version: str = "1.0", release: str = "1", *,
         broken: bool = False, noarch: bool = False, doc: bool = True, dist: str = ".el9",
         probe: bool = False) -> Path:
    """Build NAME-VERSION-RELEASE<dist>.src.rpm into directory and return its path.

    broken: the C source does not compile. noarch: a shell script, BuildArch noarch.
    doc: a noarch NAME-doc subpackage. probe: the spec reads a `greeting` macro and the
    bconds `extras` (off by default) and `docs` (on; off drops the doc subpackage), and
    prints all three in the main package's %description.
    """
    for value in (name, version, release, dist):
        if value and not _WORD.match(value):
            raise ValueError(f"{value!r}: letters, digits and ._+- only")
    directory.mkdir(parents=True, exist_ok=True)
    source = f"{name}.sh" if noarch else f"{name}.c"
    text = _SCRIPT if noarch else _BROKEN_C if broken else _C_SOURCE
    with tempfile.TemporaryDirectory(prefix="buildkit-") as tmp:
        top = Path(tmp)
        (top / "src").mkdir()
        (top / "src" / source).write_text(text.replace("{greeting}", f"hello from {name}"))
        spec = top / "src" / f"{name}.spec"
        spec.write_text(_spec(name, version, release, source, noarch=noarch, doc=doc,
                              probe=probe))
        command = ["rpmbuild", "-bs", "--define", f"_topdir {top}",
                   "--define", f"_sourcedir {top / 'src'}",
                   "--define", f"dist {dist or '%{nil}'}", str(spec)]
        env = {**os.environ, "HOME": tmp, "LC_ALL": "C"}
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"rpmbuild -bs {name} failed:\n{done.stdout}")
        (built,) = (top / "SRPMS").glob("*.src.rpm")
        target = directory / built.name
        target.unlink(missing_ok=True)
        shutil.move(built, target)
    return target


def _spec(name: str, version: str, release: str, source: str, *, noarch: bool, doc: bool,
          probe: bool) -> str:
    def docs_only(*lines: str) -> list[str]:
        if not doc:
            return []
        return ["%if %{with docs}", *lines, "%endif"] if probe else list(lines)

    readme = f"/usr/share/doc/{name}/README"
    binary = source if noarch else name
    lines = [_PROBE if probe else "",
             f"Name: {name}", f"Version: {version}", f"Release: {release}%{{?dist}}",
             f"Summary: {name}, a test package", "License: MIT", f"Source0: {source}",
             "BuildArch: noarch" if noarch else "", "",
             "%description", f"{name} greets the world.", _PROBE_DESCRIPTION if probe else "",
             *docs_only("%package doc", f"Summary: Documentation for {name}",
                        "BuildArch: noarch", "", "%description doc",
                        f"Documentation for {name}."), "",
             "%prep", "%setup -q -c -T", f"cp %{{SOURCE0}} {source}", "",
             "%build", "true" if noarch else f"gcc -o {name} {source}", "",
             "%install", "mkdir -p %{buildroot}/usr/bin",
             f"install -m 755 {binary} %{{buildroot}}/usr/bin/{name}",
             *docs_only(f"mkdir -p %{{buildroot}}/usr/share/doc/{name}",
                        f"echo '{name} {version}' > %{{buildroot}}{readme}"), "",
             "%files", f"/usr/bin/{name}", "",
             *docs_only("%files doc", readme), "",
             "%changelog",
             f"* Mon Jan 01 2024 Test Builder <builder@example.com> - {version}-{release}",
             f"- {name} {version} for the build tests"]
    return "\n".join(lines) + "\n"

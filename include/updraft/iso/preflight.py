"""Preflight: everything seed 002 asks a release engineer to check by hand, checked at
once, and reported as one list (a build never stops at the first problem).

- the release package (smeserver-release) has its version, release and displayversion
  bumped against the previous ISO;
- product/.buildstamp has IsFinal=True (final builds) and the ISO's Version;
- isolinux.cfg's `menu title` and the product's etc/*release* files name the version;
- every package is signed with the release key, and the dependency closure holds;
- no unverified package waits in smeupdates-testing ("ALL RPMS MUST BE VERIFIED").
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import rpm

from updraft.depsolve import unresolved
from updraft.iso.release_package import ReleasePackage, find_release_package
from updraft.iso.target import IsoTarget
from updraft.upstream.keyring import Keyring

VERIFIED = "tested"  # seed 004's state of a package whose bugs were VERIFIED


@dataclass(frozen=True)
class Finding:
    check: str
    message: str
    fatal: bool = True

    def line(self) -> str:
        return f"{'problem' if self.fatal else 'warning'}: {self.check}: {self.message}"


@dataclass
class PreflightReport:
    version: str
    final: bool
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.fatal]

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = (f"preflight of {self.version} ({'final' if self.final else 'pre-release'}): "
                f"{len(self.problems)} problems, {len(self.findings) - len(self.problems)} "
                f"warnings; checked {', '.join(self.checked)}")
        return [head, *(finding.line() for finding in self.findings)]

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version, "final": self.final, "ok": self.ok,
                "problems": [f.line() for f in self.problems],
                "warnings": [f.line() for f in self.findings if not f.fatal],
                "lines": self.lines()}


Add = Callable[[Finding], None]  # where a check reports what it found


def normalised(text: str) -> str:
    """`Welcome to SME Server 10.1 RC1` and `10.1rc1` compare alike."""
    return re.sub(r"\s+", "", text).lower()


def preflight(target: IsoTarget, verified: dict[str, str] | None = None) -> PreflightReport:
    """Run every check; `verified` maps a package file name in the freeze repos to its
    ledger state (None: read from the ledger)."""
    report = PreflightReport(target.version, target.final)
    add = report.findings.append
    _release_package(target, add)
    for arch in target.arches:
        _buildstamp(target, arch, add)
        _menu_title(target, arch, add)
        _release_files(target, arch, add)
        for line in unresolved(target.packages_dir(arch), arch):
            add(Finding("dependencies", f"{arch}: {line}"))
    _signatures(target, add)
    _verification(target, verified, add)
    report.checked = ["release package", "buildstamp", "menu title", "release files",
                      "dependencies", "signatures", "verification"]
    return report


def _release_package(target: IsoTarget, add: Add) -> None:
    name = target.settings.release_package
    current = find_release_package(target.packages_dir(target.arches[0]), target.sources_dir,
                                   name)
    if current is None:
        add(Finding("release package", f"no {name} in {target.packages_dir(target.arches[0])}: "
                    "build it and move it to smeupdates-testing"))
        return
    if current.displayversion != target.version:
        add(Finding("release package", f"{current.nvr} has displayversion "
                    f"{current.displayversion or '(none)'}, the ISO is {target.version}: bump "
                    "%define displayversion in its spec"))
    previous_version = target.previous_version()
    if previous_version is None:
        return
    layout, repo = target.layout, target.settings.published_repo
    previous = find_release_package(layout.binary_dir(previous_version, repo, target.arches[0]),
                                    layout.source_dir(previous_version, repo), name)
    if previous is None:
        return
    _bumped(current, previous, previous_version, add)


def _bumped(current: ReleasePackage, previous: ReleasePackage, where: str, add: Add) -> None:
    said = f"than the previous ISO's ({previous.nvr}, {where})"
    if rpm.labelCompare(("0", current.version, "0"), ("0", previous.version, "0")) < 0:
        add(Finding("release package", f"{current.nvr}: version is older {said}"))
    if rpm.labelCompare(("0", current.version, current.release),
                        ("0", previous.version, previous.release)) <= 0:
        add(Finding("release package", f"{current.nvr} is not newer {said}: bump %define "
                    "version or release (and the changelog)"))
    if current.displayversion and current.displayversion == previous.displayversion:
        add(Finding("release package", f"{current.nvr}: displayversion "
                    f"{current.displayversion} is the same {said}: bump it"))


def _buildstamp(target: IsoTarget, arch: str, add: Add) -> None:
    path = target.arch_tree(arch) / "product" / ".buildstamp"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text())
        main = parser["Main"]
    except (OSError, configparser.Error, KeyError) as exc:
        add(Finding("buildstamp", f"{path}: no readable [Main] section ({exc.__class__.__name__})"
                    ": copy cdrom.image's product/.buildstamp"))
        return
    final = main.get("IsFinal", "").strip().lower() == "true"
    if target.final and not final:
        add(Finding("buildstamp", f"{path}: IsFinal={main.get('IsFinal', '')} on the final "
                    f"build {target.version}: set IsFinal=True"))
    elif final and not target.final:
        add(Finding("buildstamp", f"{path}: IsFinal=True on the pre-release {target.version}"
                    ": anaconda will not show the beta warning", fatal=False))
    if normalised(main.get("Version", "")) != normalised(target.version):
        add(Finding("buildstamp", f"{path}: Version={main.get('Version', '')}, the ISO is "
                    f"{target.version}: bump Version"))


def _menu_title(target: IsoTarget, arch: str, add: Add) -> None:
    path = target.arch_tree(arch) / "isolinux" / "isolinux.cfg"
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        add(Finding("menu title", f"{path}: missing: copy cdrom.image's isolinux/"))
        return
    titles = [line.strip()[len("menu title"):].strip() for line in lines
              if line.strip().lower().startswith("menu title")]
    if not titles:
        add(Finding("menu title", f"{path}: no `menu title` line"))
    for title in titles:
        if normalised(target.version) not in normalised(title):
            add(Finding("menu title", f"{path}: `menu title {title}` does not name "
                        f"{target.version}: edit it (seed 002: Bump version in the splash "
                        "screen)"))


def _release_files(target: IsoTarget, arch: str, add: Add) -> None:
    etc = target.arch_tree(arch) / "product" / "etc"
    files = sorted(p for p in etc.glob("*release*") if p.is_file())
    if not files:
        add(Finding("release files", f"{etc}: no *release* files: copy cdrom.image's "
                    "product/etc"))
    wanted = normalised(target.version)
    other = re.compile(rf"\b{re.escape(target.release)}\.\d+(?:\s?(?:alpha|beta|rc)\s?\d+)?",
                       re.IGNORECASE)
    for path in files:
        text = path.read_text(errors="replace")
        stale = sorted({m.group(0) for m in other.finditer(text)
                        if not wanted.startswith(normalised(m.group(0)))})
        if wanted not in normalised(text) or stale:
            seen = f" (it says {', '.join(stale)})" if stale else ""
            add(Finding("release files", f"{path}: does not carry {target.version}{seen}"))


def _signatures(target: IsoTarget, add: Add) -> None:
    keys = [target.layout.config.resolve_path(key) for key in target.settings.release_keys]
    if not keys:
        add(Finding("signatures", "iso.release_keys is empty: name the release key file"))
        return
    packages = [p for arch in target.arches
                for p in sorted(target.packages_dir(arch).glob("*.rpm"))]
    packages += sorted(target.sources_dir.glob("*.rpm"))
    keyring = Keyring(target.state_dir / "keyring")
    keyring.load(keys)
    for path, check in keyring.check_packages(packages).items():
        if not check.ok:
            add(Finding("signatures", f"{path.name}: {check.reason}: sign it with the release "
                        "key (updraft sign)"))


def _verification(target: IsoTarget, verified: dict[str, str] | None, add: Add) -> None:
    layout = target.layout
    if verified is None:
        from updraft.ledger import Ledger

        with Ledger.open(layout.ledger_url) as ledger:
            verified = {s.package: s.state for s in ledger.states(target.release)}
    for repo in target.settings.freeze_repos:
        dirs = [layout.source_dir(target.release, repo)]
        dirs += [layout.binary_dir(target.release, repo, arch)
                 for arch in layout.archdirs(target.release)]
        names = sorted({p.name for d in dirs if d.is_dir() for p in d.glob("*.rpm")})
        waiting = [n for n in names if verified.get(n) != VERIFIED]
        if waiting:
            shown = ", ".join(f"{n} ({verified.get(n) or 'no state'})" for n in waiting[:20])
            more = f" and {len(waiting) - 20} more" if len(waiting) > 20 else ""
            add(Finding("verification", f"{len(waiting)} packages in {repo} not verified: "
                        f"{shown}{more} (seed 002: ALL RPMS MUST BE VERIFIED IN "
                        "SMEUPDATES-TESTING)", fatal=target.final))

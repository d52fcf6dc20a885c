"""Publish an ISO: seed 002's "Dev access to release ISO", as a plan and its application.

1. create the version dirs (`<root>/<version>/{iso/<arch>,iso/source,smeos/<arch>}`);
2. copy the ISOs, jigdos, templates and checksums;
3. sync the stage to `smeos/<arch>` (packages into the engine's layout) and `smeos/SRPMS`
   (`rsync -a --delete`), and write smeos' repodata with the comps groups;
4. hardlink every other repo from the previous version (`cp -lr`);
5. switch the major-version link (`10 -> 10.1`) atomically: a new link renamed over it.

Every step is recorded in the ledger. Re-running a publish redoes nothing harmful:
copies are replaced whole, hardlinks already there are kept, the link is switched again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from updraft.engine import faults
from updraft.engine.faults import checkpoint
from updraft.engine.repodata import DIE_WITH_PARENT
from updraft.errors import ConfigError
from updraft.iso.image import IsoBuildError, run_tool
from updraft.iso.stage import link_or_copy
from updraft.iso.target import IsoTarget
from updraft.ledger.isos import record_step

LineSink = Callable[[str], None]


@dataclass(frozen=True)
class PublishStep:
    kind: str  # mkdir, copy, sync, repodata, hardlink, switch
    source: Path | None
    destination: Path
    detail: str = ""

    def line(self) -> str:
        if self.kind == "mkdir":
            return f"mkdir -p {self.destination}"
        if self.kind == "copy":
            return f"cp -a {self.source} {self.destination}"
        if self.kind == "sync":
            return f"rsync -a --delete {self.source}/ {self.destination}/ {self.detail}".rstrip()
        if self.kind == "hardlink":
            return f"cp -lr {self.source}/* {self.destination}/"
        if self.kind == "repodata":
            return f"createrepo_c {self.detail} {self.destination}".replace("  ", " ")
        return f"ln -s {self.source} {self.destination} (atomic rename)"


def plan_publish(target: IsoTarget) -> list[PublishStep]:
    layout, settings = target.layout, target.settings
    root = layout.root
    link = target.major_link
    if link.exists() and not link.is_symlink():
        raise ConfigError(f"{link} is a directory, not a link to a version: move it to "
                          f"{root}/<version> and `ln -s <version> {target.release}` once")
    previous = target.previous_version()
    if previous == target.version:
        previous = None  # a re-run after the switch: the repos are already linked
    version_dir = root / target.version
    smeos = settings.published_repo
    steps: list[PublishStep] = []
    outputs = [(arch, target.iso_file(arch).parent) for arch in target.arches]
    outputs.append(("source", target.srpms_iso.parent))
    for name, _ in outputs:
        steps.append(PublishStep("mkdir", None, version_dir / "iso" / name))
    for arch in target.arches:
        steps.append(PublishStep("mkdir", None, layout.repodata_dir(target.version, smeos, arch)))
    for name, directory in outputs:
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            if path.suffix in (".iso", ".jigdo", ".template") or path.name == "SHA256SUM":
                steps.append(PublishStep("copy", path, version_dir / "iso" / name / path.name))
    packages = settings.tree.packages
    for arch in target.arches:
        steps.append(PublishStep("sync", target.arch_tree(arch),
                                 layout.repodata_dir(target.version, smeos, arch),
                                 f"(without {packages}, repodata)"))
        steps.append(PublishStep("sync", target.packages_dir(arch),
                                 layout.binary_dir(target.version, smeos, arch), "(*.rpm)"))
    steps.append(PublishStep("sync", target.sources_dir, layout.source_dir(target.version, smeos),
                             "(*.rpm)"))
    for arch in target.arches:
        comps = target.comps(arch)
        steps.append(PublishStep("repodata", comps if comps.is_file() else None,
                                 layout.repodata_dir(target.version, smeos, arch),
                                 f"--groupfile {comps}" if comps.is_file() else ""))
    if previous is not None:
        for repo in _hardlinked_repos(target):
            source = _repo_dir(target, previous, repo)
            if source.is_dir():
                steps.append(PublishStep("hardlink", source,
                                         _repo_dir(target, target.version, repo)))
    steps.append(PublishStep("switch", Path(target.version), link))
    return steps


def _repo_dir(target: IsoTarget, version: str, repo: str) -> Path:
    """A repo's dir in a version's tree (`<root>/10.0/smetest`), from the release's."""
    layout = target.layout
    current = layout.repo_dir(target.release, repo)
    try:
        inside = current.relative_to(target.major_link)
    except ValueError:
        raise ConfigError(f"repo {repo} lives at {current}, outside {target.major_link}: "
                          "publishing needs every repo under the release dir") from None
    return layout.root / version / inside


def _hardlinked_repos(target: IsoTarget) -> list[str]:
    config = target.layout.config
    chosen = target.settings.hardlink_repos
    if chosen is None:
        chosen = tuple(name for name, repo in config.repos.items()
                       if not repo.stage and name != target.settings.published_repo)
    for repo in chosen:
        config.check_repo(repo)
    return list(chosen)


def apply_publish(target: IsoTarget, steps: list[PublishStep], trigger: str,
                  sink: LineSink | None = None) -> None:
    url = target.layout.ledger_url
    for step in steps:
        if sink:
            sink(step.line())
        try:
            _apply(target, step)
        except Exception as exc:
            record_step(url, target.release, target.version, trigger, f"publish:{step.kind}",
                        "failed", f"{step.line()}: {exc}")
            raise
        record_step(url, target.release, target.version, trigger, f"publish:{step.kind}",
                    "done", step.line())
        checkpoint(f"iso publish: {step.kind} done")


def _apply(target: IsoTarget, step: PublishStep) -> None:
    if step.kind == "mkdir":
        step.destination.mkdir(parents=True, exist_ok=True)
    elif step.kind == "copy":
        assert step.source is not None
        temporary = step.destination.with_name(f".{step.destination.name}.part")
        shutil.copy2(step.source, temporary)
        checkpoint("iso publish: copy written, not yet renamed")
        os.replace(temporary, step.destination)
    elif step.kind == "sync":
        assert step.source is not None
        if step.detail == "(*.rpm)":
            _sync_rpms(step.source, step.destination)
        else:
            skip = {Path(target.settings.tree.packages).parts[0], "repodata"}
            _sync_tree(step.source, step.destination, skip)
    elif step.kind == "repodata":
        _createrepo(step)
    elif step.kind == "hardlink":
        assert step.source is not None
        hardlink_tree(step.source, step.destination)
    else:
        switch_link(step.destination, str(step.source))


def _createrepo(step: PublishStep) -> None:
    """createrepo_c on the new smeos; it dies with us (its `.repodata` workspace, left by a
    kill, would make every later createrepo_c refuse: removed first, under the tree lock)."""
    shutil.rmtree(step.destination / ".repodata", ignore_errors=True)
    groups = ["--groupfile", str(step.source)] if step.source else []
    command = [*DIE_WITH_PARENT, "createrepo_c", "--quiet", *groups, str(step.destination)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    faults.running(process, step.destination / ".repodata",
                   "repodata: createrepo_c running (iso publish)")
    _, stderr = process.communicate()
    if process.returncode != 0:
        last = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise IsoBuildError(f"createrepo_c exited {process.returncode}: {last[0]}")


def _sync_rpms(source: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in source.glob("*.rpm")}
    for present in destination.glob("*.rpm"):
        if present.name not in wanted:
            present.unlink()
    for name in sorted(wanted):
        if not (destination / name).exists():
            link_or_copy(source / name, destination / name)


def _sync_tree(source: Path, destination: Path, skip: set[str]) -> None:
    """rsync -a --delete of source into destination, but for the top-level `skip` names
    (the packages and repodata, which get their own steps) and the engine's RPMS dir."""
    destination.mkdir(parents=True, exist_ok=True)
    run_tool(["rsync", "-a", "--delete", *(f"--exclude=/{name}" for name in sorted(skip)),
              "--exclude=/RPMS", f"{source}/", f"{destination}/"])


def hardlink_tree(source: Path, destination: Path) -> int:
    """`cp -lr source/* destination/`: directories made, files hardlinked, links copied."""
    linked = 0
    for directory, subdirs, files in os.walk(source):
        here = destination / Path(directory).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in subdirs:
            origin = Path(directory) / name
            if origin.is_symlink() and not (here / name).is_symlink():
                (here / name).symlink_to(origin.readlink())
        for name in files:
            origin, placed = Path(directory) / name, here / name
            if placed.is_symlink() or placed.exists():
                continue
            if origin.is_symlink():
                placed.symlink_to(origin.readlink())
            else:
                os.link(origin, placed)
                linked += 1
                checkpoint("iso publish: hardlinking")
    return linked


def switch_link(link: Path, points_to: str) -> None:
    """Point `link` at `points_to` in one rename: readers see the old or the new target."""
    temporary = link.with_name(f".{link.name}.updraft-new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(points_to)
    os.replace(temporary, link)

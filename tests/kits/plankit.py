"""Header facts made by hand, for the pure planner's tests (no disk involved)."""

from __future__ import annotations

from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import PackageFacts, PackageFile
from updraft.engine.tree import ReleaseTree


def family(name: str, version: str, release: str, binaries: dict[str, str],
           source: bool = True) -> list[PackageFacts]:
    """binaries: package name -> arch. The SRPM is named like the binaries' SOURCERPM."""
    srpm = f"{name}-{version}-{release}.src.rpm"
    facts = [PackageFacts(b, None, version, release, arch, srpm) for b, arch in binaries.items()]
    if source:
        facts.append(PackageFacts(name, None, version, release, "src", None))
    return facts


def put(layout: Layout, tree: ReleaseTree, repo: str, facts: list[PackageFacts],
        stray: bool = False) -> None:
    for fact in facts:
        if stray:
            places = [(layout.repo_dir(tree.release, repo), None)]
        elif fact.is_source:
            places = [(layout.source_dir(tree.release, repo), SOURCE_DIR)]
        else:
            places = [(layout.binary_dir(tree.release, repo, a), a)
                      for a in layout.archdirs_for(tree.release, fact.arch)]
        for directory, archdir in places:
            path = str(directory / fact.filename)
            tree.files.append(PackageFile(path, tree.release, repo, archdir, fact, 1000, 1))

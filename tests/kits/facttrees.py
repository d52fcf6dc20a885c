"""Bench-like release trees made of header facts alone (no disk), from a fixed seed.

The planner is pure, so a tree of PackageFile records is all it needs. The shapes are the
ones that matter to planning: families spread over every tier, `cp`s of single members
into a higher repo (pulls), older versions copied over newer ones (retention rejects),
noarch members, strays outside the layout, SRPM-less families, epochs and the stage.
Used by the plan-stability test (tests/unit/test_plan_stability.py) and bench/planning.py.
"""

from __future__ import annotations

import random

from updraft.engine.layout import SOURCE_DIR, Layout
from updraft.engine.package import PackageFacts, PackageFile
from updraft.engine.tree import ReleaseTree

_TIERS = ("smedev", "smetest", "smeupdates-testing", "smeupdates", "smeos", "smecontribs")
_PULLERS = ("smetest", "smeupdates-testing", "smeupdates", "smecontribs")


def _family(
    name: str,
    version: str,
    release: str,
    epoch: int | None,
    arches: list[str],
    source: bool,
    dist: str,
) -> list[PackageFacts]:
    srpm = f"{name}-{version}-{release}.src.rpm"
    facts = [
        PackageFacts(
            name if i == 0 else f"{name}-sub{i}",
            epoch,
            version,
            f"{release}{dist}",
            arch,
            srpm,
            f"d-{name}-{version}-{release}-{i}",
        )
        for i, arch in enumerate(arches)
    ]
    if source:
        facts.append(
            PackageFacts(
                name, epoch, version, release, "src", None, f"d-{name}-{version}-{release}-src"
            )
        )
    return facts


def _put(
    layout: Layout, tree: ReleaseTree, repo: str, facts: list[PackageFacts], stray: bool = False
) -> None:
    for fact in facts:
        if stray:
            places = [(layout.repo_dir(tree.release, repo), None)]
        elif fact.is_source:
            places = [(layout.source_dir(tree.release, repo), SOURCE_DIR)]
        else:
            places = [
                (layout.binary_dir(tree.release, repo, a), a)
                for a in layout.archdirs_for(tree.release, fact.arch)
            ]
        for directory, archdir in places:
            path = str(directory / fact.filename)
            tree.files.append(PackageFile(path, tree.release, repo, archdir, fact, 1000, 1))


def random_tree(layout: Layout, seed: int, names: int, release: str = "9") -> ReleaseTree:
    """A release tree of `names` source names, each with one to four families."""
    rng = random.Random(seed)
    tree = ReleaseTree(release)
    dist = ".el6" if release == "9" else ".el7"
    for number in range(names):
        name = f"pkg{number:05d}"
        epoch = rng.choice([None, None, None, 1])
        for version_number in range(rng.randint(1, 4)):
            version = f"{rng.randint(1, 3)}.{version_number}"
            arches = rng.choice([["i386", "x86_64"], ["noarch"], ["x86_64", "noarch", "i686"]])
            facts = _family(
                name,
                version,
                str(rng.randint(1, 3)),
                epoch,
                arches,
                source=rng.random() > 0.05,
                dist=dist,
            )
            repo = rng.choice(_TIERS)
            _put(layout, tree, repo, facts)
            roll = rng.random()
            if roll < 0.25:  # a packager's `cp` of one member into a higher repo: a pull
                _put(layout, tree, rng.choice(_PULLERS), facts[:1], stray=rng.random() < 0.5)
            elif roll < 0.30:  # a second whole copy elsewhere
                _put(layout, tree, rng.choice(_TIERS), facts)
            elif roll < 0.35 and repo != "smeos":  # the stage still holds it
                _put(layout, tree, "stage", facts)
    return tree


def pulled_tree(layout: Layout, pulled: int, settled: int, release: str = "9") -> ReleaseTree:
    """`settled` families at rest in smeupdates-testing and smeupdates, and `pulled`
    families whose one binary a packager copied up from smetest (half of them an older
    version than the one already there: a retention reject)."""
    tree = ReleaseTree(release)
    for number in range(settled):
        facts = _family(f"rest{number:06d}", "1.0", "1", None, ["x86_64", "noarch"], True, ".el6")
        _put(layout, tree, "smeupdates" if number % 2 else "smeupdates-testing", facts)
        _put(layout, tree, "stage", facts)
    for number in range(pulled):
        name = f"pull{number:05d}"
        new = _family(name, "2.0", "1", None, ["x86_64", "noarch"], True, ".el6")
        _put(layout, tree, "smetest", new)
        if number % 2:  # a newer version is already there: the older one is rejected
            _put(
                layout,
                tree,
                "smeupdates-testing",
                _family(name, "3.0", "1", None, ["x86_64"], True, ".el6"),
            )
        _put(layout, tree, "smeupdates-testing", new[:1], stray=True)
    return tree

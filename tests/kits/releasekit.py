"""Test helpers for the release cycle: seed 000's soft-dependency tree and its bugs.

The packages are the demo's (updraft.devkit.demo), built by rpmbuild: e-smith-base 5.0.0-16
and 5.0.0-14, e-smith-pop3 2.0.0-2 and e-smith-apache 2.0.0-7 in smeupdates-testing
over their smeos versions, clamav 0.97.5-2 (upstream, no bug) in smeupdates-testing.
"""

from __future__ import annotations

from pathlib import Path

from tests.kits import treekit
from tests.kits.bugzilla_server import bug
from updraft.devkit import demo, rpmfactory
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout

SEED_STATES = {6262: "VERIFIED", 6248: "RESOLVED", 6104: "VERIFIED", 4633: "VERIFIED",
               6769: "VERIFIED"}
SUMMARIES = {6262: "Make CipherSuite secure by default", 6248: "Domain name lost on upgrade",
             6104: "Drop ipchains from the console", 4633: "Remove the pop3 proxy",
             6769: "Disable weak SSL protocols"}


def seed_bugs(states: dict[int, str] | None = None) -> dict[int, dict[str, object]]:
    chosen = SEED_STATES if states is None else states
    return {number: bug(number, state, resolution="FIXED" if state != "NEW" else "",
                        product="SME Server 9.X", version="9.0", summary=SUMMARIES.get(
                            number, f"bug {number}"))
            for number, state in chosen.items()}


def seed_placements() -> list[tuple[str, rpmfactory.FamilySpec]]:
    """(repo, spec) of release 9 from the demo: the e-smith example and clamav."""
    return [(item.repo, item.spec) for item in demo.demo_families()
            if item.release == "9" and item.spec.name != "smeserver-newtool"
            and not (item.spec.name == "clamav" and item.repo == "smetest")]


def build_seed(store: Path) -> list[tuple[str, rpmfactory.BuiltFamily]]:
    placements = seed_placements()
    built = rpmfactory.build_families([spec for _, spec in placements], store,
                                      arches=("i386", "x86_64"), jobs=2)
    return [(repo, family) for (repo, _), family in zip(placements, built, strict=True)]


def seed_tree(root: Path, built: list[tuple[str, rpmfactory.BuiltFamily]],
              extra: list[tuple[str, rpmfactory.BuiltFamily]] = ()) -> Engine:  # type: ignore[assignment]
    """The seed tree under root, cycled once so every repodata is published."""
    config = treekit.sme_config()
    layout = Layout(config, root)
    for repo, family in [*built, *extra]:
        treekit.place(layout, "9", repo, family)
    engine = Engine(config, root)
    assert engine.update_repos(["9"]).ok
    return engine

"""The crash suites' shared seeded trees, built once per session (their figures are
printed by tests/conftest.py, which the xdist controller loads too)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kits import crash as kit
from tests.kits import treekit
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout


@pytest.fixture(scope="session")
def cycle_tree(clamav_old: BuiltFamily, clamav_new: BuiltFamily, rpm_store: Path) -> Path:
    """Seed 000's clamav tree, settled, then files copied in by hand for a cycle to place:
    clamav 0.97.6-1's i386 package into smeupdates-testing (`cp`), e-smith-lib into
    smeupdates' top dir."""
    extra = treekit.build(treekit.noarch("e-smith-lib", "2.0.0", "3"), rpm_store, ("x86_64",))
    root = kit.scratch("cycle") / "tree"
    layout = Layout(treekit.sme_config(), root)
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    treekit.place(layout, "9", "smetest", extra)
    assert Engine(layout.config, root).update_repos().ok
    shutil.copy(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm",
                root / "9/smeupdates-testing/")
    shutil.copy(root / "9/smetest/x86_64/RPMS/e-smith-lib-2.0.0-3.el6.sme.noarch.rpm",
                root / "9/smeupdates/")
    return root


@pytest.fixture(scope="session")
def settled_tree(clamav_old: BuiltFamily,
                 clamav_new: BuiltFamily) -> Path:
    """0.97.6-1 in smetest, 0.97.5-2 in smeupdates-testing, settled (conftest's engine)."""
    root = kit.scratch("settled") / "tree"
    layout = Layout(treekit.sme_config(), root)
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    assert Engine(layout.config, root).update_repos().ok
    return root

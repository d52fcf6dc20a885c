"""What an apply placed is not read again: the scan after it adopts the sources' header
rows (issue 20: the stage's hard links were read a second time). Only when the placed
file is still as placed; a file rewritten since is read again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine import header_reader, hold, package
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.package import read_facts


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def counting(path: Path):
        seen.append(str(path))
        return read_facts(path)

    monkeypatch.setattr(header_reader, "read_facts", counting)
    return seen


def test_a_first_cycle_reads_each_header_once(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily, reads: list[str]
) -> None:
    layout = Layout(treekit.sme_config(), tmp_path / "tree")
    placed = treekit.place(layout, "9", "smetest", clamav_new)
    placed += treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    engine = Engine(layout.config, layout.root)

    result = engine.update_repos()

    stage = [a for a in result.applied if a.to_repo == "stage"]
    assert result.ok and stage  # the stage got its hard links
    assert sorted(reads) == sorted(str(p) for p in placed)  # none of them read twice
    reads.clear()
    again = engine.update_repos()
    assert again.nothing_to_do and not reads
    # The adopted rows are the sources' facts: a full plan from scratch agrees.
    assert engine.pure_plan(full=True, replan=True).plan.empty


def test_a_placed_file_changed_since_is_read_again(engine: Engine, reads: list[str]) -> None:
    root = engine.layout.root
    shutil.copy(
        root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm", root / "9/smeupdates-testing/"
    )
    assert engine.update_repos().ok
    reads.clear()
    placed = root / "9/smeupdates-testing/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm"
    status = placed.stat()
    os.utime(placed, ns=(status.st_atime_ns, status.st_mtime_ns))  # only the ctime moves

    engine.update_repos()

    assert str(placed) in reads


def test_a_gated_repo_seen_first_binds_the_headers_the_scan_read(
    tmp_path: Path, clamav_old: BuiltFamily, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first cycle admits what a gated repo holds, each file bound to its header
    digest: the digests the scan just verified, not each header read once more (4,000
    files in the bench's first cycle). A file the scan could not read is read."""
    layout = Layout(treekit.sme_config(), tmp_path / "tree")
    placed = treekit.place(layout, "9", "smeupdates", clamav_old)
    broken = layout.binary_dir("9", "smeupdates", "i386") / "broken-1-1.i386.rpm"
    broken.write_bytes(b"no package")
    header_reads: list[str] = []

    def counting(path: Path) -> str:
        header_reads.append(str(path))
        return package.header_digest(path)

    monkeypatch.setattr(hold, "header_digest", counting)
    engine = Engine(layout.config, layout.root)
    engine.update_repos()

    admitted = hold.Admitted.load(layout, ["9"], save=False).paths["9"]["smeupdates"]
    assert header_reads == [str(broken)]
    assert admitted == {layout.relative(path): read_facts(path).digest for path in placed} | {
        layout.relative(broken): "!unreadable"}
    broken.unlink()  # the tree left healthy
    assert engine.update_repos().ok


def test_a_file_rewritten_after_the_scan_is_bound_to_the_bytes_there(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan's digest is taken only for a file still as the walk saw it: one a
    packager rewrote between the scan and the first sight is read (found by a review)."""
    layout = Layout(treekit.sme_config(), tmp_path / "tree")
    placed = treekit.place(layout, "9", "smeupdates", clamav_old)
    victim = sorted(placed)[0]
    scanned = read_facts(victim).digest
    other = next(path for path in clamav_new.files() if path.name.endswith(".i386.rpm"))
    load = hold.Admitted.load.__func__  # type: ignore[attr-defined]
    bound: list[dict[str, str]] = []
    there: list[str] = []

    def racing(cls, layout, releases, save=True, scanned=None):  # type: ignore[no-untyped-def]
        if not bound:
            shutil.copy(other, victim)  # other bytes under the name, after the scan
            there.append(package.header_digest(victim))
        admitted = load(cls, layout, releases, save, scanned)
        bound.append(dict(admitted.paths["9"]["smeupdates"]))
        return admitted

    monkeypatch.setattr(hold.Admitted, "load", classmethod(racing))
    engine = Engine(layout.config, layout.root)
    engine.update_repos()
    monkeypatch.undo()

    assert bound[0][layout.relative(victim)] == there[0] != scanned
    victim.unlink(missing_ok=True)  # the tree left healthy
    for leftover in layout.root.glob("9/smeupdates/**/*.rpm"):
        leftover.unlink()
    engine.update_repos()

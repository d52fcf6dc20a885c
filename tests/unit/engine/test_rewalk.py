"""The scan that settles a release after an apply reads again only the dirs the apply
changed (issue 20: it walked the whole release a second time, beside createrepo_c).
Its walk must be the very walk a full one gives, or give up and let a full walk run;
a change it cannot see (a packager's `cp` during the apply) costs the next cycle a
plan, never a skipped one."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.kits import treekit
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine import rewalk as rewalk_module
from updraft.engine import tree
from updraft.engine.action import Action, Plan
from updraft.engine.engine import Engine
from updraft.engine.layout import Layout
from updraft.engine.package import read_facts
from updraft.engine.rewalk import Changed, changed, rewalk
from updraft.engine.walk import Walk, fingerprint, fingerprints, walk_release

CLAMAV_I386 = "clamav-0.97.6-1.el4.rf.i386.rpm"


def _moved(src: str, dst: str) -> Action:
    return Action(verb="move", release="9", family="clamav", family_evr="0.97.6-1",
                  package="clamav", filename=os.path.basename(dst), archdir="i386",
                  src=src, dst=dst, from_repo="smetest", to_repo="smeupdates-testing",
                  phase=1, remove_src=True)


def _columns(walk: Walk) -> tuple:
    return (walk.paths, list(walk.sizes), list(walk.mtimes), list(walk.ctimes),
            list(walk.inodes), walk.runs, walk.dirs, walk.tops, walk.kept)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The releases walked in full, in order."""
    walked: list[str] = []

    def counting(layout: Layout, release: str) -> tuple[Walk, list[str]]:
        walked.append(release)
        return walk_release(layout, release)

    monkeypatch.setattr(tree, "walk_release", counting)
    return walked


def test_a_promotion_settles_on_the_walk_a_full_one_gives(
    engine: Engine, walks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # This small tree is all one family: every dir changes (a real tree rewalks a few).
    monkeypatch.setattr(rewalk_module, "MOST", 1.0)
    root = engine.layout.root
    shutil.copy(root / "9/smetest/i386/RPMS" / CLAMAV_I386, root / "9/smeupdates-testing/")

    result = engine.update_repos()

    assert result.ok and any(a.to_repo == "stage" for a in result.applied)
    assert walks == ["9", "10"]  # the plan's walk; the settling scan walked nothing whole
    assert engine.settled()["9"] == fingerprints(engine.layout, ["9"])["9"]
    walks.clear()
    assert engine.update_repos().nothing_to_do
    assert walks == ["9", "10"] and engine.pure_plan(full=True, replan=True).plan.empty


def test_a_rewalk_is_the_full_walk_after_links_and_unlinks(engine: Engine) -> None:
    """A move (link, then unlink) whose inode has a name elsewhere, and a delete."""
    layout, root = engine.layout, engine.layout.root
    src = "9/smetest/i386/RPMS/" + CLAMAV_I386
    dst = "9/smeupdates-testing/i386/RPMS/" + CLAMAV_I386
    os.link(root / src, root / "9/smeupdates/i386/RPMS" / CLAMAV_I386)  # another name
    gone = next((root / "9/smetest/x86_64/RPMS").glob("clamav-*.rpm"))
    before, _ = walk_release(layout, "9")
    os.link(root / src, root / dst)
    os.unlink(root / src)
    gone.unlink()
    deleted = _moved(str(gone.relative_to(root)), "")
    change = changed(before, str(root), [_moved(src, dst), deleted])
    again = rewalk(layout, "9", before, change)
    now, _ = walk_release(layout, "9")

    other = str(root / "9/smeupdates/i386/RPMS" / CLAMAV_I386)  # named by no action
    assert other in {before.paths[number] for number in change.relinked}
    assert str(root / "9/smeupdates/i386/RPMS") not in change.dirs  # not read again
    assert again is not None
    assert _columns(again) == _columns(now)
    assert fingerprint(layout, again) == fingerprint(layout, now)


def _linked_elsewhere(engine: Engine) -> tuple[Walk, Changed, Path]:
    """A file with another name in an untouched dir, walked, then linked by a move:
    the walk before, what the move changed, and that other name."""
    root = engine.layout.root
    src = root / "9/smetest/i386/RPMS" / CLAMAV_I386
    other = root / "9/smeupdates/i386/RPMS" / CLAMAV_I386
    os.link(src, other)
    before, _ = walk_release(engine.layout, "9")
    dst = "9/smeupdates-testing/i386/RPMS/" + CLAMAV_I386
    os.link(src, root / dst)
    return before, changed(before, str(root), [_moved(str(src.relative_to(root)), dst)]), other


def test_a_rewalk_leaves_a_changed_inode_elsewhere_to_the_next_walk(engine: Engine) -> None:
    """The other names of an inode, found by the walk's inode column: without them the
    settled walk would keep their old ctime (here: a name only that column can tell)."""
    before, change, other = _linked_elsewhere(engine)

    assert str(other) in [before.paths[number] for number in change.relinked]
    assert str(other.parent) not in change.dirs
    assert _columns(rewalk(engine.layout, "9", before, change)) == _columns(
        walk_release(engine.layout, "9")[0])


def test_a_relinked_name_gone_meanwhile_asks_for_a_full_walk(engine: Engine) -> None:
    """A name stat'ed again that vanished (or became something else) during the apply:
    its dir changed in a way only reading it can tell."""
    before, change, other = _linked_elsewhere(engine)
    assert rewalk(engine.layout, "9", before, change) is not None
    other.unlink()
    assert rewalk(engine.layout, "9", before, change) is None
    other.mkdir()
    assert rewalk(engine.layout, "9", before, change) is None


def test_a_rewalk_gives_up_where_only_a_full_walk_can_tell(engine: Engine) -> None:
    layout, root = engine.layout, engine.layout.root
    before, _ = walk_release(layout, "9")
    testing = root / "9/smeupdates-testing"
    (testing / "i386/RPMS/extra").mkdir()  # a new subdir in a changed dir
    assert rewalk(layout, "9", before, Changed({str(testing / "i386/RPMS")})) is None
    new_dir = testing / "i386/RPMS/extra"  # a changed dir the old walk never saw
    assert rewalk(layout, "9", before, Changed({str(new_dir)})) is None
    (root / "9/smetest/evil.rpm").symlink_to("/etc/passwd")
    refusing, _ = walk_release(layout, "9")
    assert refusing.refused
    assert rewalk(layout, "9", refusing, Changed(set())) is None
    shutil.rmtree(testing / "i386/RPMS/extra")
    assert rewalk(layout, "9", before, Changed({str(testing / "SRPMS")})) is not None
    # A changed dir made a link meanwhile: never read through (found by a review).
    (testing / "SRPMS").rename(testing / "elsewhere")
    (testing / "SRPMS").symlink_to(testing / "elsewhere")
    assert rewalk(layout, "9", before, Changed({str(testing / "SRPMS")})) is None


def _promote_while(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                   meanwhile: Callable[[Plan], None]) -> None:
    """Promote clamav's i386 package by a `cp`; `meanwhile(plan)` runs right after the
    apply, before the settling scan (a packager at work)."""
    root = engine.layout.root
    runner = engine._runner
    execute = runner.execute

    def applying(plan: Plan, *args: object, **kwargs: object) -> object:
        result = execute(plan, *args, **kwargs)
        meanwhile(plan)
        return result

    monkeypatch.setattr(runner, "execute", applying)
    monkeypatch.setattr(rewalk_module, "MOST", 1.0)  # a tree of one family: see above
    shutil.copy(root / "9/smetest/i386/RPMS" / CLAMAV_I386, root / "9/smeupdates-testing/")
    assert engine.update_repos().ok
    monkeypatch.undo()


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose headers the scans read from now on."""
    read: list[str] = []
    monkeypatch.setattr(tree, "read_all", lambda paths: [
        read.append(str(path)) or read_facts(path) for path in paths])
    return read


def test_a_cp_during_the_apply_is_planned_by_the_next_cycle(
    engine: Engine, clamav_new: BuiltFamily, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dir the apply did not change keeps its walk from before the apply: a file a
    packager copied there meanwhile is missing from the settled fingerprint, so the next
    walk differs from it, and the next cycle reads and plans the file."""
    source = next(path for path in clamav_new.files() if path.name.endswith(".src.rpm"))
    foreign = engine.layout.source_dir("9", "smeupdates") / source.name
    assert foreign.parent.is_dir()  # walked before the apply
    _promote_while(engine, monkeypatch, lambda plan: shutil.copy(source, foreign))
    assert foreign.exists()
    assert engine.settled().get("9") != fingerprints(engine.layout, ["9"])["9"]

    read = _reads(monkeypatch)
    engine.update_repos()

    assert str(foreign) in read
    assert engine.settled().get("9") == fingerprints(engine.layout, ["9"])["9"]
    assert engine.pure_plan(full=True, replan=True).plan.empty


def test_a_release_whose_dirs_nearly_all_changed_is_walked_whole(engine: Engine) -> None:
    """Reading again nine dirs in ten and copying the tenth costs more than a walk."""
    layout = engine.layout
    before, _ = walk_release(layout, "9")
    assert rewalk(layout, "9", before, Changed(set(before.dirs))) is None
    assert rewalk(layout, "9", before, Changed(set(before.dirs[:1]))) is not None


@pytest.mark.parametrize("change", ["rewritten in place", "copied in"])
def test_a_change_in_a_changed_dir_during_the_apply_is_never_skipped(
    engine: Engine, rpm_store: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A dir the apply named is listed again, but a name it did not touch keeps its stat
    from before the apply: a file rewritten in place there meanwhile is missing from the
    settled fingerprint (the next cycle reads it); a new name is stat'ed and planned."""
    root = engine.layout.root
    bystander = treekit.build(treekit.noarch("bystander", "1.0", "1"), rpm_store)
    treekit.place(engine.layout, "9", "smeupdates-testing", bystander)
    assert engine.update_repos().ok
    victims: list[Path] = []

    def with_a_change(plan: Plan) -> None:
        named = {root / path for action in plan.actions
                 for path in (action.src, action.dst) if path}
        untouched = sorted(path for directory in {path.parent for path in named}
                           for path in directory.glob("*.rpm") if path not in named)
        assert untouched, "the promotion left no name untouched in a dir it changed"
        victim = untouched[0]
        if change == "rewritten in place":
            victim.write_bytes(victim.read_bytes())  # same bytes, a new mtime and ctime
        else:
            victim = victim.with_name("x" + victim.name)
            shutil.copy(untouched[0], victim)
        victims.append(victim)

    _promote_while(engine, monkeypatch, with_a_change)
    walked = fingerprints(engine.layout, ["9"])["9"]
    if change == "rewritten in place":
        assert engine.settled().get("9") != walked
        read = _reads(monkeypatch)
        engine.update_repos()
        assert str(victims[0]) in read
    engine.update_repos()
    assert engine.settled().get("9") == fingerprints(engine.layout, ["9"])["9"]
    assert engine.pure_plan(full=True, replan=True).plan.empty


@pytest.mark.parametrize("odd", ["symlink", "dir named .rpm", "fifo"])
def test_a_kept_name_made_odd_during_the_apply_asks_for_a_full_walk(
        engine: Engine, odd: str) -> None:
    """A name in a changed dir the apply did not touch keeps its stat only while it is
    still a regular file (its d_type says): made a link, FIFO or dir meanwhile, the full
    walk refuses it, and so does the rewalk (found by a review)."""
    layout, root = engine.layout, engine.layout.root
    rpms = root / "9/smetest/i386/RPMS"
    src = rpms / CLAMAV_I386
    bystander = next(path for path in sorted(rpms.glob("*.rpm")) if path != src)
    dst = "9/smeupdates-testing/i386/RPMS/" + CLAMAV_I386
    before, _ = walk_release(layout, "9")
    os.link(src, root / dst)
    bystander.unlink()
    if odd == "symlink":
        bystander.symlink_to("/etc/passwd")
    elif odd == "fifo":
        os.mkfifo(bystander)
    else:
        bystander.mkdir()

    assert walk_release(layout, "9")[0].refused
    change = changed(before, str(root), [_moved(str(src.relative_to(root)), dst)])
    assert rewalk(layout, "9", before, change) is None
    shutil.rmtree(bystander) if bystander.is_dir() and not bystander.is_symlink() else (
        bystander.unlink())


def test_a_relinked_name_is_never_stat_ed_through_a_dir_made_a_link(engine: Engine) -> None:
    before, change, other = _linked_elsewhere(engine)
    real = other.parent.with_name("RPMS.real")
    other.parent.rename(real)
    other.parent.symlink_to(real)

    assert walk_release(engine.layout, "9")[0].refused
    assert rewalk(engine.layout, "9", before, change) is None
    other.parent.unlink()
    real.rename(other.parent)

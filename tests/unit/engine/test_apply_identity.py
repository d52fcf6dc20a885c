"""What the journal says of each source, and what an apply checks before placing it.

The engine's own files are journaled by inode (the scan verified their bytes; a hard
link to that very inode, unchanged, is those bytes): no sha256 is taken up front. A file
of another user is hashed and copied; a copy made after all (another filesystem) hashes
the source then, and only while it is still the inode journaled. A source changed after
the journal is never placed: its family is left as it was.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from updraft.engine import apply as apply_module
from updraft.engine import runner as runner_module
from updraft.engine.apply import BY_INODE
from updraft.engine.engine import Engine
from updraft.engine.journal import Journal
from updraft.engine.package import BadPackage, read_facts

DROP = "clamav-0.97.6-1.el4.rf.i386.rpm"
NOBODY = 65534


def _drop(engine: Engine) -> Path:
    root = engine.layout.root
    dropped = root / "9/smeupdates-testing" / DROP
    shutil.copy(root / "9/smetest/i386/RPMS" / DROP, dropped)
    return dropped


def _journals(monkeypatch: pytest.MonkeyPatch,
              before: Callable[[Journal], None] | None = None) -> list[Journal]:
    """The journals applied, as the apply reads them; `before(journal)` runs first."""
    seen: list[Journal] = []
    real = runner_module.apply_journal

    def applying(journal: Journal, *args: object) -> object:
        seen.append(journal)
        if before:
            before(journal)
        return real(journal, *args)

    monkeypatch.setattr(runner_module, "apply_journal", applying)
    return seen


class _OtherFilesystem:
    """The os module as the apply sees it when every target is on another filesystem
    (only the apply's: createrepo_c's swap links its files as usual)."""

    def __init__(self, seen: list[str] | None = None) -> None:
        self.seen = seen if seen is not None else []

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def link(self, source: object, target: object) -> None:
        self.seen.append(str(target))
        raise OSError(errno.EXDEV, "Invalid cross-device link")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_our_files_are_journaled_by_inode_and_a_packagers_by_sha256(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    dropped = _drop(engine)
    os.chown(dropped, NOBODY, NOBODY)  # a packager's `cp`
    expected, size = _sha256(dropped), dropped.stat().st_size
    journals = _journals(monkeypatch)

    result = engine.update_repos()

    assert result.ok, result.failures
    digests = journals[0].digests
    assert digests["9/smeupdates-testing/" + DROP] == (size, expected)
    ours = {src: value for src, value in digests.items() if "smeupdates-testing/" not in src}
    assert ours and all(value and value[1] == BY_INODE for value in ours.values())
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP
    assert _sha256(placed) == expected
    assert placed.stat().st_uid == os.geteuid()  # a copy of ours, not their inode


def test_a_copy_after_all_hashes_the_journaled_inode_then(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another filesystem: every placement is a copy, checked against the source's
    sha256 taken at that moment (the source still the inode journaled)."""
    expected = _sha256(_drop(engine))
    linked: list[str] = []
    monkeypatch.setattr(apply_module, "os", _OtherFilesystem(linked))

    result = engine.update_repos()

    assert result.ok, result.failures
    root = engine.layout.root
    placed = root / "9/smeupdates-testing/i386/RPMS" / DROP
    assert placed.is_file() and placed.stat().st_nlink == 1
    assert _sha256(placed) == expected
    assert any(DROP in target for target in linked)  # tried, then copied


@pytest.mark.parametrize("filesystem, reason", [
    ("same", "copy has the wrong size"), ("other", "copy has the wrong size")])
def test_a_source_changed_after_the_journal_is_not_placed(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, filesystem: str, reason: str) -> None:
    dropped = _drop(engine)
    original = dropped.read_bytes()

    def rewritten(journal: Journal) -> None:
        assert journal.digests["9/smeupdates-testing/" + DROP][1] == BY_INODE
        with open(dropped, "ab") as stream:  # the same inode, other bytes
            stream.write(b"tampered")

    _journals(monkeypatch, rewritten)
    if filesystem == "other":
        monkeypatch.setattr(apply_module, "os", _OtherFilesystem())

    result = engine.update_repos()

    assert not result.ok
    assert any(DROP in failure and reason in failure and "family left as it was" in failure
               for failure in result.failures), result.failures
    assert dropped.read_bytes() == original + b"tampered"  # nothing lost
    arch_dir = engine.layout.root / "9/smeupdates-testing/i386/RPMS"
    assert not (arch_dir / DROP).exists()
    assert not list(arch_dir.glob(".*.updraft-tmp"))
    dropped.unlink()  # the tampered file taken away by hand: the tree settles again
    monkeypatch.undo()
    assert engine.update_repos().ok


def test_a_file_changed_since_the_scan_read_it_is_hashed_not_trusted_by_inode(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the very stat the scan verified a file at is taken as its bytes."""
    dropped = _drop(engine)
    real = runner_module.source_digests

    def after_the_scan(*args: object, **kwargs: object) -> object:
        with open(dropped, "ab") as stream:  # ours, same inode, other bytes
            stream.write(b"x")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "source_digests", after_the_scan)
    journals = _journals(monkeypatch)

    engine.update_repos()

    value = journals[0].digests["9/smeupdates-testing/" + DROP]
    assert value is not None and value[1] != BY_INODE and len(value[1]) == 64
    others = [v for src, v in journals[0].digests.items() if "smeupdates-testing/" not in src]
    assert others and all(v and v[1] == BY_INODE for v in others)
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP
    if placed.exists():  # a copy of what was journaled, or nothing: never unverified
        assert _sha256(placed) == value[1]
    for stray in (placed, dropped):
        stray.unlink(missing_ok=True)
    monkeypatch.undo()
    assert engine.update_repos().ok


class _Killed(BaseException):
    """The process dying right after its journal was written."""


def _tamper_keeping_mtime(path: Path) -> None:
    """Same inode, same size, other payload bytes, the mtime put back (`rsync --inplace
    -t`, or a rewrite and `touch -d`): only the ctime tells."""
    before = os.stat(path)
    with open(path, "r+b") as stream:
        stream.seek(-64, os.SEEK_END)
        chunk = stream.read(16)
        stream.seek(-64, os.SEEK_END)
        stream.write(bytes(byte ^ 0xFF for byte in chunk))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(BadPackage):
        read_facts(path)  # what the scan would refuse


def _settle_without(engine: Engine, *strays: Path) -> None:
    for stray in strays:
        stray.unlink(missing_ok=True)
    assert engine.update_repos().ok


def test_a_copy_of_bytes_changed_after_the_journal_is_refused(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another filesystem: the copy must read and verify as the build the plan saw;
    bytes rewritten after the journal, the mtime put back, are not placed."""
    dropped = _drop(engine)
    _journals(monkeypatch, lambda journal: _tamper_keeping_mtime(dropped))
    monkeypatch.setattr(apply_module, "os", _OtherFilesystem())

    result = engine.update_repos()

    assert any(DROP in failure and "not the build the plan verified" in failure
               for failure in result.failures), result.failures
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP
    assert not placed.exists() and dropped.exists()  # refused, nothing lost
    monkeypatch.undo()
    _settle_without(engine, dropped)


def test_a_resumed_run_checks_what_it_links_against_the_planned_build(
        engine: Engine, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A run that dies after its journal; the source rewritten before the next run
    (the mtime put back): the resume, which has no stamps, reads what it placed."""
    dropped = _drop(engine)
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP

    def dying(journal: Journal) -> None:
        journal.close()
        raise _Killed

    _journals(monkeypatch, dying)
    with pytest.raises(_Killed):
        engine.update_repos()
    monkeypatch.undo()
    _tamper_keeping_mtime(dropped)

    resumed = Engine(engine.config, engine.layout.root).update_repos()

    assert resumed.resumed
    refused = [r.getMessage() for r in caplog.records if "not applied" in r.getMessage()]
    assert any(DROP in line and "not the build the plan verified" in line
               for line in refused), refused
    assert not placed.exists() and dropped.exists()
    _settle_without(engine, dropped)


def test_a_resumed_copy_in_place_needs_no_source_to_be_the_planned_build(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed right after a copy was renamed into place, before its step was noted; the
    source then removed by hand: the resume finds the copy is the build and goes on."""
    dropped = _drop(engine)
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP
    checkpoint = apply_module.checkpoint

    def dying(where: str = "") -> None:
        if where == "apply: file placed" and placed.exists():
            raise _Killed
        checkpoint(where)

    monkeypatch.setattr(apply_module, "checkpoint", dying)
    monkeypatch.setattr(apply_module, "os", _OtherFilesystem())
    with pytest.raises(_Killed):
        engine.update_repos()
    monkeypatch.undo()
    dropped.unlink()

    resumed = Engine(engine.config, engine.layout.root).update_repos()

    assert resumed.ok and resumed.resumed, resumed.failures
    assert read_facts(placed).name == "clamav"


def test_bytes_rewritten_after_the_journal_with_the_mtime_put_back_are_not_linked(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same filesystem, same run: the source's ctime moved since its stamp (not by this
    apply's own links), so its link is checked as the planned build and refused."""
    dropped = _drop(engine)
    _journals(monkeypatch, lambda journal: _tamper_keeping_mtime(dropped))

    result = engine.update_repos()

    assert any(DROP in failure and "not the build the plan verified" in failure
               for failure in result.failures), result.failures
    placed = engine.layout.root / "9/smeupdates-testing/i386/RPMS" / DROP
    assert not placed.exists() and dropped.exists()
    monkeypatch.undo()
    _settle_without(engine, dropped)


def test_a_hold_across_filesystems_is_placed(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hold is added to a plan without a build: its source is hashed, never journaled
    by inode, so its copy (the state dir on another filesystem) is checked by sha256."""
    root = engine.layout.root
    arrived = root / "9/smeupdates/i386/RPMS" / DROP
    shutil.copy(root / "9/smetest/i386/RPMS" / DROP, arrived)  # no Go: held
    journals = _journals(monkeypatch)
    monkeypatch.setattr(apply_module, "os", _OtherFilesystem())

    result = engine.update_repos()

    assert result.ok, result.failures
    hold = next(action for action in journals[0].plan.actions if action.verb == "hold")
    assert len(journals[0].digests[hold.src][1]) == 64  # a sha256, not BY_INODE
    assert not arrived.exists()
    monkeypatch.undo()
    assert engine.update_repos().ok


@pytest.mark.parametrize("left", ["half a copy", "a dangling link"])
def test_a_temporary_file_a_dead_run_left_is_replaced(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, left: str) -> None:
    """The apply links each file to a temporary name first: what a killed run left
    there (never published, the engine's own) gives way, and nothing else is left."""
    _drop(engine)
    arch_dir = engine.layout.root / "9/smeupdates-testing/i386/RPMS"
    temporary = arch_dir / f".{DROP}.updraft-tmp"

    def leftover(journal: Journal) -> None:
        if left == "half a copy":
            temporary.write_bytes(b"half")
        else:
            temporary.symlink_to("/nonexistent")

    _journals(monkeypatch, leftover)
    result = engine.update_repos()

    assert result.ok and (arch_dir / DROP).is_file()
    assert read_facts(arch_dir / DROP).name == "clamav"
    assert not temporary.is_symlink() and not temporary.exists()


@pytest.mark.parametrize("left", ["a link out of the tree", "a dead run's hard link"])
def test_a_copy_never_writes_through_what_holds_the_temporary_name(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, left: str) -> None:
    """A packager's file is placed by copy: whatever holds the temporary name then (a
    link someone made there, or a dead run's hard link to a published package) is
    removed first, never written through (found by a review)."""
    dropped = _drop(engine)
    os.chown(dropped, NOBODY, NOBODY)
    root = engine.layout.root
    temporary = root / "9/smeupdates-testing/i386/RPMS" / f".{DROP}.updraft-tmp"
    if left == "a link out of the tree":
        victim = tmp_path / "outside-the-tree"
        victim.write_text("precious\n")
    else:  # a package the plan may move: its inode is followed by a name of our own
        package = next(path for path in sorted(root.glob("9/smetest/*/RPMS/*.rpm"))
                       if path.name != DROP)
        victim = tmp_path / "its-inode"
        os.link(package, victim)
    before = victim.read_bytes()

    def leftover(journal: Journal) -> None:
        if left == "a link out of the tree":
            temporary.symlink_to(victim)
        else:
            os.link(victim, temporary)

    _journals(monkeypatch, leftover)
    result = engine.update_repos()

    assert result.ok and victim.read_bytes() == before
    assert not temporary.is_symlink() and not temporary.exists()


def test_a_packagers_file_at_the_temporary_name_is_never_what_is_published(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    dropped = _drop(engine)
    os.chown(dropped, NOBODY, NOBODY)
    arch_dir = engine.layout.root / "9/smeupdates-testing/i386/RPMS"
    temporary = arch_dir / f".{DROP}.updraft-tmp"

    def planted(journal: Journal) -> None:
        temporary.write_bytes(b"mine")
        os.chown(temporary, NOBODY, NOBODY)
        os.chmod(temporary, 0o666)

    _journals(monkeypatch, planted)
    result = engine.update_repos()

    placed = arch_dir / DROP
    assert result.ok and placed.stat().st_uid == os.geteuid()
    assert placed.stat().st_mode & 0o022 == 0 and read_facts(placed).name == "clamav"

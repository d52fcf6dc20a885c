"""`updraft check` (issue 16 §3): each rule broken on a real tree is named, one line per
problem; the check changes nothing; --repair applies the engine's own plan only."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.kits import treekit
from tests.kits.checkkit import assert_healthy
from updraft.engine.action import Plan
from updraft.engine.check import check
from updraft.engine.engine import Engine
from updraft.engine.journal import Journal

NEW_I386 = "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm"


def _kinds(engine: Engine) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in check(engine).problems:
        found.setdefault(problem.kind, []).append(problem.text)
    return found


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root (state dir included) with its size and mtime; but the
    tree lock's file, which the check holds (no writer catches it midway)."""
    return {str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file() and path.name != "lock"}


def _cli(engine: Engine, *args: str):  # subprocess result
    return treekit.run_cli("--root", str(engine.layout.root), "check", *args)


def test_a_settled_tree_is_healthy(engine: Engine) -> None:
    health = assert_healthy(engine)

    assert health.files == 21  # two families in two repos (noarch-free), and the stage
    run = _cli(engine, "--format", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["healthy"] is True


def test_a_package_copied_straight_in_is_not_listed_and_repair_publishes_it(
    engine: Engine
) -> None:
    root = engine.layout.root
    shutil.copy(root / "9/smeupdates-testing/x86_64/RPMS/clamd-0.97.5-2.el4.rf.x86_64.rpm",
                root / "9/smetest/x86_64/RPMS/")
    shutil.copy(root / "9/smeupdates-testing/SRPMS/clamav-0.97.5-2.rf.src.rpm",
                root / "9/smetest/SRPMS/")

    run = _cli(engine)

    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert "repodata: 9/smetest/x86_64: RPMS/clamd-0.97.5-2.el4.rf.x86_64.rpm is not listed" \
        in lines
    assert any(line.startswith("tiers: clamav-0.97.5-2.rf (9) is in smeupdates-testing and "
                               "still in smetest") for line in lines), lines
    assert any(line.startswith("not converged: delete from smetest") for line in lines)

    repaired = _cli(engine, "--repair")

    assert repaired.returncode == 0, repaired.stdout
    assert "healthy:" in repaired.stdout
    assert "RPMS/clamd-0.97.5-2.el4.rf.x86_64.rpm" not in treekit.repo_hrefs(
        root / "9/smetest/x86_64")
    assert not (root / "9/smetest/SRPMS/clamav-0.97.5-2.rf.src.rpm").exists()


def test_the_check_writes_nothing(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / NEW_I386, root / "9/smeupdates-testing/")
    (root / "9/smetest/x86_64/RPMS/junk.rpm").write_bytes(b"not an rpm")
    before = _snapshot(root)

    health = check(engine)

    assert not health.healthy
    assert _snapshot(root) == before


def test_a_family_without_its_srpm(engine: Engine) -> None:
    root = engine.layout.root
    (root / "9/smetest/SRPMS/clamav-0.97.6-1.rf.src.rpm").unlink()

    problems = _kinds(engine)

    assert problems["family"] == [
        "clamav-0.97.6-1.el4.rf (9, smetest): its binaries name "
        "clamav-0.97.6-1.el4.rf.src.rpm, in no repo of the release"]


def test_stray_unplaced_unreadable_and_leftover_files(engine: Engine) -> None:
    root = engine.layout.root
    engine = Engine(engine.config.model_copy(update={"arrival_grace": 0}), root)
    shutil.copy(root / NEW_I386, root / "9/smetest/")  # flat: outside the layout
    shutil.copy(root / "9/smetest/x86_64/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm",
                root / "9/smetest/i386/RPMS/")  # an x86_64 package in the i386 dir
    (root / "9/smetest/i386/RPMS/junk.rpm").write_bytes(b"not an rpm")
    (root / "9/smetest/i386/RPMS/.clamd.rpm.updraft-tmp").write_bytes(b"half")

    problems = _kinds(engine)

    assert problems["stray"] == [
        "9/smetest/clamav-0.97.6-1.el4.rf.i386.rpm: outside smetest's layout"]
    assert problems["unplaced"] == [
        "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.x86_64.rpm: "
        "clamd-0.97.6-1.el4.rf.x86_64 belongs in x86_64 as clamd-0.97.6-1.el4.rf.x86_64.rpm"]
    [unreadable] = problems["unreadable"]
    assert unreadable.startswith("9/smetest/i386/RPMS/junk.rpm: not a valid RPM header")
    assert problems["leftover"] == [
        "9/smetest/i386/RPMS/.clamd.rpm.updraft-tmp: a temporary file of an interrupted run"]


@pytest.mark.unhealthy_tree("the check's own test: a journal left unfinished for it")
def test_an_unfinished_journal_and_unpublished_repodata(engine: Engine) -> None:
    root = engine.layout.root
    shutil.copy(root / NEW_I386, root / "9/smeupdates-testing/")
    engine.apply()  # ... and the run dies before publishing
    Journal.create(engine.journal_dir, "0123456789abcdef", "test", Plan(), {})

    problems = _kinds(engine)

    assert problems["journal"] == ["plan 0123456789abcdef (test) was left unfinished by an "
                                   "interrupted run; the next cycle finishes it"]
    assert problems["repodata pending"] == [
        f"9/{repo}/{arch} changed since its repodata was published"
        for repo in ("smetest", "smeupdates-testing") for arch in ("i386", "x86_64")]
    assert "9/smeupdates-testing/i386: RPMS/clamav-0.97.6-1.el4.rf.i386.rpm is not listed" \
        in problems["repodata"]


def test_the_ledger_disagreeing_with_the_tree(engine: Engine) -> None:
    root = engine.layout.root
    copied = root / "stage/9/x86_64/Packages/clamd-0.97.5-2.el4.rf.x86_64.rpm"
    copied.unlink()  # the ledger recorded the plan copying it there

    problems = _kinds(engine)

    assert problems["ledger"] == ["clamd-0.97.5-2.el4.rf.x86_64.rpm: the ledger has it in "
                                  f"stage (x86_64, plan {_plan_of(engine)}), but it is not "
                                  "there"]
    assert [line for line in problems["not converged"] if "clamd" in line]


def _plan_of(engine: Engine) -> str:
    [done] = (engine.journal_dir / "done").glob("*.jsonl")
    return done.stem[:8]


def test_a_changed_file_differs_from_its_repodata(engine: Engine) -> None:
    path = engine.layout.root / "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))

    problems = _kinds(engine)

    [line] = problems["repodata"]
    assert line.startswith("9/smetest/i386: RPMS/clamd-0.97.6-1.el4.rf.i386.rpm is "
                           f"{stat.st_size} bytes from ")


@pytest.mark.parametrize("deep", [False, True])
def test_deep_and_shallow_agree_on_a_healthy_tree(engine: Engine, deep: bool) -> None:
    assert check(engine, deep=deep).healthy


def test_json_names_every_problem(engine: Engine) -> None:
    (engine.layout.root / "9/smetest/SRPMS/clamav-0.97.6-1.rf.src.rpm").unlink()

    run = _cli(engine, "--format", "json", "--release", "9")

    assert run.returncode == 1
    report = json.loads(run.stdout)
    assert report["healthy"] is False
    assert [(p["kind"], p["where"]) for p in report["problems"]] == [
        ("family", "9/smetest/clamav")]


@pytest.mark.unhealthy_tree("bytes changed behind the engine's back: what the check must find")
def test_deep_finds_bytes_changed_under_the_same_size_and_mtime(engine: Engine) -> None:
    path = engine.layout.root / "9/smetest/i386/RPMS/clamd-0.97.6-1.el4.rf.i386.rpm"
    stat = path.stat()
    with open(path, "r+b") as stream:  # a bit flipped in place, the mtime put back
        stream.seek(-1, os.SEEK_END)
        last = stream.read(1)
        stream.seek(-1, os.SEEK_END)
        stream.write(bytes([last[0] ^ 1]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    # Sizes and mtimes agree, the ctime does not: even the quick check reads it again.
    assert [p.kind for p in check(engine).problems] == ["arriving"]

    assert ("repodata: 9/smetest/i386: RPMS/clamd-0.97.6-1.el4.rf.i386.rpm does not "
            "match the checksum its repodata lists") in check(engine, deep=True).lines()


def test_repodata_rebuilt_by_hand_is_read_from_its_primary(engine: Engine,
                                                           rpm_store: Path) -> None:
    """The listing kept at publishing stands for primary.xml only while that file is
    the one it was read from: after a createrepo_c by hand the check reads it again."""
    import subprocess

    from updraft.devkit import rpmfactory

    spec = rpmfactory.FamilySpec(name="byhand", version="1.0", release="1",
                                 binary_dist=".el6.sme")
    family = treekit.build(spec, rpm_store, ("x86_64",))
    root = engine.layout.root
    for built in family.files():
        folder = "SRPMS" if built.name.endswith(".src.rpm") else "x86_64/RPMS"
        shutil.copy(built, root / "9/smetest" / folder)
    assert "9/smetest/x86_64: RPMS/byhand-1.0-1.el6.sme.x86_64.rpm is not listed" in \
        check(engine).lines()[0]

    subprocess.run(["createrepo_c", "--quiet", "--update", str(root / "9/smetest/x86_64")],
                   check=True)

    assert_healthy(engine)


def test_a_repo_that_wants_signatures_names_every_unsigned_package(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.kits.signing import make_key, sign_rpms

    key = make_key(tmp_path / "keys", "Release Key")
    root = engine.layout.root
    signed = root / "9/smeupdates-testing/i386/RPMS/clamav-0.97.5-2.el4.rf.i386.rpm"
    sign_rpms(key, [signed])
    repos = dict(engine.config.repos)
    repos["smeupdates-testing"] = repos["smeupdates-testing"].model_copy(
        update={"signed_by": (str(key.public),)})
    wanting = Engine(engine.config.model_copy(update={"repos": repos}), root)

    unsigned = [p for p in check(wanting).problems if p.kind == "unsigned"]

    testing = sorted(str(p.relative_to(root))
                     for p in (root / "9/smeupdates-testing").rglob("*.rpm"))
    assert sorted(p.where for p in unsigned) == [p for p in testing if p != str(
        signed.relative_to(root))]
    assert all("signed_by" in p.text for p in unsigned)
    assert not [p for p in check(engine).problems if p.kind == "unsigned"]  # nothing wanted

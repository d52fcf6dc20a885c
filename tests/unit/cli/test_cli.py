"""The `updraft` console script: update-repos, promote, status, history."""

from __future__ import annotations

from pathlib import Path

from tests.kits import treekit
from tests.kits.seed_mails import FIRST_MAIL
from updraft.devkit.rpmfactory import BuiltFamily
from updraft.engine.layout import Layout


def test_promote_status_history_on_the_command_line(
    tmp_path: Path, clamav_old: BuiltFamily, clamav_new: BuiltFamily
) -> None:
    root = tmp_path / "tree"
    layout = Layout(treekit.sme_config(), root)
    treekit.place(layout, "9", "smetest", clamav_new)
    treekit.place(layout, "9", "smeupdates-testing", clamav_old)
    settle = treekit.run_cli("--root", str(root), "update-repos")
    assert settle.returncode == 0, settle.stderr

    dry = treekit.run_cli("--root", str(root), "promote",
                          str(root / "9/smetest/i386/RPMS/clamav-0.97.6-1.el4.rf.i386.rpm"),
                          "--to", "smeupdates-testing", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.endswith("(dry run: nothing changed)\n")
    assert "move from smetest to smeupdates-testing (clamav-0.97.6-1.el4.rf.i386.rpm)" in dry.stdout

    moved = treekit.run_cli("--root", str(root), "promote", "clamav-0.97.6-1.el4.rf",
                            "--to", "smeupdates-testing", "--release", "9")
    assert moved.returncode == 0, moved.stderr
    # The promotion moves the i386 rpm itself instead of deleting a copied one.
    assert moved.stdout == FIRST_MAIL.replace(
        "copy from smeupdates-testing to stage (clamav-0.97.6-1.el4.rf.i386.rpm)\n"
        "delete from smetest (i386, clamav-0.97.6-1.el4.rf.i386.rpm)\n",
        "move from smetest to smeupdates-testing (clamav-0.97.6-1.el4.rf.i386.rpm)\n"
        "copy from smeupdates-testing to stage (clamav-0.97.6-1.el4.rf.i386.rpm)\n")

    again = treekit.run_cli("--root", str(root), "update-repos")
    assert (again.returncode, again.stdout) == (0, "nothing to do\n")

    status = treekit.run_cli("--root", str(root), "status", "--release", "9")
    assert "  smeupdates-testing\n    clamav-0.97.6-1.rf  (7 files)\n" in status.stdout
    assert "  stage\n    clamav-0.97.6-1.rf  (7 files)\n" in status.stdout

    history = treekit.run_cli("--root", str(root), "history", "clamav-db").stdout.splitlines()
    texts = [line.split("  ", 3)[3] for line in history]
    assert "move from smetest to smeupdates-testing (clamav-db-0.97.6-1.el4.rf.i386.rpm)  [cli]" \
        in texts
    assert "delete from smeupdates-testing (i386, clamav-db-0.97.5-2.el4.rf.i386.rpm)  [cli]" \
        in texts
    family = treekit.run_cli("--root", str(root), "history", "clamav").stdout
    assert "state signed/untested in smeupdates-testing  [cli]" in family
    none = treekit.run_cli("--root", str(root), "history", "nosuchthing")
    assert none.stdout == "no history for nosuchthing\n"

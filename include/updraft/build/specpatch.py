"""Seed 000's samba way: our spec edits kept as a unified diff of the spec, applied with
`patch` to each new upstream spec ("patch <samba.spec.patch ... if patch fails, you need
to update the patch").

It is applied to a copy, so a spec patch that does not apply leaves the upstream spec
untouched and stops the rebase before anything is built, with patch's .rej content.
No fuzz is allowed (a context line that changed means the patch must be updated); a
patch that applied at an offset is said, for the Build? gate.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from updraft.build.rebase_prep import PatchFailed
from updraft.errors import UpdraftError

_TIMEOUT = 120.0
_HUNK = re.compile(r"^Hunk #(\d+) (succeeded|FAILED) at (\d+)")
_OFFSET = re.compile(r"offset -?\d+ lines?")
_FUZZ = re.compile(r"fuzz \d+")


class SpecPatchFailed(PatchFailed):
    """Our spec patch no longer applies to the new upstream spec."""

    against = "spec"
    tool = "patch"


def apply_spec_patch(srpm: Path, spec: Path, patch: Path, shown_as: str, where: Path,
                     workdir: Path) -> tuple[str, ...]:
    """Apply `patch` (a diff of the spec) to `spec` in place; the notes for the Build?
    gate. `shown_as` names the patch as the config does (samba/samba.spec.patch)."""
    if shutil.which("patch") is None:
        raise UpdraftError("patch(1) not found on this worker: install patch (a spec patch "
                           f"{shown_as} needs it)")
    _one_file(srpm, patch, shown_as)
    trial = workdir / f"{spec.name}.patched"
    reject = workdir / f"{spec.name}.rej"
    shutil.copyfile(spec, trial)
    reject.unlink(missing_ok=True)
    # --force: never ask, never guess a reversed patch; the explicit file: the diff's own
    # names (samba.spec.original) do not matter, as with `patch <samba.spec.patch`.
    # --fuzz=0: a changed context line means "update the patch"; with fuzz, a hunk lacking
    # context lands anywhere (the seed's truncated Requires: hunk went to the spec's end).
    argv = ["patch", "--force", "--fuzz=0", "--no-backup-if-mismatch", "--reject-file",
            str(reject), "--input", str(patch), str(trial)]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              env={**os.environ, "LC_ALL": "C"}, timeout=_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpdraftError(f"{srpm.name}: patch {shown_as} did not run ({exc})") from exc
    hunks = [m for line in done.stdout.splitlines() if (m := _HUNK.match(line))]
    if done.returncode != 0:
        trial.unlink(missing_ok=True)
        rejected = reject.read_text(errors="replace") if reject.is_file() else ""
        failed = [m for m in hunks if m[2] == "FAILED"]
        reason = (f"{len(failed)} of {len(hunks)} hunks FAILED, first at line {failed[0][3]}"
                  if failed else _complaint(done.stdout))
        raise SpecPatchFailed(
            f"{srpm.name}: our spec patch {shown_as} no longer applies to the new upstream "
            f"{spec.name} ({reason}): update it in {where} against the new spec and build "
            "again; nothing was built", patch=shown_as, hunk=rejected or done.stdout,
            log=done.stdout)
    os.replace(trial, spec)
    inexact = [f"hunk {m[1]}: " + ", ".join(how) for m in hunks
               if (how := [f[0] for f in (_OFFSET.search(m.string), _FUZZ.search(m.string)) if f])]
    if inexact:
        return (f"spec patch {shown_as}: applied, but not exactly ({'; '.join(inexact)}): "
                f"refresh it in {where} against the new upstream spec",)
    return (f"spec patch {shown_as}: applied cleanly (update it in {where} when a new "
            "upstream spec stops it applying)",)


def _one_file(srpm: Path, patch: Path, shown_as: str) -> None:
    """A spec patch is a diff of the spec alone: patch is given the spec as its file, so
    a second file's hunks (or a git diff creating ../elsewhere) would land in the spec."""
    try:
        lines = patch.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise UpdraftError(f"{patch}: cannot read the spec patch ({exc.strerror})") from exc
    files = sum(1 for before, line in zip(lines, lines[1:], strict=False)
                if before.startswith("--- ") and line.startswith("+++ "))
    if files > 1:
        raise UpdraftError(f"{srpm.name}: spec patch {shown_as} patches {files} files: keep "
                           "only the spec's diff in it (source changes go in rebase.patches)")


def _complaint(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    trouble = [line for line in lines if line.startswith("patch: ") or "malformed" in line
               or "Only garbage" in line]
    return (trouble or lines or ["patch said nothing"])[-1][:200]

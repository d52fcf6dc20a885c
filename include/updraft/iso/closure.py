"""The stage's dependency closure, checked with libsolv: every requirement of every
package on the ISO is provided by a package on the ISO (else the install breaks)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import solv

from updraft.errors import UpdraftError


def unresolved(packages_dir: Path, arch: str) -> list[str]:
    """`name-evr.arch requires dep` for every requirement nothing on the ISO provides."""
    with tempfile.TemporaryDirectory(prefix="updraft-closure-") as tmp:
        # createrepo_c reads the headers once; libsolv reads its metadata (the wheel has
        # no rpm header reader).
        result = subprocess.run(
            # gzip: createrepo_c 1.x defaults to zstd, which the solv wheel cannot read.
            ["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames",
             "--general-compress-type", "gz",
             "--outputdir", tmp, str(packages_dir)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise UpdraftError(f"createrepo_c failed on {packages_dir}: "
                               f"{result.stderr.strip().splitlines()[-1:]}")
        pool = solv.Pool()
        pool.setarch(arch)
        repo = pool.add_repo("iso")
        repodata = Path(tmp) / "repodata"
        _add(repo, repodata / "primary.xml.gz", 0)
        _add(repo, repodata / "filelists.xml.gz", solv.Repo.REPO_EXTEND_SOLVABLES)
        repo.internalize()
        pool.addfileprovides()
        pool.createwhatprovides()
        missing = []
        for solvable in repo.solvables:
            for dep in solvable.lookup_deparray(solv.SOLVABLE_REQUIRES):
                text = str(dep)
                if text.startswith("rpmlib(") or pool.whatprovides(dep):
                    continue
                missing.append(f"{solvable} requires {text}")
        return sorted(missing)


def _add(repo: solv.Repo, path: Path, flags: int) -> None:
    handle = solv.xfopen(str(path))
    try:
        repo.add_rpmmd(handle, None, flags)
    finally:
        handle.close()

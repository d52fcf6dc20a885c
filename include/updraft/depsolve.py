"""Depsolve: libsolv pools loaded from repository metadata, shared by the release's
closure (what a release set would break) and the ISO's (is the stage installable).

Pools are loaded from the metadata yum itself reads (primary, and filelists where file
requirements count) rather than from headers: the solv wheel has no rpm header reader.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import createrepo_c as cr
import solv

from updraft.errors import UpdraftError

# Compressions the solv wheel's xfopen reads (it is built without zstd).
_SOLV_READS = {cr.NO_COMPRESSION, cr.GZ, cr.BZ2, cr.XZ}
# The package arch an arch dir's pool installs for (i386 dirs hold i686 packages).
_POOL_ARCH = {"i386": "i686"}


def new_pool(archdir: str) -> solv.Pool:
    """A pool installing for the packages an arch dir holds."""
    pool = solv.Pool()
    pool.setarch(_POOL_ARCH.get(archdir, archdir))
    return pool


def index(pool: solv.Pool) -> None:
    """Ready the pool for whatprovides (after every repo is loaded)."""
    pool.addfileprovides()
    pool.createwhatprovides()


def add_metadata(repo: solv.Repo, path: Path, flags: int = 0) -> None:
    """Load one rpm-md file (primary, filelists) into `repo`, whatever its compression."""
    with tempfile.TemporaryDirectory(prefix="updraft-solv-") as scratch:
        readable = path
        if cr.detect_compression(str(path)) not in _SOLV_READS:
            # createrepo_c 1.x writes zstd, which the solv wheel cannot open: hand it
            # the XML, decompressed by createrepo_c itself.
            readable = Path(scratch) / path.name.split(".xml")[0]
            cr.decompress_file(str(path), str(readable), cr.AUTO_DETECT_COMPRESSION)
        handle = solv.xfopen(str(readable))
        if handle is None:
            raise OSError(f"{path}: libsolv cannot open this metadata")
        try:
            if not repo.add_rpmmd(handle, None, flags):
                raise OSError(f"{path}: libsolv cannot read this metadata")
        finally:
            handle.close()


def metadata_of(repo_dir: Path, kind: str = "primary") -> Path | None:
    """The `kind` metadata a repo dir's repomd.xml names, or None without it."""
    repomd = repo_dir / "repodata" / "repomd.xml"
    if not repomd.is_file():
        return None
    for record in cr.Repomd(str(repomd)).records:
        if record.type == kind:
            return repo_dir / record.location_href
    return None


def load_repo(pool: solv.Pool, name: str, repo_dir: Path) -> solv.Repo | None:
    """The repo dir's packages as a pool repo named `name`; None when it has no repodata."""
    primary = metadata_of(repo_dir)
    if primary is None:
        return None
    repo = pool.add_repo(name)
    add_metadata(repo, primary)
    return repo


def unresolved(packages_dir: Path, arch: str) -> list[str]:
    """`name-evr.arch requires dep` for every requirement that nothing in `packages_dir`
    provides (the ISO's stage must install on its own)."""
    with tempfile.TemporaryDirectory(prefix="updraft-closure-") as tmp:
        # createrepo_c reads the headers once; libsolv reads its metadata.
        result = subprocess.run(
            # gzip: createrepo_c 1.x defaults to zstd, which libsolv would need unpacked.
            ["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames",
             "--general-compress-type", "gz", "--outputdir", tmp, str(packages_dir)],
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise UpdraftError(f"createrepo_c failed on {packages_dir}: "
                               f"{result.stderr.strip().splitlines()[-1:]}")
        pool = solv.Pool()
        pool.setarch(arch)
        repo = pool.add_repo("iso")
        for kind, flags in (("primary", 0), ("filelists", solv.Repo.REPO_EXTEND_SOLVABLES)):
            path = metadata_of(Path(tmp), kind)
            if path is None:
                raise UpdraftError(f"createrepo_c wrote no {kind} metadata for {packages_dir}")
            add_metadata(repo, path, flags)
        repo.internalize()
        index(pool)
        missing = []
        for solvable in repo.solvables:
            for dep in solvable.lookup_deparray(solv.SOLVABLE_REQUIRES):
                text = str(dep)
                if text.startswith("rpmlib(") or pool.whatprovides(dep):
                    continue
                missing.append(f"{solvable} requires {text}")
        return sorted(missing)

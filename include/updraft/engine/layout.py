"""Layout: where a release's repos live on disk, from the config's path templates."""

from __future__ import annotations

import os
from contextlib import suppress
from functools import cached_property
from pathlib import Path

from updraft.config.dist import DistConfig
from updraft.private import private_dir, tighten

SOURCE_DIR = "SRPMS"  # the arch-directory label the report uses for source packages


class Layout:
    """Maps (release, repo, arch dir) to paths under one tree root, and back."""

    def __init__(self, config: DistConfig, root: Path) -> None:
        self.config = config
        self.root = root

    @cached_property
    def state_dir(self) -> Path:
        chosen = self.config.state_dir
        if chosen is None:
            path = self.root / ".updraft"
        else:
            path = chosen if chosen.is_absolute() else self.root / chosen
        # Ledger, journals, quarantine: 0700, made here once the tree exists (writers
        # below also create it privately); an earlier, readable one is tightened.
        if path.parent.is_dir():
            with suppress(OSError):
                private_dir(path)
            tighten(path)
        return path

    @property
    def ledger_url(self) -> str:
        return self.config.ledger_url or f"sqlite:///{self.state_dir / 'ledger.sqlite'}"

    def binary_dir(self, release: str, repo: str, archdir: str) -> Path:
        template = self.config.paths_for(repo).binaries
        return self.root / template.format(release=release, repo=repo, arch=archdir)

    def source_dir(self, release: str, repo: str) -> Path:
        template = self.config.paths_for(repo).sources
        return self.root / template.format(release=release, repo=repo)

    def package_dir(self, release: str, repo: str, archdir: str) -> Path:
        if archdir == SOURCE_DIR:
            return self.source_dir(release, repo)
        return self.binary_dir(release, repo, archdir)

    def repodata_dir(self, release: str, repo: str, archdir: str) -> Path:
        """The directory createrepo_c runs on: the parent of RPMS/ (seed: smetest/i386)."""
        return self.binary_dir(release, repo, archdir).parent

    def repo_dir(self, release: str, repo: str) -> Path:
        """The directory every file of the repo lives under (a packager may `cp` here)."""
        dirs = [str(self.source_dir(release, repo))]
        dirs += [str(self.binary_dir(release, repo, a)) for a in self.archdirs(release)]
        return Path(os.path.commonpath(dirs))

    def archdirs(self, release: str) -> list[str]:
        return list(self.config.releases[release].arches)

    def archdirs_for(self, release: str, package_arch: str) -> list[str]:
        """Arch dirs that hold a binary of this arch (noarch lands in every one)."""
        arches = self.config.releases[release].arches
        return [archdir for archdir, accepted in arches.items() if package_arch in accepted]

    def archdir_rank(self, release: str) -> dict[str, int]:
        ranks = {archdir: index for index, archdir in enumerate(self.archdirs(release))}
        ranks[SOURCE_DIR] = len(ranks)
        return ranks

    def create_dirs(self, releases: list[str]) -> None:
        """Lay out every repo's directories, so a packager's `cp` has a place to land."""
        for release in releases:
            for repo in self.config.repos:
                self._make_dir(self.source_dir(release, repo))
                for archdir in self.archdirs(release):
                    self._make_dir(self.binary_dir(release, repo, archdir))

    def _make_dir(self, directory: Path) -> None:
        """mkdir -p that never follows a link (but the release dir's `10 -> 10.0`): the
        scan reports the link and quarantines it, nothing is made at its target."""
        current = self.root
        for number, part in enumerate(directory.relative_to(self.root).parts):
            current = current / part
            if current.is_symlink() and number > 0:
                return
            if not current.is_dir():
                current.mkdir(exist_ok=True)

    def quarantine_dir(self, release: str) -> Path:
        return self.state_dir / "quarantine" / release

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

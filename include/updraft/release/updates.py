"""Updates: what one release run put into smeupdates, described for advisories and mails.

Read back from the target repo after the promotion (never from the plan): the files
as they now lie there, their checksums, and the SRPM's Summary, Description and URL.
The type follows the bugs' keywords: security when any is a security bug,
enhancement when every bug is an enhancement, bugfix otherwise.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import rpm

from updraft.config.dist import DistConfig
from updraft.engine.layout import Layout
from updraft.engine.package import sha256_of
from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate
from updraft.release.changelog import Entry
from updraft.release.inventory import Held, holdings


@dataclass
class UpdatedFile:
    archdir: str  # "SRPMS" for the source package
    path: str
    filename: str
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    sha256: str
    src: str


@dataclass
class Update:
    name: str
    label: str  # version-release of the family, "0.97.6-1.rf"
    nvr: str  # without the dist suffix, "clamav-0.97.6-1" (seed 000's subject)
    version: str
    release: str  # the main package's release, "1.el4.rf" (seed 000's release note)
    summary: str
    description: str
    url: str
    kind: str  # "sme" (has bugs) or "upstream"
    type: str  # security, bugfix, enhancement
    severity: str
    bugs: list[BugFacts] = field(default_factory=list)  # the released version's
    changes: list[Entry] = field(default_factory=list)  # the released version's
    files: list[UpdatedFile] = field(default_factory=list)
    advisory: str = ""
    issued: str = ""  # ISO time the advisory was first issued
    # Upstream's CVEs and advisories (updraft.upstream.security.advise): {type, id, href, title}
    references: list[dict[str, str]] = field(default_factory=list)
    # The coupled families released with it in one advisory (updraft.release.coupling).
    members: list[str] = field(default_factory=list)
    part_of: str = ""  # the lead update's nvr when this one is released in its advisory

    @property
    def title(self) -> str:
        also = f" with {', '.join(self.members)}" if self.members else ""
        return f"{self.nvr} {self.type} update{also}"

    def to_json(self) -> dict[str, Any]:
        raw = {item.name: getattr(self, item.name) for item in fields(self)}
        raw.update(bugs=[bug.to_json() for bug in self.bugs],
                   changes=[change.to_json() for change in self.changes],
                   files=[asdict(found) for found in self.files],
                   references=[dict(ref) for ref in self.references], members=list(self.members))
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Update:
        return cls(**{**raw, "bugs": [BugFacts.from_json(bug) for bug in raw.get("bugs", [])],
                      "changes": [Entry.from_json(change) for change in raw.get("changes", [])],
                      "files": [UpdatedFile(**item) for item in raw.get("files", [])]})


_TS: rpm.TransactionSet | None = None


def _header(path: str) -> rpm.hdr:
    global _TS
    if _TS is None:
        _TS = rpm.TransactionSet()
        _TS.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
    fd = os.open(path, os.O_RDONLY)
    try:
        return _TS.hdrFromFdno(fd)
    finally:
        os.close(fd)


def _file(archdir: str, path: str) -> UpdatedFile:
    header = _header(path)
    arch = "src" if header.isSource() else header[rpm.RPMTAG_ARCH]
    epoch = header[rpm.RPMTAG_EPOCH]
    return UpdatedFile(archdir, path, os.path.basename(path), header[rpm.RPMTAG_NAME],
                       str(epoch or 0), header[rpm.RPMTAG_VERSION], header[rpm.RPMTAG_RELEASE],
                       arch, sha256_of(Path(path)), header[rpm.RPMTAG_SOURCERPM] or "")


def _type(bugs: list[BugFacts], security_keyword: str,
          enhancement_keywords: tuple[str, ...]) -> str:
    keywords = [{k.lower() for k in bug.keywords} for bug in bugs]
    if any(security_keyword.lower() in found for found in keywords):
        return "security"
    wanted = {k.lower() for k in enhancement_keywords}
    if keywords and all(found & wanted for found in keywords):
        return "enhancement"
    return "bugfix"


def describe(layout: Layout, release: str, chosen: list[ReleaseCandidate],
             bugs: dict[int, BugFacts]) -> list[Update]:
    """The updates as they lie in the target repo; `chosen` are the analysis' packages
    that were released."""
    config = layout.config
    settings = config.release
    in_target = {(h.family.name, h.label): h
                 for h in holdings(layout, release).get(settings.target, {}).values()}
    updates = []
    for package in chosen:
        held = in_target.get((package.name, package.releasable or ""))
        if held is None:
            raise FileNotFoundError(f"{package.option} is not in "
                                    f"{settings.target}: was it promoted?")
        updates.append(_update(held, package, bugs, config))
    return updates


def _update(held: Held, package: ReleaseCandidate, bugs: dict[int, BugFacts],
            config: DistConfig) -> Update:
    files = ([_file("SRPMS", held.srpm)] if held.srpm else []) + [
        _file(archdir, path) for archdir, paths in sorted(held.binaries.items())
        for path in sorted(paths)]
    source = _header(held.srpm or files[0].path)
    main = next((f for f in files if f.name == held.family.name and f.arch != "src"),
                files[0])
    released_bugs = sorted(package.release_bugs)
    # every released bug is one the analysis asked about; unanswered if it is not there
    found = [bugs.get(bug) or BugFacts.unanswered(bug) for bug in released_bugs]
    kind = _type(found, config.bugzilla.security_keyword, config.release.enhancement_keywords)
    key = held.family.key
    bare = re.sub(config.release.announce.dist_suffix, "", main.release) or main.release
    return Update(
        name=held.family.name, label=held.label, nvr=f"{key.name}-{key.version}-{bare}",
        version=key.version, release=main.release, summary=source[rpm.RPMTAG_SUMMARY] or "",
        description=source[rpm.RPMTAG_DESCRIPTION] or "", url=source[rpm.RPMTAG_URL] or "",
        kind="sme" if released_bugs else "upstream", type=kind,
        severity=config.release.security_severity if kind == "security" else "",
        bugs=found, changes=list(package.release_changes),
        files=files)

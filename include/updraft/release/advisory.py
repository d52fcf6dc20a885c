"""Advisory: our updateinfo records (seed 004 step 10, "Advisory will be prepared"),
written with createrepo_c and merged into the target repo's repodata.

Every arch dir of smeupdates carries one updateinfo holding all our advisories that
name a package of that dir: a record issued before is replaced by its new text, never
duplicated. The merge runs on a hardlinked copy of the live repodata (modifyrepo_c)
swapped in with one rename exchange, under the arch dir's repodata lock, like every
repodata write: yum sees the old or the new metadata, never a mix.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import createrepo_c as cr

from updraft.engine.faults import checkpoint
from updraft.engine.layout import Layout
from updraft.engine.lock import repodata_lock
from updraft.engine.repodata import exchange
from updraft.errors import UpdraftError
from updraft.release.bugfacts import BugFacts
from updraft.release.candidate import ReleaseCandidate
from updraft.release.updates import Update, describe

log = logging.getLogger(__name__)


class AdvisoryError(UpdraftError):
    """updateinfo could not be merged; the live repodata is untouched."""


def record(update: Update, archdir: str, issued: datetime, release_name: str,
           bug_url: str | None) -> cr.UpdateRecord | None:
    """The updateinfo record of one update for one arch dir (None: nothing of it there)."""
    files = [f for f in update.files if f.archdir == archdir]
    if not files or update.part_of:  # a coupled family is listed in its lead's record
        return None
    entry = cr.UpdateRecord()
    entry.id = update.advisory
    entry.type = update.type
    entry.title = update.title
    entry.severity = update.severity
    entry.release = release_name
    entry.status = "final"
    entry.issued_date = issued
    entry.updated_date = issued
    entry.fromstr = ""
    entry.summary = update.summary
    entry.description = "\n".join(change.text for change in update.changes) or update.summary
    for bug in update.bugs:
        reference = cr.UpdateReference()
        reference.type = "bugzilla"
        reference.id = str(bug.id)
        reference.title = bug.summary
        reference.href = f"{bug_url.rstrip('/')}/show_bug.cgi?id={bug.id}" if bug_url else ""
        entry.append_reference(reference)
    for ref in update.references:  # upstream's CVEs and advisories (issue 17 §4)
        reference = cr.UpdateReference()
        reference.type, reference.id = ref.get("type") or "", ref.get("id") or ""
        reference.href, reference.title = ref.get("href") or "", ref.get("title") or ""
        entry.append_reference(reference)
    collection = cr.UpdateCollection()
    collection.shortname = release_name
    collection.name = release_name
    for found in files:
        package = cr.UpdateCollectionPackage()
        package.name, package.epoch = found.name, found.epoch
        package.version, package.release, package.arch = found.version, found.release, found.arch
        package.filename, package.src = found.filename, found.src
        package.sum, package.sum_type = found.sha256, cr.SHA256
        collection.append(package)
    entry.append_collection(collection)
    return entry


def _existing(repodata: Path) -> list[cr.UpdateRecord]:
    repomd = repodata / "repomd.xml"
    if not repomd.is_file():
        return []
    for item in cr.Repomd(str(repomd)).records:
        if item.type == "updateinfo":
            info = cr.UpdateInfo()
            cr.xml_parse_updateinfo(str(repodata.parent / item.location_href), info)
            return list(info.updates)
    return []


def _link_but_repomd(source: str, target: str) -> None:
    # modifyrepo_c rewrites repomd.xml: a hardlink would change the live file under yum.
    if os.path.basename(source) == "repomd.xml":
        shutil.copy2(source, target)
    else:
        os.link(source, target)


def _bump_revision(repomd_xml: Path, live_xml: Path) -> None:
    """modifyrepo_c keeps the revision; mirrors are told apart by it (seed 000's "wait
    for the mirrors to sync"), so changed metadata gets a newer one."""
    old = cr.Repomd(str(live_xml)).revision or "0"
    repomd = cr.Repomd(str(repomd_xml))
    now = int(time.time())
    repomd.set_revision(str(max(now, int(old) + 1) if old.isdigit() else now))
    repomd.sort_records()
    temporary = repomd_xml.with_suffix(".tmp")
    temporary.write_text(repomd.xml_dump())
    os.replace(temporary, repomd_xml)


def merge(layout: Layout, release: str, repo: str, archdir: str,
          records: list[cr.UpdateRecord]) -> Path:
    """Merge `records` into the arch dir's updateinfo; return the live repodata dir."""
    repo_dir = layout.repodata_dir(release, repo, archdir)
    live = repo_dir / "repodata"
    label = f"{release}/{repo}/{archdir}"
    with repodata_lock(layout.state_dir, label, layout.config.lock_timeout, "advisory"):
        if not (live / "repomd.xml").is_file():
            raise AdvisoryError(f"{live}: no repodata to add updateinfo to (run the cycle "
                                "first, then retry)")
        replaced = {entry.id for entry in records}
        info = cr.UpdateInfo()
        for entry in [*(e for e in _existing(live) if e.id not in replaced), *records]:
            info.append(entry)
        # Under this arch dir's repodata lock: any other workspace was left by a kill.
        for stale in repo_dir.glob(".updateinfo.updraft-*"):
            shutil.rmtree(stale, ignore_errors=True)
        workspace = Path(tempfile.mkdtemp(prefix=".updateinfo.updraft-", dir=repo_dir))
        try:
            shutil.copytree(live, workspace / "repodata", copy_function=_link_but_repomd)
            xml = workspace / "updateinfo.xml"
            xml.write_text(info.xml_dump())
            done = subprocess.run(["modifyrepo_c", "--mdtype=updateinfo", str(xml),
                                   str(workspace / "repodata")],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
                raise AdvisoryError(f"modifyrepo_c failed on {live}: {tail} (the live "
                                    "repodata is untouched; retry)")
            _bump_revision(workspace / "repodata" / "repomd.xml", live / "repomd.xml")
            checkpoint("repodata: updateinfo merged, before the swap")
            exchange(workspace / "repodata", live)
            checkpoint("repodata: updateinfo swapped in")
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
    log.info("updateinfo of %s: %d advisories (%s)", label, len(info.updates),
             ", ".join(sorted(replaced)))
    return live


def read_back(repo_dir: Path) -> list[cr.UpdateRecord]:
    """The advisories a repo's repodata carries, read with createrepo_c."""
    return _existing(repo_dir / "repodata")


def issue(layout: Layout, release: str, packages: list[ReleaseCandidate],
          bugs: dict[int, BugFacts], run: str, at: datetime | None = None) -> list[Update]:
    """Describe the released updates, give each its advisory (once: a retry finds the
    same id in the ledger) and merge them into every arch dir of the target repo."""
    from updraft.engine.evr import DistTag
    from updraft.ledger import Ledger
    from updraft.ledger.release import ReleaseRecords
    from updraft.ledger.upstream import UpstreamRecords
    from updraft.release.coupling import merge_units
    from updraft.upstream.security import advise as upstream_advise

    config = layout.config
    settings = config.release
    now = at or datetime.now(UTC)
    updates = describe(layout, release, packages, bugs)
    with Ledger.open(layout.ledger_url) as ledger:
        upstream_advise(updates, UpstreamRecords(ledger).advisories(release=release),
                        DistTag(config.dist_tag_pattern))
        updates = merge_units(config, updates)  # coupled families: one advisory
        records = ReleaseRecords(ledger)
        for update in (u for u in updates if not u.part_of):
            issued = records.issue(
                settings.advisory_prefix, release, update.name, update.label, update.type,
                update.severity, update.title, [bug.id for bug in update.bugs],
                [f.filename for f in update.files], now, run)
            update.advisory = issued.id
            update.issued = issued.issued.isoformat()
        leads = {u.nvr: u for u in updates if not u.part_of}
        for update in (u for u in updates if u.part_of in leads):
            lead = leads[update.part_of]
            update.advisory, update.issued = lead.advisory, lead.issued
    checkpoint("advisory: issued in the ledger")
    name = f"{config.name} {release}"
    for archdir in layout.archdirs(release):
        found = [record(u, archdir, datetime.fromisoformat(u.issued), name, config.bugzilla.url)
                 for u in updates]
        found = [entry for entry in found if entry is not None]
        if found:
            merge(layout, release, settings.target, archdir, found)
    return updates

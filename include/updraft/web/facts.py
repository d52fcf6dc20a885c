"""Facts: what the ledger knows per family version, read in a few column queries
(no ORM objects: the Packages page reads every state row of a 20k-RPM tree).

Keys are (release, family, family_evr); a state is also keyed by the repo it names.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from updraft.ledger.models import PackageState, ReleaseAdvisory, UpstreamAdvisory

Key = tuple[str, str, str]
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.I)


@dataclass
class Notice:
    """An advisory of a family version: ours (SME-2026:1) or upstream's (RHSA-...)."""

    id: str
    kind: str
    ours: bool
    bugs: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)


@dataclass
class Facts:
    # (release, family, evr, repo) -> (state, since)
    states: dict[tuple[str, str, str, str], tuple[str, datetime]]
    notices: dict[Key, list[Notice]]


def _refs(raw: str) -> tuple[list[str], list[str]]:
    """Bug and CVE ids of an upstream advisory's JSON references (bounded, stringly)."""
    try:
        refs = json.loads(raw or "[]")
    except ValueError:
        return [], []
    bugs, cves = [], []
    for ref in refs if isinstance(refs, list) else []:
        ref_id = str(ref.get("id", ""))[:64] if isinstance(ref, dict) else ""
        if _CVE.match(ref_id) or (isinstance(ref, dict) and ref.get("type") == "cve"):
            cves.append(ref_id)
        elif ref_id:
            bugs.append(ref_id)
    return bugs, cves


def _bug_list(raw: str) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(bug)[:32] for bug in value] if isinstance(value, list) else []


def read(session: Session, release: str | None = None) -> Facts:
    states: dict[tuple[str, str, str, str], tuple[str, datetime]] = {}
    # Grouped in the database: one row per family version, repo and state instead of one
    # per file (48 binaries a family on the bench tree), then the newest state wins here.
    newest = func.max(PackageState.at)
    query = select(PackageState.release, PackageState.family, PackageState.family_evr,
                   PackageState.repo, PackageState.state,
                   type_coerce(newest, PackageState.at.type)).group_by(
        PackageState.release, PackageState.family, PackageState.family_evr,
        PackageState.repo, PackageState.state)
    if release:
        query = query.where(PackageState.release == release)
    for rel, family, evr, repo, state, at in session.execute(query):
        key = (rel, family, evr, repo or "")
        known = states.get(key)
        if known is None or at > known[1]:  # the family's newest change of state wins
            states[key] = (state, at)
    notices: dict[Key, list[Notice]] = defaultdict(list)
    for row in session.execute(select(
            ReleaseAdvisory.id, ReleaseAdvisory.release, ReleaseAdvisory.family,
            ReleaseAdvisory.family_evr, ReleaseAdvisory.kind, ReleaseAdvisory.bugs)):
        notices[(row.release, row.family, row.family_evr)].append(
            Notice(row.id, row.kind, True, _bug_list(row.bugs)))
    for row in session.execute(select(
            UpstreamAdvisory.advisory, UpstreamAdvisory.release, UpstreamAdvisory.family,
            UpstreamAdvisory.family_evr, UpstreamAdvisory.kind, UpstreamAdvisory.refs)):
        bugs, cves = _refs(row.refs)
        notices[(row.release, row.family, row.family_evr)].append(
            Notice(row.advisory, row.kind, False, bugs, cves))
    return Facts(states, dict(notices))

"""Verification: seed 004's `tested` state for what Bugzilla says is verified.

A version in smeupdates-testing whose bugs are all VERIFIED (or closed) has been
tested: its files enter the ledger state `tested`, the state the ISO's preflight asks
of every package in smeupdates-testing (seed 002: "ALL RPMS MUST BE VERIFIED IN
SMEUPDATES-TESTING"). A file already `tested` is not recorded again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from updraft.engine.layout import Layout
from updraft.release.findings import Analysis

TESTED = "tested"


def record_tested(layout: Layout, analysis: Analysis, at: datetime | None = None) -> int:
    """Record the verified versions' files as `tested`; return how many were new."""
    from updraft.ledger import Ledger, StateChange

    now = at or datetime.now(UTC)
    with Ledger.open(layout.ledger_url) as ledger:
        current = {s.package: s.state for s in ledger.states(analysis.release)}
        changes = [
            StateChange(release=analysis.release, family=package.name,
                        family_evr=version.label, package=name, repo=version.repo,
                        state=TESTED, at=now, note="bugs verified in Bugzilla")
            for package in analysis.packages for version in package.verified_versions
            for name in version.files if current.get(name) != TESTED]
        ledger.set_states(changes)
    return len(changes)

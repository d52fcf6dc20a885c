"""Coupled families in a release (issue 17 §3): one unit, one advisory.

When libtevent and samba are released together, samba's advisory (the partner's: what
the others are built against) lists every package of the unit, and the others carry
its id instead of one of their own: `yum updateinfo` shows one update, like Bodhi's
multi-build updates. Which names form a unit, and that a choice takes units whole, is
updraft.engine.coupling's.
"""

from __future__ import annotations

from collections.abc import Sequence

from updraft.config.dist import DistConfig
from updraft.engine.coupling import coupling_of, release_units
from updraft.release.updates import Update
from updraft.upstream.security import strongest

_TYPES = ("enhancement", "bugfix", "security")  # the strongest type of a unit wins


def merge_units(config: DistConfig, updates: Sequence[Update]) -> list[Update]:
    """The updates with each coupled unit's lead holding the whole unit (files, bugs,
    changes, references, the strongest type and severity) and the others marked
    `part_of` it. The list keeps its length and order."""
    by_name = {update.name: update for update in updates}
    for unit in release_units(config, list(by_name)):
        if len(unit.names) < 2:
            continue
        members = [by_name[name] for name in unit.names]
        lead = next((u for u in members if coupling_of(config, u.name) is None), members[0])
        for other in (u for u in members if u is not lead):
            _absorb(lead, other)
    return list(updates)


def _absorb(lead: Update, other: Update) -> None:
    other.part_of = lead.nvr
    lead.members.append(other.nvr)
    lead.files += other.files
    known = {bug.id for bug in lead.bugs}
    lead.bugs += [bug for bug in other.bugs if bug.id not in known]
    lead.changes += other.changes
    refs = {(ref["type"], ref["id"]) for ref in lead.references}
    lead.references += [ref for ref in other.references if (ref["type"], ref["id"]) not in refs]
    lead.type = max(lead.type, other.type, key=lambda t: _TYPES.index(t) if t in _TYPES else 0)
    lead.severity = strongest([lead.severity, other.severity])
    if other.kind == "sme":
        lead.kind = "sme"

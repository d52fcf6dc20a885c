"""A family's (or package's) history as the CLI shows it: one line per ledger event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from updraft.engine.action import describe

PLAN_ID_WIDTH = 8  # like a short git hash: enough to tell plans apart in a listing


@dataclass(frozen=True)
class HistoryEntry:
    """One event of a history: an applied action or a state change.

    plan_id and trigger are "" for a state change that no plan caused.
    """

    at: datetime
    release: str
    plan_id: str
    trigger: str
    text: str


def action_text(
    verb: str,
    from_repo: str | None,
    to_repo: str | None,
    archdir: str,
    filename: str,
    reason: str = "",
) -> str:
    """E.g. "move from smetest to smeupdates-testing (clamav-0.97.6-1.el4.rf.x86_64.rpm)"."""
    return describe(verb, from_repo, to_repo, archdir, filename, reason)


def state_text(state: str, repo: str | None, note: str = "") -> str:
    """E.g. "state signed/untested in smeupdates-testing"."""
    text = f"state {state} in {repo}" if repo else f"state {state}"
    return f"{text}: {note}" if note else text


def format_history(entries: Sequence[HistoryEntry], name: str = "") -> list[str]:
    """Lines like "2026-11-21 20:30:01  9  plan 3f2a9c1e  move from ... (...)  [cli]".

    Times are shown in UTC, as stored. ``name`` only serves the "no history" line.
    """
    if not entries:
        return [f"no history for {name}" if name else "no history"]
    release_width = max(len(entry.release) for entry in entries)
    lines = []
    for entry in entries:
        plan = entry.plan_id[:PLAN_ID_WIDTH] if entry.plan_id else "-"
        line = (
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.release:<{release_width}}  "
            f"plan {plan:<{PLAN_ID_WIDTH}}  {entry.text}"
        )
        lines.append(f"{line}  [{entry.trigger}]" if entry.trigger else line)
    return lines

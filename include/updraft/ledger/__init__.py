"""The ledger: a relational audit trail of every action applied and every package state.

SQLite by default, any SQLAlchemy URL (PostgreSQL in production); the schema comes from
the Alembic migrations in ``migrations/``, applied by ``Ledger.open``.
"""

from updraft.config.repos import PACKAGE_STATES
from updraft.ledger.history import HistoryEntry, format_history
from updraft.ledger.store import VERBS, ActionRecord, Ledger, StateChange

__all__ = [
    "PACKAGE_STATES",
    "VERBS",
    "ActionRecord",
    "HistoryEntry",
    "Ledger",
    "StateChange",
    "format_history",
]

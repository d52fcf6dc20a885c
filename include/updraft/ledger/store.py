"""The Ledger: the relational audit trail of everything the repository engine did.

Writes are idempotent so that a task resumed after a crash can record the same plan or
state changes again without duplicating rows. The schema comes only from the Alembic
migrations, which ``Ledger.open`` applies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, insert, make_url, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from updraft.config.repos import PACKAGE_STATES
from updraft.errors import UpdraftError
from updraft.ledger.history import HistoryEntry, action_text, state_text
from updraft.ledger.models import Action, Base, PackageState, Plan, StateChangeRow
from updraft.private import create_private, private_dir, tighten

VERBS = ("move", "copy", "place", "delete", "quarantine", "hold")
_CHUNK = 500  # bound on IN (...) lists in the portable (non-upsert) code path
_UPSERT_DIALECTS: dict[str, Callable[[Any], Any]] = {"sqlite": sqlite.insert,
                                                     "postgresql": postgresql.insert}
_STATE_KEY = ("release", "package")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Serialises concurrent first-time migrations of one PostgreSQL database (any fixed number
# works; this one spells "updr").
_PG_MIGRATION_LOCK = 0x75706472


@dataclass(frozen=True)
class ActionRecord:
    """One action of a plan as the repository engine applied it."""

    plan_id: str
    seq: int
    at: datetime
    trigger: str  # "cli", "airflow:update_repos/<run_id>", ...
    release: str
    family: str  # the source package name, e.g. "clamav"
    family_evr: str  # "0.97.6-1.rf"
    verb: str  # one of VERBS
    filename: str
    package: str  # binary package name (the source name for an SRPM)
    archdir: str  # "i386", "x86_64", "SRPMS", or "" when not applicable
    from_repo: str | None
    to_repo: str | None
    reason: str = ""


@dataclass(frozen=True)
class StateChange:
    """A package entering a state (seed 004's PACKAGE_STATES)."""

    release: str
    family: str
    family_evr: str
    package: str  # file name or NEVRA string
    repo: str | None
    state: str
    at: datetime
    plan_id: str | None = None
    note: str = ""


_ACTION_FIELDS = tuple(field.name for field in fields(ActionRecord))
_STATE_FIELDS = tuple(field.name for field in fields(StateChange))


class Ledger:
    """Reads and writes the ledger database; obtain one with ``Ledger.open(url)``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Ledger:
        """Connect to ``url`` and bring its schema to the newest migration.

        Cheap when the schema is already current, so every run may call it.
        """
        engine = _make_engine(url)
        try:
            _upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def transaction(self) -> AbstractContextManager[Session]:
        """One transaction, for the ledger's other record keepers (ledger/upstream.py)."""
        return self._transaction()

    # -- writing -------------------------------------------------------------------------

    def record_plan(
        self,
        plan_id: str,
        trigger: str,
        created: datetime,
        summary: str,
        actions: Sequence[ActionRecord],
    ) -> None:
        """Record a plan and its actions; rows already recorded are left as they are."""
        _check_aware(created, f"plan {plan_id}")
        _check_actions(plan_id, actions)
        plan = {"plan_id": plan_id, "created": created, "trigger": trigger, "summary": summary}
        rows = [{name: getattr(action, name) for name in _ACTION_FIELDS} for action in actions]
        with self._transaction() as session:
            insert_missing(session, Plan, [plan], ("plan_id",))
            insert_missing(session, Action, rows, ("plan_id", "seq"))

    def set_states(self, changes: Sequence[StateChange]) -> None:
        """Set current states and append every change to the state history."""
        for change in changes:
            _check_state(change.state)
            _check_aware(change.at, f"state change of {change.package}")
        rows = [{name: getattr(change, name) for name in _STATE_FIELDS} for change in changes]
        with self._transaction() as session:
            insert_missing(session, StateChangeRow, rows, ("package", "release", "at", "state"))
            _upsert_states(session, _latest_per_package(rows))

    # -- reading -------------------------------------------------------------------------

    def state_of(self, release: str, package: str) -> str | None:
        query = select(PackageState.state).where(
            PackageState.release == release, PackageState.package == package
        )
        with self._sessions() as session:
            return session.scalar(query)

    def states(self, release: str | None = None, family: str | None = None) -> list[StateChange]:
        """Current states, optionally of one release and/or one family."""
        query = select(PackageState).order_by(
            PackageState.release, PackageState.family, PackageState.package
        )
        if release is not None:
            query = query.where(PackageState.release == release)
        if family is not None:
            query = query.where(PackageState.family == family)
        with self._sessions() as session:
            return [_to_state_change(row) for row in session.scalars(query)]

    def history(self, name: str, release: str | None = None) -> list[HistoryEntry]:
        """Actions and state changes of a family or a package named ``name``, oldest first."""
        keyed = self._action_history(name, release) + self._state_history(name, release)
        # Actions sort before state changes of the same instant: the move causes the state.
        keyed.sort(key=lambda item: item[0])
        return [entry for _, entry in keyed]

    def plans(self, limit: int = 20) -> list[tuple[str, datetime, str, str]]:
        """(plan_id, created, trigger, summary) of the newest ``limit`` plans, newest first."""
        query = select(Plan).order_by(Plan.created.desc(), Plan.plan_id.desc()).limit(limit)
        with self._sessions() as session:
            return [(p.plan_id, p.created, p.trigger, p.summary) for p in session.scalars(query)]

    def _action_history(self, name: str, release: str | None) -> list[_Keyed]:
        query = select(Action).where(or_(Action.family == name, Action.package == name))
        if release is not None:
            query = query.where(Action.release == release)
        with self._sessions() as session:
            return [_action_entry(row) for row in session.scalars(query)]

    def _state_history(self, name: str, release: str | None) -> list[_Keyed]:
        query = (
            select(StateChangeRow, Plan.trigger)
            .outerjoin(Plan, Plan.plan_id == StateChangeRow.plan_id)
            .where(or_(StateChangeRow.family == name, StateChangeRow.package == name))
        )
        if release is not None:
            query = query.where(StateChangeRow.release == release)
        with self._sessions() as session:
            return [_state_entry(row, trigger) for row, trigger in session.execute(query)]


_Keyed = tuple[tuple[Any, ...], HistoryEntry]  # (sort key, entry)


def _action_entry(row: Action) -> _Keyed:
    text = action_text(row.verb, row.from_repo, row.to_repo, row.archdir, row.filename, row.reason)
    entry = HistoryEntry(row.at, row.release, row.plan_id, row.trigger, text)
    return (row.at, 0, row.plan_id, row.seq), entry


def _state_entry(row: StateChangeRow, trigger: str | None) -> _Keyed:
    text = state_text(row.state, row.repo, row.note)
    entry = HistoryEntry(row.at, row.release, row.plan_id or "", trigger or "", text)
    return (row.at, 1, row.plan_id or "", row.id), entry


def _check_aware(when: datetime, what: str) -> None:
    # The ledger compares and sorts times across runs and hosts; a naive one is ambiguous.
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} has a naive datetime {when.isoformat()}: give it a time zone")


def _check_actions(plan_id: str, actions: Sequence[ActionRecord]) -> None:
    # Validate everything before writing anything: a plan is recorded whole or not at all.
    seen: set[int] = set()
    for action in actions:
        _check_aware(action.at, f"action {action.seq}")
        if action.plan_id != plan_id:
            raise ValueError(f"action {action.seq} belongs to plan {action.plan_id}, not {plan_id}")
        if action.verb not in VERBS:
            raise ValueError(f"unknown verb {action.verb!r} (known: {', '.join(VERBS)})")
        if action.seq in seen:
            raise ValueError(f"plan {plan_id} has two actions numbered {action.seq}")
        seen.add(action.seq)


def _check_state(state: str) -> None:
    if state not in PACKAGE_STATES:
        known = ", ".join(PACKAGE_STATES)
        raise ValueError(f"unknown package state {state!r} (known: {known})")


def _latest_per_package(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # One row per (release, package): PostgreSQL refuses to upsert a row twice in one
    # statement. The latest change wins; on a tie, the later one in the batch.
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in _STATE_KEY)
        if key not in latest or row["at"] >= latest[key]["at"]:
            latest[key] = row
    return list(latest.values())


def insert_missing(
    session: Session, model: type[Base], rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """Insert the rows whose ``keys`` (a unique constraint) are not in the table yet.

    ``keys[0]`` should be the most selective column: the portable path filters on it.
    """
    if not rows:
        return
    make_insert = _UPSERT_DIALECTS.get(session.get_bind().dialect.name)
    if make_insert is not None:
        # Core, not ORM, statements: the ORM bulk path costs more than SQLite itself here.
        stmt = make_insert(model.__table__).on_conflict_do_nothing(index_elements=keys)
        _execute_many(session, stmt, rows)
        return
    existing = _existing_keys(session, model, keys, {row[keys[0]] for row in rows})
    fresh: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(row[name] for name in keys)
        if key not in existing:
            existing.add(key)  # also drops repeats within the batch
            fresh.append(row)
    if fresh:
        session.execute(insert(model), fresh)


def _execute_many(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> None:
    # SQLAlchemy only batches an ON CONFLICT insert into multi-row VALUES when it has a
    # RETURNING clause; without one, psycopg2 makes a round trip per row. SQLite's native
    # executemany is already fast, and needs no RETURNING.
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.returning(*stmt.table.primary_key.columns)
    session.connection().execute(stmt, rows).close()


def _existing_keys(
    session: Session, model: type[Base], keys: tuple[str, ...], first_values: set[Any]
) -> set[tuple[Any, ...]]:
    columns = [getattr(model, name) for name in keys]
    found: set[tuple[Any, ...]] = set()
    for chunk in _chunks(sorted(first_values), _CHUNK):
        query = select(*columns).where(columns[0].in_(chunk))
        found.update(tuple(row) for row in session.execute(query))
    return found


def _upsert_states(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    make_insert = _UPSERT_DIALECTS.get(session.get_bind().dialect.name)
    if make_insert is None:
        _upsert_states_portably(session, rows)
        return
    table = PackageState.__table__
    stmt = make_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=_STATE_KEY,
        set_={name: stmt.excluded[name] for name in _STATE_FIELDS if name not in _STATE_KEY},
        # A late retry of an older change must not overwrite a newer state.
        where=table.c.at <= stmt.excluded.at,
    )
    _execute_many(session, stmt, rows)


def _upsert_states_portably(session: Session, rows: list[dict[str, Any]]) -> None:
    current: dict[tuple[Any, ...], PackageState] = {}
    for chunk in _chunks(sorted({row["package"] for row in rows}), _CHUNK):
        for state in session.scalars(select(PackageState).where(PackageState.package.in_(chunk))):
            current[(state.release, state.package)] = state
    for row in rows:
        existing = current.get((row["release"], row["package"]))
        if existing is None:
            session.add(PackageState(**row))
        elif existing.at <= row["at"]:
            for name, value in row.items():
                setattr(existing, name, value)


def _to_state_change(row: PackageState) -> StateChange:
    return StateChange(**{name: getattr(row, name) for name in _STATE_FIELDS})


def _chunks(values: Sequence[Any], size: int) -> Iterator[tuple[Any, ...]]:
    iterator = iter(values)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


# -- engine and schema -------------------------------------------------------------------


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        # Who approved what, and the gates' decisions: 0600 in a 0700 dir, never the
        # umask's 0644 (SQLite gives its -journal/-wal files the database's mode).
        private_dir(Path(database).parent)
        create_private(Path(database))
        tighten(Path(database))
    # Parallel Airflow tasks share one file; wait for the lock rather than fail at once.
    connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
    engine = create_engine(parsed, connect_args=connect_args)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 (before 3.16) runs DDL outside transactions; take BEGIN over
    # (_sqlite_begin) so a migration and a plan are each all or nothing.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")  # SQLite ignores foreign keys otherwise
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".rstrip())


def _alembic_config() -> Config:
    config = Config()
    # The option goes through ConfigParser interpolation, where "%" is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


@functools.cache
def _head() -> str | None:
    """The newest migration this updraft ships: read from the migration scripts once per
    process (a build opens the ledger four times)."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _upgrade(engine: Engine) -> None:
    """Apply pending migrations, once, even when several processes open the ledger."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == _head():
        return
    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    if current is not None and current not in known:
        raise UpdraftError(
            f"the ledger is at schema revision {current}, newer than this updraft knows;"
            " upgrade updraft"
        )
    with engine.connect() as connection:
        # IMMEDIATE: take SQLite's write lock up front, so that two processes migrating at
        # once queue up instead of deadlocking on the lock upgrade.
        connection.execution_options(sqlite_begin="IMMEDIATE")
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

"""The ledger against real databases: a SQLite file, and a throwaway PostgreSQL database."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from updraft.errors import UpdraftError
from updraft.ledger import (
    PACKAGE_STATES,
    ActionRecord,
    HistoryEntry,
    Ledger,
    StateChange,
    format_history,
    store,
)
from updraft.ledger.models import Base

HEAD = "0008"  # the newest migration

PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 11, 21, 20, 30, 1, tzinfo=UTC)
PLAN_A = "3f2a9c1e" + "0" * 24
PLAN_B = "7b01d2aa" + "1" * 24
PHP = "php-5.1.6-27.el5.x86_64.rpm"
TABLES = {"plans", "actions", "package_states", "state_changes"}


# -- backends ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        engine.connect().close()
    except OperationalError as error:
        engine.dispose()
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL}: {error}")
    yield engine
    engine.dispose()


def _temporary_pg_database(admin: Engine) -> Iterator[str]:
    name = f"updraft_test_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        # A directory that does not exist yet: Ledger.open must create it.
        yield f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite'}"
    else:
        yield from _temporary_pg_database(request.getfixturevalue("pg_admin"))


@pytest.fixture
def ledger(url: str) -> Iterator[Ledger]:
    with Ledger.open(url) as opened:
        yield opened


def _scalar(url: str, sql: str) -> object:
    # An engine of its own: check what is really in the database, not what Ledger says.
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    count = _scalar(url, f"SELECT count(*) FROM {table}")
    assert isinstance(count, int)
    return count


# -- records -----------------------------------------------------------------------------


def _action(plan_id: str, seq: int, at: datetime, **overrides: str | None) -> ActionRecord:
    values: dict[str, str | None] = {
        "trigger": "cli",
        "release": "9",
        "family": "clamav",
        "family_evr": "0.97.6-1.rf",
        "verb": "move",
        "filename": "clamav-0.97.6-1.el4.rf.x86_64.rpm",
        "package": "clamav",
        "archdir": "x86_64",
        "from_repo": "smetest",
        "to_repo": "smeupdates-testing",
    }
    values.update(overrides)
    return ActionRecord(plan_id=plan_id, seq=seq, at=at, **values)  # type: ignore[arg-type]


def _clamav_plan(at: datetime = T0) -> list[ActionRecord]:
    return [
        _action(PLAN_A, 0, at),
        _action(
            PLAN_A,
            1,
            at + timedelta(seconds=1),
            verb="delete",
            filename="clamav-db-0.97.5-1.el4.rf.noarch.rpm",
            package="clamav-db",
            archdir="i386",
            from_repo="smeupdates-testing",
            to_repo=None,
        ),
        _action(PLAN_A, 2, at + timedelta(seconds=2), family="php", package="php", filename=PHP),
    ]


def _change(package: str, state: str, at: datetime, **overrides: str) -> StateChange:
    values = {
        "release": "9",
        "family": "clamav",
        "family_evr": "0.97.6-1.rf",
        "repo": "smeupdates-testing",
    }
    values.update(overrides)
    return StateChange(package=package, state=state, at=at, **values)


# -- schema ------------------------------------------------------------------------------


def test_open_migrates_and_can_be_repeated(url: str) -> None:
    Ledger.open(url).close()
    Ledger.open(url).close()  # already at head: must be a no-op, not an error

    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        assert TABLES | {"alembic_version"} <= set(inspector.get_table_names())
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("actions")}
        assert ("plan_id", "seq") in uniques
        indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("actions")}
        assert {("family",), ("package",)} <= indexed
        states_unique = inspector.get_unique_constraints("package_states")
        assert ("release", "package") in {tuple(u["column_names"]) for u in states_unique}
    finally:
        engine.dispose()
    assert _scalar(url, "SELECT version_num FROM alembic_version") == HEAD
    assert _count(url, "alembic_version") == 1


def test_models_match_the_migrations(url: str) -> None:
    Ledger.open(url).close()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_concurrent_first_opens_migrate_once(url: str) -> None:
    # Parallel Airflow tasks may all be first to open a fresh ledger.
    with ThreadPoolExecutor(max_workers=4) as pool:
        ledgers = list(pool.map(lambda _: Ledger.open(url), range(4)))
    for opened in ledgers:
        opened.close()
    assert _scalar(url, "SELECT version_num FROM alembic_version") == HEAD


def test_a_ledger_newer_than_the_code_is_refused(url: str) -> None:
    Ledger.open(url).close()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(UpdraftError, match="revision 9999"):
        Ledger.open(url)


# -- plans and actions -------------------------------------------------------------------


def test_record_plan_is_idempotent(ledger: Ledger, url: str) -> None:
    actions = _clamav_plan()
    ledger.record_plan(PLAN_A, "cli", T0, "3 actions", actions)
    ledger.record_plan(PLAN_A, "cli", T0, "3 actions", actions)  # a resumed crash
    assert _count(url, "plans") == 1
    assert _count(url, "actions") == 3

    # A resumed run that got further records only the actions it adds.
    extra = _action(PLAN_A, 3, T0 + timedelta(seconds=3), package="clamav-devel")
    ledger.record_plan(PLAN_A, "cli", T0, "3 actions", [*actions, extra])
    assert _count(url, "actions") == 4


def test_history_of_a_family_and_of_a_package(ledger: Ledger) -> None:
    rpm = "clamav-0.97.6-1.el4.rf.x86_64.rpm"
    later = T0 + timedelta(hours=1)
    airflow = "airflow:update_repos/run1"
    # Recorded out of time order: history must sort, not trust insertion order.
    ledger.record_plan(PLAN_B, airflow, later, "", [
        _action(PLAN_B, 0, later, trigger=airflow, from_repo="smeupdates-testing",
                to_repo="smeupdates"),
    ])  # fmt: skip
    ledger.set_states([_change(rpm, "released", later, repo="smeupdates", plan_id=PLAN_B)])
    ledger.record_plan(PLAN_A, "cli", T0, "", _clamav_plan())
    ledger.set_states([_change(rpm, "signed/untested", T0)])

    family = ledger.history("clamav")
    assert [entry.text for entry in family] == [
        f"move from smetest to smeupdates-testing ({rpm})",
        "state signed/untested in smeupdates-testing",
        "delete from smeupdates-testing (i386, clamav-db-0.97.5-1.el4.rf.noarch.rpm)",
        f"move from smeupdates-testing to smeupdates ({rpm})",
        "state released in smeupdates",
    ]
    assert [entry.at for entry in family] == [T0, T0, T0 + timedelta(seconds=1), later, later]
    assert family[0] == HistoryEntry(T0, "9", PLAN_A, "cli", family[0].text)
    assert (family[1].plan_id, family[1].trigger) == ("", "")  # no plan caused it
    # A state change names its plan; its trigger is the plan's.
    assert [(e.plan_id, e.trigger) for e in family[3:]] == [(PLAN_B, airflow)] * 2

    package = ledger.history("clamav-db")
    assert [(e.plan_id, e.text) for e in package] == [
        (PLAN_A, "delete from smeupdates-testing (i386, clamav-db-0.97.5-1.el4.rf.noarch.rpm)")
    ]
    assert [e.text for e in ledger.history("php")] == [
        f"move from smetest to smeupdates-testing ({PHP})"
    ]
    assert len(ledger.history(rpm)) == 2  # state changes name the file
    assert ledger.history("clamav", release="10") == []
    assert ledger.history("nonesuch") == []


def test_times_come_back_as_utc(ledger: Ledger) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 11, 21, 22, 30, 1, tzinfo=plus_two)
    ledger.record_plan(PLAN_A, "cli", local, "s", [_action(PLAN_A, 0, local)])
    (entry,) = ledger.history("clamav")
    assert entry.at == T0 and entry.at.tzinfo == UTC
    assert ledger.plans() == [(PLAN_A, T0, "cli", "s")]
    assert ledger.plans()[0][1].tzinfo == UTC


def test_plans_newest_first(ledger: Ledger) -> None:
    for index in range(5):
        plan_id = f"plan{index}"
        ledger.record_plan(plan_id, "cli", T0 + timedelta(minutes=index), f"#{index}", [])
    assert [plan[0] for plan in ledger.plans()] == ["plan4", "plan3", "plan2", "plan1", "plan0"]
    assert [plan[3] for plan in ledger.plans(limit=2)] == ["#4", "#3"]


def test_invalid_actions_are_refused_and_nothing_is_written(ledger: Ledger, url: str) -> None:
    with pytest.raises(ValueError, match="'teleport'"):
        ledger.record_plan(PLAN_A, "cli", T0, "", [_action(PLAN_A, 0, T0, verb="teleport")])
    with pytest.raises(ValueError, match="naive"):
        ledger.record_plan(PLAN_A, "cli", T0, "", [_action(PLAN_A, 0, T0.replace(tzinfo=None))])
    with pytest.raises(ValueError, match="two actions numbered 0"):
        ledger.record_plan(PLAN_A, "cli", T0, "", [_action(PLAN_A, 0, T0)] * 2)
    with pytest.raises(ValueError, match="belongs to plan"):
        ledger.record_plan(PLAN_A, "cli", T0, "", [_action(PLAN_B, 0, T0)])
    assert _count(url, "plans") == 0 and _count(url, "actions") == 0


# -- states ------------------------------------------------------------------------------


def test_states_are_upserted_and_their_history_kept(ledger: Ledger, url: str) -> None:
    rpm = "clamav-0.97.6-1.el4.rf.x86_64.rpm"
    ledger.set_states([_change(rpm, "signed/untested", T0), _change("other.rpm", "waiting", T0)])
    ledger.set_states([_change(rpm, "tested", T0 + timedelta(hours=2), repo="smeupdates")])
    # A late retry of an older change goes into history but does not win.
    late = _change(rpm, "test failed", T0 + timedelta(hours=1), note="retried task")
    ledger.set_states([late])
    ledger.set_states([late])  # and recording it again adds nothing

    assert ledger.state_of("9", rpm) == "tested"
    assert ledger.state_of("9", "missing.rpm") is None
    assert ledger.state_of("10", rpm) is None
    assert _count(url, "package_states") == 2
    assert _count(url, "state_changes") == 4
    (current,) = [s for s in ledger.states(release="9") if s.package == rpm]
    assert (current.state, current.repo, current.at) == (
        "tested",
        "smeupdates",
        T0 + timedelta(hours=2),
    )
    assert [e.text for e in ledger.history(rpm)] == [
        "state signed/untested in smeupdates-testing",
        "state test failed in smeupdates-testing: retried task",
        "state tested in smeupdates",
    ]


def test_states_filters(ledger: Ledger) -> None:
    ledger.set_states([
        _change("a.rpm", "waiting", T0),
        _change("b.rpm", "released", T0, family="php"),
        _change("a.rpm", "mirroring", T0, release="10"),
    ])  # fmt: skip
    assert [(s.release, s.package) for s in ledger.states()] == [
        ("10", "a.rpm"), ("9", "a.rpm"), ("9", "b.rpm")
    ]  # fmt: skip
    assert [s.package for s in ledger.states(family="php")] == ["b.rpm"]
    assert [s.state for s in ledger.states(release="10", family="clamav")] == ["mirroring"]
    assert ledger.states(release="11") == []


def test_one_batch_with_two_changes_of_a_package_keeps_the_latest(ledger: Ledger) -> None:
    ledger.set_states([
        _change("a.rpm", "tested", T0 + timedelta(minutes=5)),
        _change("a.rpm", "signed/untested", T0),
    ])  # fmt: skip
    assert ledger.state_of("9", "a.rpm") == "tested"


def test_unknown_state_is_refused(ledger: Ledger, url: str) -> None:
    with pytest.raises(ValueError, match="'half baked'"):
        ledger.set_states([_change("a.rpm", "waiting", T0), _change("b.rpm", "half baked", T0)])
    assert _count(url, "state_changes") == 0
    assert "signed/untested" in PACKAGE_STATES  # the re-export is seed 004's tuple


def test_portable_path_without_upsert(
    ledger: Ledger, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Backends other than SQLite and PostgreSQL take the select-then-write path.
    monkeypatch.setattr(store, "_UPSERT_DIALECTS", {})
    ledger.record_plan(PLAN_A, "cli", T0, "", _clamav_plan())
    ledger.record_plan(PLAN_A, "cli", T0, "", _clamav_plan())
    assert _count(url, "actions") == 3
    ledger.set_states([_change("a.rpm", "waiting", T0)])
    ledger.set_states([_change("a.rpm", "tested", T0 + timedelta(hours=1))])
    ledger.set_states([_change("a.rpm", "test failed", T0 + timedelta(minutes=30))])
    ledger.set_states([_change("a.rpm", "waiting", T0)])
    assert ledger.state_of("9", "a.rpm") == "tested"
    assert _count(url, "state_changes") == 3


# -- speed -------------------------------------------------------------------------------


def test_twenty_thousand_actions_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    actions = [
        _action(
            PLAN_A,
            seq,
            T0 + timedelta(milliseconds=seq),
            family=f"family{seq % 700}",
            package=f"package{seq}",
            filename=f"package{seq}-1.0-1.el4.x86_64.rpm",
        )
        for seq in range(20_000)
    ]
    with Ledger.open(url) as ledger:
        started = time.perf_counter()
        ledger.record_plan(PLAN_A, "cli", T0, "20,000 actions", actions)
        elapsed = time.perf_counter() - started
        print(f"recorded 20,000 actions in {elapsed:.3f} s")
        again = time.perf_counter()
        ledger.record_plan(PLAN_A, "cli", T0, "20,000 actions", actions)
        print(f"re-recorded them (all already there) in {time.perf_counter() - again:.3f} s")
    assert _count(url, "actions") == 20_000
    assert elapsed < 2.0


# -- formatting --------------------------------------------------------------------------


def test_format_history() -> None:
    text = "move from smetest to smeupdates-testing (clamav-0.97.6-1.el4.rf.x86_64.rpm)"
    entries = [
        HistoryEntry(T0, "9", PLAN_A, "cli", text),
        HistoryEntry(T0, "10", "", "", "state tested in smeupdates"),
    ]
    assert format_history(entries) == [
        f"2026-11-21 20:30:01  9   plan 3f2a9c1e  {text}  [cli]",
        "2026-11-21 20:30:01  10  plan -         state tested in smeupdates",
    ]
    assert format_history(entries[:1]) == [f"2026-11-21 20:30:01  9  plan 3f2a9c1e  {text}  [cli]"]
    assert format_history([], "clamav") == ["no history for clamav"]

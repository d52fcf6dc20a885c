"""ORM models of the ledger: the tables the Alembic migrations create.

The schema is owned by the migrations in ``migrations/versions``; these models must match
them exactly (a unit test compares the two), so change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names: Alembic needs them to alter or drop constraints later,
# and SQLite's batch mode cannot find unnamed ones.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column sizes: generous for RPM names, but bounded so the schema also works on backends
# that require a VARCHAR length.
NAME = 255
SHORT = 64


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend.

    SQLite drops the offset on write and returns naive values; PostgreSQL returns them in
    the session's time zone. Normalising here keeps every caller free of that difference.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time is ambiguous (local? UTC?); refusing it beats a silent shift.
            raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Plan(Base):
    """One plan the repository engine applied (or started to apply)."""

    __tablename__ = "plans"

    plan_id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    trigger: Mapped[str] = mapped_column(String(NAME))
    summary: Mapped[str] = mapped_column(Text, default="")


class Action(Base):
    """One file operation of a plan; (plan_id, seq) identifies it across resumed runs."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq"),
        Index("ix_actions_family", "family"),
        Index("ix_actions_package", "package"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.plan_id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(NAME))
    release: Mapped[str] = mapped_column(String(SHORT))
    family: Mapped[str] = mapped_column(String(NAME))
    family_evr: Mapped[str] = mapped_column(String(NAME))
    verb: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(NAME))
    package: Mapped[str] = mapped_column(String(NAME))
    archdir: Mapped[str] = mapped_column(String(SHORT))
    from_repo: Mapped[str | None] = mapped_column(String(NAME))
    to_repo: Mapped[str | None] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text, default="")


class _StateColumns:
    """What a package state says; shared by the current state and its history."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release: Mapped[str] = mapped_column(String(SHORT))
    package: Mapped[str] = mapped_column(String(NAME))
    family: Mapped[str] = mapped_column(String(NAME))
    family_evr: Mapped[str] = mapped_column(String(NAME))
    repo: Mapped[str | None] = mapped_column(String(NAME))
    state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # No foreign key: states may be set before (or without) the plan being recorded.
    plan_id: Mapped[str | None] = mapped_column(String(SHORT))
    note: Mapped[str] = mapped_column(Text, default="")


class PackageState(_StateColumns, Base):
    """The current state of one package (file name or NEVRA) in one release."""

    __tablename__ = "package_states"
    __table_args__ = (
        UniqueConstraint("release", "package"),
        Index("ix_package_states_family", "family"),
    )


class StateChangeRow(_StateColumns, Base):
    """Append-only history of package states; one row per change ever made."""

    __tablename__ = "state_changes"
    __table_args__ = (
        # A package cannot enter the same state twice at the same instant: a repeat is a
        # resumed run re-recording what it already wrote, and is dropped.
        UniqueConstraint("release", "package", "at", "state"),
        Index("ix_state_changes_family", "family"),
        Index("ix_state_changes_package", "package"),
    )


class SourceSync(Base):
    """One sync of an upstream source: `mirroring` while it runs, then how it ended."""

    __tablename__ = "source_syncs"
    __table_args__ = (Index("ix_source_syncs_release_source", "release", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release: Mapped[str] = mapped_column(String(SHORT))
    source: Mapped[str] = mapped_column(String(NAME))
    state: Mapped[str] = mapped_column(String(32))
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[str] = mapped_column(String(NAME), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class UpstreamAdvisory(Base):
    """An upstream advisory (updateinfo) linked to a family it landed with."""

    __tablename__ = "upstream_advisories"
    __table_args__ = (
        UniqueConstraint("release", "advisory", "family", "family_evr"),
        Index("ix_upstream_advisories_family", "family"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release: Mapped[str] = mapped_column(String(SHORT))
    source: Mapped[str] = mapped_column(String(NAME))
    advisory: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(SHORT))  # security, bugfix, enhancement
    severity: Mapped[str] = mapped_column(String(SHORT), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    issued: Mapped[str] = mapped_column(String(SHORT), default="")
    refs: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{type, id, href, title}]
    family: Mapped[str] = mapped_column(String(NAME))
    family_evr: Mapped[str] = mapped_column(String(NAME))
    repo: Mapped[str] = mapped_column(String(NAME))
    plan_id: Mapped[str | None] = mapped_column(String(SHORT))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Seed 004 notification 3: a security update waiting to move to production.
    security_waiting: Mapped[bool] = mapped_column(Boolean, default=False)


class ReleaseAdvisory(Base):
    """An advisory we issue for an update released into smeupdates (seed 004 step 10)."""

    __tablename__ = "advisories"
    __table_args__ = (
        UniqueConstraint("release", "family", "family_evr"),
        UniqueConstraint("year", "number"),
        Index("ix_advisories_family", "family"),
    )

    id: Mapped[str] = mapped_column(String(SHORT), primary_key=True)  # SME-2026:1
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    release: Mapped[str] = mapped_column(String(SHORT))
    family: Mapped[str] = mapped_column(String(NAME))
    family_evr: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(SHORT))  # security, bugfix, enhancement
    severity: Mapped[str] = mapped_column(String(SHORT), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    bugs: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of bug numbers
    packages: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of file names
    issued: Mapped[datetime] = mapped_column(UTCDateTime())
    run: Mapped[str] = mapped_column(String(NAME), default="")  # who released it
    notes_sent: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bugs_closed: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GateDecision(Base):
    """A human answer at a gate (Go/NoGo, Build?, Sign?): who chose what, when."""

    __tablename__ = "gate_decisions"
    __table_args__ = (UniqueConstraint("run", "gate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(NAME))
    gate: Mapped[str] = mapped_column(String(NAME))
    release: Mapped[str] = mapped_column(String(SHORT), default="")
    chosen: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of options
    by: Mapped[str] = mapped_column(String(NAME), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class IsoStep(Base):
    """One step of an ISO build or publish (seed 002), with how it went."""

    __tablename__ = "iso_steps"
    __table_args__ = (Index("ix_iso_steps_release_version", "release", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release: Mapped[str] = mapped_column(String(SHORT))
    version: Mapped[str] = mapped_column(String(SHORT))
    trigger: Mapped[str] = mapped_column(String(NAME))
    step: Mapped[str] = mapped_column(String(SHORT))  # stage, preflight, publish:copy, ...
    outcome: Mapped[str] = mapped_column(String(32))  # done, skipped, failed
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class GateAnswer(Base):
    """A gate's question and the answer Airflow's HITL record gave it, written by the gate
    itself (never from an XCom). A gate asked again voids its earlier rows; the steps
    after a gate proceed only on a row of this run answered by an assigned user."""

    __tablename__ = "gate_answers"
    __table_args__ = (Index("ix_gate_answers_run_task", "run", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(NAME))  # airflow:<dag>/<run>, or cli:<user>
    dag_id: Mapped[str] = mapped_column(String(NAME), default="")
    run_id: Mapped[str] = mapped_column(String(NAME), default="")
    task_id: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(32))  # promote, build, sign, release, iso, override
    release: Mapped[str] = mapped_column(String(SHORT), default="")
    target: Mapped[str] = mapped_column(String(SHORT), default="")
    family: Mapped[str] = mapped_column(String(NAME), default="")
    digest: Mapped[str] = mapped_column(String(SHORT), default="")  # of what was shown
    assigned: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of user ids
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(NAME), default="")
    chosen: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of options
    comment: Mapped[str] = mapped_column(Text, default="")  # the answer's comment, override reason
    void: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the gate showed (its body, bounded), when its silence becomes the outcome, when
    # its assignees were reminded, and whether the answer is that outcome (migration 0006).
    shown: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The answered form fields besides the comment, JSON (the special build parameters)
    # (migration 0008).
    form: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)


class GateRequest(Base):
    """A family that arrived in a gated repo without a Go (a `cp`, a pull-up): held, and
    waiting for a Go/NoGo. State: pending, go, nogo, published."""

    __tablename__ = "gate_requests"
    __table_args__ = (UniqueConstraint("release", "repo", "family", "family_evr"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release: Mapped[str] = mapped_column(String(SHORT))
    repo: Mapped[str] = mapped_column(String(SHORT))
    family: Mapped[str] = mapped_column(String(NAME))
    family_evr: Mapped[str] = mapped_column(String(NAME))
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON: held paths
    state: Mapped[str] = mapped_column(String(32), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(NAME), default="")
    via: Mapped[str] = mapped_column(String(NAME), default="")  # the run or the override


class MirrorCheckRow(Base):
    """What a download mirror served at its latest check of one repo's arch dir (the
    release's wait for the mirrors): its repomd.xml revision, or why it could not be read.
    One row per mirror, release, repo and arch dir, overwritten by each check."""

    __tablename__ = "mirror_checks"
    __table_args__ = (UniqueConstraint("mirror", "release", "repo", "archdir"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mirror: Mapped[str] = mapped_column(String(NAME))  # the configured URL template
    release: Mapped[str] = mapped_column(String(SHORT))
    repo: Mapped[str] = mapped_column(String(SHORT))
    archdir: Mapped[str] = mapped_column(String(SHORT))
    url: Mapped[str] = mapped_column(Text)  # of its repomd.xml
    want: Mapped[str] = mapped_column(String(NAME), default="")  # our revision then
    have: Mapped[str] = mapped_column(String(NAME), default="")  # the mirror's ("": none)
    error: Mapped[str] = mapped_column(Text, default="")  # one line: why it was not read
    synced: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())

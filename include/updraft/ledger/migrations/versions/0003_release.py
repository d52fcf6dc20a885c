"""release cycle: advisories we issue and the answers given at gates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.create_table(
        "advisories",
        sa.Column("id", sa.String(SHORT), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("family_evr", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(SHORT), nullable=False),
        sa.Column("severity", sa.String(SHORT), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("bugs", sa.Text(), nullable=False),
        sa.Column("packages", sa.Text(), nullable=False),
        sa.Column("issued", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("notes_sent", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bugs_closed", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisories")),
        sa.UniqueConstraint("release", "family", "family_evr",
                            name=op.f("uq_advisories_release_family_family_evr")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_advisories_year_number")),
    )
    op.create_index("ix_advisories_family", "advisories", ["family"])
    op.create_table(
        "gate_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("gate", sa.String(NAME), nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("chosen", sa.Text(), nullable=False),
        sa.Column("by", sa.String(NAME), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
        sa.UniqueConstraint("run", "gate", name=op.f("uq_gate_decisions_run_gate")),
    )


def downgrade() -> None:
    op.drop_table("gate_decisions")
    op.drop_index("ix_advisories_family", table_name="advisories")
    op.drop_table("advisories")

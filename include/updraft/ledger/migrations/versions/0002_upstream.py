"""upstream sync: source sync states and upstream advisories linked to landed families

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.create_table(
        "source_syncs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("source", sa.String(NAME), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.String(NAME), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_syncs")),
    )
    op.create_index("ix_source_syncs_release_source", "source_syncs", ["release", "source"])

    op.create_table(
        "upstream_advisories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("source", sa.String(NAME), nullable=False),
        sa.Column("advisory", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(SHORT), nullable=False),
        sa.Column("severity", sa.String(SHORT), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("issued", sa.String(SHORT), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("family_evr", sa.String(NAME), nullable=False),
        sa.Column("repo", sa.String(NAME), nullable=False),
        sa.Column("plan_id", sa.String(SHORT), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("security_waiting", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_advisories")),
        sa.UniqueConstraint("release", "advisory", "family", "family_evr",
                            name=op.f("uq_upstream_advisories_release_advisory_family_family_evr")),
    )
    op.create_index("ix_upstream_advisories_family", "upstream_advisories", ["family"])


def downgrade() -> None:
    op.drop_table("upstream_advisories")
    op.drop_table("source_syncs")

"""iso builds: every step of an ISO build and publish (seed 002)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.create_table(
        "iso_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("version", sa.String(SHORT), nullable=False),
        sa.Column("trigger", sa.String(NAME), nullable=False),
        sa.Column("step", sa.String(SHORT), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iso_steps")),
    )
    op.create_index("ix_iso_steps_release_version", "iso_steps", ["release", "version"])


def downgrade() -> None:
    op.drop_table("iso_steps")

"""mirrors: what each download mirror served at its latest check, per repo and arch dir

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.create_table(
        "mirror_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mirror", sa.String(NAME), nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("repo", sa.String(SHORT), nullable=False),
        sa.Column("archdir", sa.String(SHORT), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("want", sa.String(NAME), nullable=False),
        sa.Column("have", sa.String(NAME), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_checks")),
        sa.UniqueConstraint("mirror", "release", "repo", "archdir",
                            name=op.f("uq_mirror_checks_mirror_release_repo_archdir")),
    )


def downgrade() -> None:
    op.drop_table("mirror_checks")

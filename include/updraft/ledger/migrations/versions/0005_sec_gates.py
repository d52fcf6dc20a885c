"""gates: every gate's question and recorded answer, and the requests a gated repo holds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 255
SHORT = 64


def upgrade() -> None:
    op.create_table(
        "gate_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run", sa.String(NAME), nullable=False),
        sa.Column("dag_id", sa.String(NAME), nullable=False),
        sa.Column("run_id", sa.String(NAME), nullable=False),
        sa.Column("task_id", sa.String(NAME), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("target", sa.String(SHORT), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("digest", sa.String(SHORT), nullable=False),
        sa.Column("assigned", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("by", sa.String(NAME), nullable=False),
        sa.Column("chosen", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("void", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_answers")),
    )
    op.create_index("ix_gate_answers_run_task", "gate_answers", ["run", "task_id"])
    op.create_table(
        "gate_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("repo", sa.String(SHORT), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("family_evr", sa.String(NAME), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(NAME), nullable=False),
        sa.Column("via", sa.String(NAME), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_requests")),
        sa.UniqueConstraint("release", "repo", "family", "family_evr",
                            name=op.f("uq_gate_requests_release_repo_family_family_evr")),
    )


def downgrade() -> None:
    op.drop_table("gate_requests")
    op.drop_index("ix_gate_answers_run_task", table_name="gate_answers")
    op.drop_table("gate_answers")

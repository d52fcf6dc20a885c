"""initial ledger: plans, actions, package states and their history

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's sizes: a migration must not change when the models do.
NAME = 255
SHORT = 64


def _state_columns() -> list[sa.Column[object]]:
    # package_states and state_changes share their columns; only their keys differ.
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("package", sa.String(NAME), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("family_evr", sa.String(NAME), nullable=False),
        sa.Column("repo", sa.String(NAME), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_id", sa.String(SHORT), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(SHORT), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(NAME), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plans")),
    )
    op.create_index(op.f("ix_plans_created"), "plans", ["created"])

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(SHORT), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(NAME), nullable=False),
        sa.Column("release", sa.String(SHORT), nullable=False),
        sa.Column("family", sa.String(NAME), nullable=False),
        sa.Column("family_evr", sa.String(NAME), nullable=False),
        sa.Column("verb", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(NAME), nullable=False),
        sa.Column("package", sa.String(NAME), nullable=False),
        sa.Column("archdir", sa.String(SHORT), nullable=False),
        sa.Column("from_repo", sa.String(NAME), nullable=True),
        sa.Column("to_repo", sa.String(NAME), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.plan_id"], name=op.f("fk_actions_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_actions_plan_id_seq")),
    )
    op.create_index("ix_actions_family", "actions", ["family"])
    op.create_index("ix_actions_package", "actions", ["package"])

    op.create_table(
        "package_states",
        *_state_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_states")),
        sa.UniqueConstraint("release", "package", name=op.f("uq_package_states_release_package")),
    )
    op.create_index("ix_package_states_family", "package_states", ["family"])

    op.create_table(
        "state_changes",
        *_state_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_changes")),
        sa.UniqueConstraint(
            "release",
            "package",
            "at",
            "state",
            name=op.f("uq_state_changes_release_package_at_state"),
        ),
    )
    op.create_index("ix_state_changes_family", "state_changes", ["family"])
    op.create_index("ix_state_changes_package", "state_changes", ["package"])


def downgrade() -> None:
    op.drop_table("state_changes")
    op.drop_table("package_states")
    op.drop_table("actions")
    op.drop_table("plans")

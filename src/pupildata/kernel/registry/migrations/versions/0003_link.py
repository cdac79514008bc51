"""Matching: the clerical review queue and the decisions every later run honours.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_review",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("left_key", sa.String(length=200), nullable=False),
        sa.Column("right_key", sa.String(length=200), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_review")),
    )
    with op.batch_alter_table("link_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_review_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_review_status"), ["status"], unique=False)
    op.create_table(
        "link_decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("left_key", sa.String(length=200), nullable=False),
        sa.Column("right_key", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_decision")),
    )
    with op.batch_alter_table("link_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_decision_left_key"), ["left_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_decision_right_key"), ["right_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_decision_right_key"))
        batch_op.drop_index(batch_op.f("ix_link_decision_left_key"))
    op.drop_table("link_decision")
    with op.batch_alter_table("link_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_review_status"))
        batch_op.drop_index(batch_op.f("ix_link_review_run_id"))
    op.drop_table("link_review")

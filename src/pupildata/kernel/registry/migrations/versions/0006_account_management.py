"""Accounts managed in the portal: when each account last signed in, and two-factor sign-in's recovery codes.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "portal_recovery_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["portal_user.id"], name=op.f("fk_portal_recovery_code_user_id_portal_user")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_portal_recovery_code")),
    )
    with op.batch_alter_table("portal_recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_recovery_code_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("portal_recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_recovery_code_user_id"))
    op.drop_table("portal_recovery_code")
    with op.batch_alter_table("portal_user", schema=None) as batch_op:
        batch_op.drop_column("last_sign_in_at")

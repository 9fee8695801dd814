"""Verifies in progress are rows, so that single flight and the per-user limit hold across processes.

Revision ID: 0026
Revises: 0023
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "verify_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("hashing", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verify_runs")),
    )
    with op.batch_alter_table("verify_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verify_runs_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_verify_runs_object_key"), ["object_key"], unique=False)


def downgrade():
    with op.batch_alter_table("verify_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verify_runs_object_key"))
        batch_op.drop_index(batch_op.f("ix_verify_runs_user_id"))
    op.drop_table("verify_runs")

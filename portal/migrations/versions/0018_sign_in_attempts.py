"""Sign-in attempts are reserved before a password is checked, and a browser's own attempts count apart.

A row of ``sign_in_failures`` is now written before the password is checked
(``failed`` false: in flight) and marked failed after a wrong one, or deleted
after a right one, so that counting and checking are one step whatever the
concurrency. ``device`` names the device cookie an attempt came with: those
attempts count against that cookie only, never against the name or the
address. Rows written before this revision were all failures.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("device", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_sign_in_failures_device", ["device"], unique=False)


def downgrade():
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_device")
        batch_op.drop_column("device")
        batch_op.drop_column("failed")

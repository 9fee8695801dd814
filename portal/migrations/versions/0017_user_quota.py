"""Each user's own storage quota: a number of bytes, unlimited, or (NULL) PORTAL_DEFAULT_QUOTA's.

Two columns rather than one with a magic number: ``quota_bytes`` NULL means
"the setting's", and ``quota_unlimited`` says "none at all" even when the
setting sets one. Every existing user keeps the setting's (NULL, false).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quota_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("quota_unlimited", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN, as 0016 does: no copy of the table.
    op.drop_column("users", "quota_unlimited")
    op.drop_column("users", "quota_bytes")

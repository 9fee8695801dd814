"""The colour facts of each video: transfer function, primaries and matrix.

An HDR recording (BT.2020 with PQ or HLG, as phones write it) shows washed
out or clipped in a browser unless it is tone-mapped, so whether such a video
gets a copy depends on its transfer function as much as on its codec. Videos
probed before this revision have none (NULL) and are treated as SDR until
they are processed again.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

COLUMNS = ("color_transfer", "color_primaries", "color_space")


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.String(length=32), nullable=True))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): batch mode would copy the table
    # and lose the triggers that keep the library's counts and search words.
    for column in COLUMNS:
        op.drop_column("videos", column)

"""The pixel format of each video: H.264 plays in every browser only as 8-bit 4:2:0.

High 10 (``yuv420p10le``) and the 4:2:2 and 4:4:4 profiles decode in Chromium
alone, so whether such an H.264 is played as it is depends on this fact as
much as on the codec. Videos probed before this revision have none (NULL) and
are treated as before until they are processed again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pixel_format", sa.String(length=32), nullable=True))


def downgrade():
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): batch mode would copy the table
    # and lose the triggers that keep the library's counts and search words.
    op.drop_column("videos", "pixel_format")

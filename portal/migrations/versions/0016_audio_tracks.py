"""Every audio track of each video, with its language: a recording dubbed or with commentary has several.

The facts kept only the first track's codec, so a second language was
invisible. The tracks are a JSON list (``codec``, ``language``, ``channels``),
read whole with the row and never searched. Videos probed before this
revision have none (NULL) until they are processed again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audio_tracks", sa.JSON(), nullable=True))


def downgrade():
    # A plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later): batch mode would copy the table
    # and lose the triggers that keep the library's counts and search words.
    op.drop_column("videos", "audio_tracks")

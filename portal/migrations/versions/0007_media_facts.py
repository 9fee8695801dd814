"""Media facts of each video (duration, size, codecs, rates, container) and its processing state.

The facts are empty until a job has probed the file. Videos stored before
this revision start ``queued``: ``flask --app wsgi jobs backfill`` queues
their jobs. Listings may sort by duration, so it is indexed with the id that
breaks ties, like the other orders (0003).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("height", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("video_codec", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("audio_codec", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("frame_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("bit_rate", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("container", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("processing_state", sa.String(length=16), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("processing_error", sa.String(length=1000), nullable=True))
        batch_op.create_index("ix_videos_duration_id", ["duration", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_index("ix_videos_duration_id")
        for column in (
            "processing_error", "processing_state", "container", "bit_rate", "frame_rate",
            "audio_codec", "video_codec", "height", "width", "duration",
        ):
            batch_op.drop_column(column)

"""What each video's browser-playable copy is: its SHA-256, size, type and last verification, None while there is none.

``done`` now also means "any copy the video needs is there", so videos
processed before this revision go back to ``queued``: ``flask --app wsgi jobs
backfill`` queues their jobs, which keep the facts and the poster and make a
copy where the original does not play in browsers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

videos = sa.table("videos", sa.column("processing_state", sa.String))


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("playable_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("playable_size", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("playable_content_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("playable_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(videos.update().where(videos.c.processing_state == "done").values(processing_state="queued"))


def downgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("playable_verified_at")
        batch_op.drop_column("playable_content_type")
        batch_op.drop_column("playable_size")
        batch_op.drop_column("playable_sha256")

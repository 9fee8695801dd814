"""The SHA-256 of each video's poster, None until a job has made it.

``done`` now means facts and poster, so videos processed before this
revision go back to ``queued``: ``flask --app wsgi jobs backfill`` queues
their jobs, which keep the facts and make the posters.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

videos = sa.table("videos", sa.column("processing_state", sa.String))


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("poster_sha256", sa.String(length=64), nullable=True))
    op.execute(videos.update().where(videos.c.processing_state == "done").values(processing_state="queued"))


def downgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("poster_sha256")

"""Captions: WebVTT tracks of a video, one per language, each stored as an object with its SHA-256.

A row per caption (not columns of the video), since a video has any number
of them; they go with their video (ON DELETE CASCADE), and their bytes with
its other objects.

The facts list every subtitle stream of the file too (``videos.subtitle_tracks``,
JSON): text ones become captions when the video is processed, picture ones
(PGS, DVB) are only listed. Videos probed before this revision have none (NULL).

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "captions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.String(length=36), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_captions_video_id_videos"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captions")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_captions_storage_key")),
        sa.UniqueConstraint("video_id", "language", name="uq_captions_video_id_language"),
    )
    op.create_index(op.f("ix_captions_video_id"), "captions", ["video_id"], unique=False)
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subtitle_tracks", sa.JSON(), nullable=True))


def downgrade():
    # A plain ALTER TABLE ... DROP COLUMN: batch mode would copy the table and lose its triggers.
    op.drop_column("videos", "subtitle_tracks")
    op.drop_index(op.f("ix_captions_video_id"), table_name="captions")
    op.drop_table("captions")

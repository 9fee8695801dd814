"""Posters and playable copies shared by content: each video's row names the objects it shows.

A poster or copy is made from a video's bytes, so two videos of one SHA-256
need only one of each: the second takes the first's instead of making its
own (:mod:`portal.media.processing`). The row now names the key of the poster
(``videos.poster_key``) and of the copy (``videos.playable_key``) it uses,
which may be another video's ``poster/ab/cd/<id>``; an object is deleted only
when no row names it any more. Existing rows name their own keys, where their
objects are.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

videos = sa.table(
    "videos",
    sa.column("id", sa.String),
    sa.column("poster_sha256", sa.String),
    sa.column("playable_sha256", sa.String),
    sa.column("poster_key", sa.String),
    sa.column("playable_key", sa.String),
)


def _own_key(kind: str) -> sa.ColumnElement[str]:
    """``<kind>/ab/cd/<id>``, the key each video's objects were stored under until now, in SQL both databases speak."""
    video_id = videos.c.id
    return sa.literal(f"{kind}/") + sa.func.substr(video_id, 1, 2) + "/" + sa.func.substr(video_id, 3, 2) + "/" + video_id


def upgrade():
    op.add_column("videos", sa.Column("poster_key", sa.String(length=255), nullable=True))
    op.add_column("videos", sa.Column("playable_key", sa.String(length=255), nullable=True))
    op.create_index(op.f("ix_videos_poster_key"), "videos", ["poster_key"])
    op.create_index(op.f("ix_videos_playable_key"), "videos", ["playable_key"])
    connection = op.get_bind()
    connection.execute(videos.update().where(videos.c.poster_sha256.is_not(None)).values(poster_key=_own_key("poster")))
    connection.execute(
        videos.update().where(videos.c.playable_sha256.is_not(None)).values(playable_key=_own_key("playable"))
    )


def downgrade():
    shared = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM videos WHERE poster_key NOT LIKE '%' || id OR playable_key NOT LIKE '%' || id"
        )
    )
    if shared:
        raise RuntimeError(
            f"{shared} videos show a poster or copy stored under another video's key: copy each to the video's "
            "own key before downgrading."
        )
    op.drop_index(op.f("ix_videos_playable_key"), table_name="videos")
    op.drop_index(op.f("ix_videos_poster_key"), table_name="videos")
    op.drop_column("videos", "playable_key")
    op.drop_column("videos", "poster_key")

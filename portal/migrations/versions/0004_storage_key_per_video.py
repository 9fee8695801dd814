"""Each row names where its bytes are, so keys can be namespaced by kind.

New videos are stored under ``original/ab/cd/<id>``, beside the other objects
of a video (a poster, a browser-playable copy) in namespaces of their own.
Videos stored before keep their bytes at ``ab/cd/<id>``: this fills their rows
with that key instead of moving every file (on an object store a move is a
copy of every byte), so an existing library is readable at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY_TYPE = sa.String(length=255)
videos = sa.table("videos", sa.column("id", sa.String), sa.column("storage_key", KEY_TYPE))
#: ``ab/cd/<id>``, the only layout before this revision, in SQL both SQLite and PostgreSQL know.
LEGACY_KEY = (
    sa.func.substr(videos.c.id, 1, 2).concat("/").concat(sa.func.substr(videos.c.id, 3, 2)).concat("/").concat(videos.c.id)
)


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_key", KEY_TYPE, nullable=True))
    op.execute(videos.update().values(storage_key=LEGACY_KEY))
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.alter_column("storage_key", existing_type=KEY_TYPE, nullable=False)
        batch_op.create_unique_constraint("uq_videos_storage_key", ["storage_key"])


def downgrade():
    """Refused while any video's bytes are under a key the older portal would not look at."""
    moved = op.get_bind().scalar(sa.select(sa.func.count()).select_from(videos).where(videos.c.storage_key != LEGACY_KEY))
    if moved:
        raise RuntimeError(
            f"{moved} videos are stored under namespaced keys (original/ab/cd/<id>), which the older schema cannot "
            "name: move their bytes to ab/cd/<id> and set storage_key accordingly before downgrading."
        )
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_constraint("uq_videos_storage_key", type_="unique")
        batch_op.drop_column("storage_key")

"""The trash: when a video was moved there and by whom, None while it is in the library.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_videos_deleted_by_id_users", "users", ["deleted_by_id"], ["id"])
    # Partial, of the trashed rows only, so that the library's listing keeps its own order's index;
    # made outside the batch, whose copy of the table would not keep the condition.
    op.create_index(
        "ix_videos_deleted_at",
        "videos",
        ["deleted_at"],
        unique=False,
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_videos_deleted_at", table_name="videos")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_constraint("fk_videos_deleted_by_id_users", type_="foreignkey")
        batch_op.drop_column("deleted_by_id")
        batch_op.drop_column("deleted_at")

"""Index each listing order together with the id that breaks its ties.

Listings sort by created_at, search_name or size and then by id. With
single-column indexes SQLite still sorted every page's rows by id in a
temporary B-tree, so a middle page of 10,000 videos took several times as long
as the first; a (column, id) index serves the whole order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ORDERS = ("created_at", "search_name", "size")


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        for column in ORDERS:
            batch_op.drop_index(f"ix_videos_{column}")
            batch_op.create_index(f"ix_videos_{column}_id", [column, "id"], unique=False)


def downgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        for column in ORDERS:
            batch_op.drop_index(f"ix_videos_{column}_id")
            batch_op.create_index(f"ix_videos_{column}", [column], unique=False)

"""Owners of videos, signed-in sessions, failed sign-ins and share links.

``videos.owner_id`` is added empty: a library older than accounts keeps every
video, and they go to the first admin (here if one exists already, else when
the first admin is created). The other tables are new.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_videos_owner_id", ["owner_id"], unique=False)
        batch_op.create_foreign_key("fk_videos_owner_id_users", "users", ["owner_id"], ["id"])
    op.execute(
        "UPDATE videos SET owner_id = (SELECT MIN(id) FROM users WHERE role = 'admin') WHERE owner_id IS NULL"
    )
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_login_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_login_sessions"),
        sa.UniqueConstraint("key_hash", name="uq_login_sessions_key_hash"),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_login_sessions_user_id", ["user_id"], unique=False)
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_failures"),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_username_key", ["username_key"], unique=False)
        batch_op.create_index("ix_sign_in_failures_address", ["address"], unique=False)
        batch_op.create_index("ix_sign_in_failures_at", ["at"], unique=False)
    op.create_table(
        "share_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name="fk_share_links_video_id_videos", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name="fk_share_links_created_by_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_share_links"),
        sa.UniqueConstraint("token_hash", name="uq_share_links_token_hash"),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index("ix_share_links_video_id", ["video_id"], unique=False)
        batch_op.create_index("ix_share_links_created_by_id", ["created_by_id"], unique=False)


def downgrade():
    op.drop_table("share_links")
    op.drop_table("sign_in_failures")
    op.drop_table("login_sessions")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_constraint("fk_videos_owner_id_users", type_="foreignkey")
        batch_op.drop_index("ix_videos_owner_id")
        batch_op.drop_column("owner_id")

"""Originals: identical uploaded bytes are stored once, shared by every video with their SHA-256.

A row per stored original (``originals``), keyed by the checksum, counting
the videos that use it. Each group of existing videos with one SHA-256 is
folded into one row here: it names the object of its first video whose last
check found it whole (else its first video), and counts them all. The other
videos' own copies of those bytes stay where they are, no longer used:
``flask --app wsgi cleanup`` names them and ``flask --app wsgi storage dedupe``
removes them (checking the kept object first), reporting the bytes saved.

``videos.storage_key`` keeps its name and values: where each upload's bytes
were written (the model calls it ``upload_key``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

videos = sa.table(
    "videos",
    sa.column("id", sa.String),
    sa.column("sha256", sa.String),
    sa.column("size", sa.BigInteger),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("storage_key", sa.String),
)
BATCH = 1000


def upgrade():
    originals = op.create_table(
        "originals",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("refs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_originals")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_originals_storage_key")),
    )
    op.create_index(op.f("ix_videos_sha256"), "videos", ["sha256"])
    connection = op.get_bind()
    # Whole ones first, then the oldest: the first row of each checksum names the kept object.
    ordered = sa.select(videos.c.sha256, videos.c.storage_key, videos.c.size, videos.c.created_at).order_by(
        videos.c.sha256, sa.case((videos.c.status == "ok", 0), else_=1), videos.c.created_at, videos.c.id
    )
    pending: list[dict] = []
    current: dict | None = None
    for sha256, key, size, created_at in connection.execute(ordered):
        if current is not None and current["sha256"] == sha256:
            current["refs"] += 1
            continue
        current = {"sha256": sha256, "storage_key": key, "size": size, "refs": 1, "created_at": created_at}
        pending.append(current)
        if len(pending) > BATCH:
            connection.execute(originals.insert(), pending[:-1])
            pending = pending[-1:]
    if pending:
        connection.execute(originals.insert(), pending)


def downgrade():
    shared = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM videos v JOIN originals o ON o.sha256 = v.sha256 WHERE o.storage_key != v.storage_key")
    )
    if shared:
        raise RuntimeError(
            f"{shared} videos use bytes stored under another video's key: copy each original back to its video's "
            "storage_key before downgrading."
        )
    op.drop_index(op.f("ix_videos_sha256"), table_name="videos")
    op.drop_table("originals")

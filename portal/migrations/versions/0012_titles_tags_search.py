"""Titles, descriptions and tags of videos, and the trigram index v2's search goes through.

Each video gains its details (``title``, ``description``), ``updated_at``, a
``revision`` (the basis of its ETag), ``title_key`` (what sorting by title
walks) and ``search_text`` (title, description, tags and file name,
case-folded); tags get a table of their own, indexed by tag.

The columns are added with constant defaults, which both databases do without
copying the table (a batch recreate on SQLite would drop the partial index of
0010 and any trigger), then filled in batches from each row's file name.

The index over ``search_text``:

- SQLite: an FTS5 table with the trigram tokenizer whose content is the
  ``videos`` table itself (no second copy of the text), kept in step by
  triggers in the same transaction as every insert, update and delete. It is
  keyed by the rowid of ``videos``: a later migration that recreates the table
  (batch mode) renumbers rows and drops triggers, so it must recreate the
  triggers and run ``INSERT INTO video_search(video_search) VALUES ('rebuild')``.
- PostgreSQL: a GIN index of pg_trgm's trigrams, which ``LIKE '%text%'`` uses.
  The extension is created in ``public`` unless it is there already in another
  schema; the index names its operator class with that schema, so it works
  whatever the connection's ``search_path`` is.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Rows filled per statement while the new columns get their values.
BATCH = 1000

SQLITE_INDEX = [
    # external content: the text lives in videos.search_text; the FTS table holds only the index.
    "CREATE VIRTUAL TABLE video_search USING fts5(search_text, content='videos', content_rowid='rowid', "
    "tokenize='trigram')",
    "CREATE TRIGGER video_search_insert AFTER INSERT ON videos BEGIN "
    "INSERT INTO video_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER video_search_delete AFTER DELETE ON videos BEGIN "
    "INSERT INTO video_search(video_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER video_search_update AFTER UPDATE OF search_text ON videos BEGIN "
    "INSERT INTO video_search(video_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO video_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO video_search(video_search) VALUES ('rebuild')",
]


def _default_title(filename):
    stem, dot, _extension = filename.rpartition(".")
    return stem if dot and stem else filename


def _fill_details(connection):
    """Title, title key, search text and updated_at of every existing row, from its file name."""
    videos = sa.table(
        "videos", sa.column("id"), sa.column("filename"), sa.column("created_at"), sa.column("title"),
        sa.column("title_key"), sa.column("search_text"), sa.column("updated_at"),
    )
    update = (
        sa.update(videos)
        .where(videos.c.id == sa.bindparam("row_id"))
        .values(
            title=sa.bindparam("new_title"),
            title_key=sa.bindparam("new_title_key"),
            search_text=sa.bindparam("new_search_text"),
            updated_at=sa.bindparam("new_updated_at"),
        )
    )
    last = ""
    while True:
        rows = connection.execute(
            sa.select(videos.c.id, videos.c.filename, videos.c.created_at)
            .where(videos.c.id > last)
            .order_by(videos.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        values = []
        for row in rows:
            title = _default_title(row.filename)
            values.append({
                "row_id": row.id,
                "new_title": title,
                "new_title_key": title.casefold(),
                "new_search_text": "\n".join([title, "", row.filename]).casefold(),
                "new_updated_at": row.created_at,
            })
        connection.execute(update, values)
        last = rows[-1].id


def _trigram_schema(connection):
    """The schema pg_trgm lives in, creating it (in ``public``) if the database has none yet."""
    found = connection.scalar(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ))
    if found is None:
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        found = "public"
    return found


def upgrade():
    collation = "C" if op.get_bind().dialect.name == "postgresql" else None
    op.add_column("videos", sa.Column("title", sa.String(length=255), server_default="", nullable=False))
    op.add_column(
        "videos", sa.Column("title_key", sa.String(length=765, collation=collation), server_default="", nullable=False)
    )
    op.add_column("videos", sa.Column("description", sa.Text(), server_default="", nullable=False))
    op.add_column("videos", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.add_column("videos", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("videos", sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_videos_title_key_id", "videos", ["title_key", "id"], unique=False)
    op.create_table(
        "video_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["video_id"], ["videos.id"], name="fk_video_tags_video_id_videos", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_video_tags"),
        sa.UniqueConstraint("video_id", "tag", name="uq_video_tags_video_id_tag"),
    )
    op.create_index("ix_video_tags_tag_video_id", "video_tags", ["tag", "video_id"], unique=False)
    connection = op.get_bind()
    _fill_details(connection)
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_INDEX:
            op.execute(statement)
    elif connection.dialect.name == "postgresql":
        schema = _trigram_schema(connection)
        op.execute(f'CREATE INDEX ix_videos_search_text_trgm ON videos USING gin (search_text "{schema}".gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("video_search_insert", "video_search_delete", "video_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS video_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_videos_search_text_trgm")
    op.drop_index("ix_video_tags_tag_video_id", table_name="video_tags")
    op.drop_table("video_tags")
    op.drop_index("ix_videos_title_key_id", table_name="videos")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        for column in ("revision", "updated_at", "search_text", "description", "title_key", "title"):
            batch_op.drop_column(column)

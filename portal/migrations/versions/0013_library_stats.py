"""Table library_stats: how many videos the library holds, kept by the database itself.

v1's listing answers an exact ``total``. Counting it was the cost of the first
page at a million videos: SQLite's ``count(*)`` reads a whole index (16 ms,
26 ms with a partial index of the rows outside the trash), PostgreSQL's reads
every visible row. One row holding the count answers at once.

Triggers keep the row right in the very transaction that adds, trashes,
restores or deletes a video, whichever code (or a bulk load) does it: row
triggers on SQLite; statement triggers with transition tables on PostgreSQL,
so a bulk insert or COPY updates the row once, not once per video (a million
updates of one row in one transaction would each walk its growing chain of
versions), and a statement that leaves the count alone does not lock it.

SQLite drops a table's triggers with the table: a later migration that
rebuilds ``videos`` in a batch must create them again (:func:`create_triggers`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER library_stats_after_insert AFTER INSERT ON videos WHEN NEW.deleted_at IS NULL
    BEGIN UPDATE library_stats SET videos = videos + 1 WHERE id = 1; END""",
    """CREATE TRIGGER library_stats_after_delete AFTER DELETE ON videos WHEN OLD.deleted_at IS NULL
    BEGIN UPDATE library_stats SET videos = videos - 1 WHERE id = 1; END""",
    """CREATE TRIGGER library_stats_after_trash AFTER UPDATE OF deleted_at ON videos
    WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
    BEGIN UPDATE library_stats SET videos = videos + (CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END)
    WHERE id = 1; END""",
)

POSTGRESQL_FUNCTION = """
CREATE FUNCTION library_stats_follow_videos() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        change := change + (SELECT count(*) FROM new_rows WHERE deleted_at IS NULL);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        change := change - (SELECT count(*) FROM old_rows WHERE deleted_at IS NULL);
    END IF;
    IF change <> 0 THEN
        UPDATE library_stats SET videos = videos + change WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGERS = (
    """CREATE TRIGGER library_stats_after_insert AFTER INSERT ON videos
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION library_stats_follow_videos()""",
    """CREATE TRIGGER library_stats_after_update AFTER UPDATE ON videos
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION library_stats_follow_videos()""",
    """CREATE TRIGGER library_stats_after_delete AFTER DELETE ON videos
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION library_stats_follow_videos()""",
)


def create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for statement in POSTGRESQL_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def upgrade():
    op.create_table(
        "library_stats",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("videos", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_library_stats"),
    )
    # The triggers first, then the count: a video added before the count is in it, one added
    # after is the triggers' (which find no row to change until then); on PostgreSQL, creating
    # a trigger waits for the inserts under way and holds back new ones until the migration ends.
    create_triggers()
    op.execute("INSERT INTO library_stats (id, videos) SELECT 1, count(*) FROM videos WHERE deleted_at IS NULL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("library_stats_after_insert", "library_stats_after_update", "library_stats_after_delete"):
            op.execute(f"DROP TRIGGER {name} ON videos")
        op.execute("DROP FUNCTION library_stats_follow_videos()")
    else:
        for name in ("library_stats_after_insert", "library_stats_after_delete", "library_stats_after_trash"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("library_stats")

"""PostgreSQL: table video_words, each video's whole words, so a search's "at least 10,000" is proven from a B-tree.

v2's total is exact up to 10,000 and a lower bound beyond. On SQLite the FTS5
trigram index answers which rows hold a text exactly, and 10,001 of its
entries are counted from the index alone. PostgreSQL's pg_trgm index only
narrows the rows down: each candidate's text must be read again, and a GIN
index hands over all its matches at once (a bitmap), never the first 10,001.
For a text in a tenth of a million videos that meant reading 100,000 rows to
find 10,001 matches (27 ms), whichever plan.

A B-tree can stop early: ``video_words`` holds one entry per video and word
(the whitespace-separated pieces of ``search_text``, 3 to 200 characters),
and 10,001 entries of one word are counted from the index alone in about
1 ms. Every video with the word ``drone`` holds the text ``drone``, so when a
search's text is one word with that many entries (after allowing for the
trash), the total is at least 10,000 without reading a video; otherwise the
catalog counts the matches as before. The table only ever proves; it never
decides what matches.

Row triggers keep it in step in the very transaction of each insert, change of
``search_text`` and delete, whichever code does it. Removal recomputes the old
text's words, so the primary key (word, video) is the only index needed.
SQLite needs none of this: the migration does nothing there.
Filling in a million videos took 69 s on 2 CPUs (10.8 million entries, about
1.8 GB with the key); inserts wait for the migration meanwhile.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

#: A word longer than this gets no entry (a B-tree entry must fit a third of a page); it can still be searched for.
MAX_WORD_LENGTH = 200

POSTGRESQL_STATEMENTS = (
    """CREATE TABLE video_words (
        word text COLLATE "C" NOT NULL,
        video_id varchar(36) NOT NULL,
        CONSTRAINT pk_video_words PRIMARY KEY (word, video_id)
    )""",
    f"""CREATE FUNCTION portal_search_words(search_text text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT DISTINCT word FROM regexp_split_to_table(search_text, '\\s+') AS word
        WHERE char_length(word) BETWEEN 3 AND {MAX_WORD_LENGTH}
    $$""",
    """CREATE FUNCTION video_words_follow_videos() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM video_words
            WHERE video_id = OLD.id AND word IN (SELECT portal_search_words(OLD.search_text));
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO video_words (word, video_id) SELECT portal_search_words(NEW.search_text), NEW.id;
        END IF;
        RETURN NULL;
    END
    $$""",
    """CREATE TRIGGER video_words_after_insert AFTER INSERT ON videos
    FOR EACH ROW EXECUTE FUNCTION video_words_follow_videos()""",
    """CREATE TRIGGER video_words_after_update AFTER UPDATE OF search_text, id ON videos
    FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION video_words_follow_videos()""",
    """CREATE TRIGGER video_words_after_delete AFTER DELETE ON videos
    FOR EACH ROW EXECUTE FUNCTION video_words_follow_videos()""",
    # The triggers hold back new inserts until the migration commits, so the videos already there
    # are the ones to fill in.
    "INSERT INTO video_words (word, video_id) SELECT portal_search_words(search_text), id FROM videos",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_STATEMENTS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in ("video_words_after_insert", "video_words_after_update", "video_words_after_delete"):
            op.execute(f"DROP TRIGGER {name} ON videos")
        op.execute("DROP FUNCTION video_words_follow_videos()")
        op.execute("DROP FUNCTION portal_search_words(text)")
        op.execute("DROP TABLE video_words")

"""The library leaves the trash out without costing its listing the order's index (SQLite's plans)."""

from __future__ import annotations

from contextlib import closing

import pytest
from sqlalchemy import event

from portal import create_app
from portal.extensions import db
from portal.library.listing import Listing
from portal.library.listing import list_videos
from tests.conftest import copy_migrated_sqlite
from tests.databases import sqlite_url


@pytest.fixture
def sqlite_app(tmp_path, migrated_sqlite):
    """The portal on SQLite whichever database the suite runs on: the plans checked are SQLite's."""
    folder = tmp_path / "sqlite"
    folder.mkdir()
    url = sqlite_url(folder)
    copy_migrated_sqlite(migrated_sqlite, url)
    return create_app({"TESTING": True, "DATA_DIR": str(folder), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url})


@pytest.fixture
def plans(sqlite_app) -> list[str]:
    """The query plan SQLite makes for each statement of the library's first page."""
    app = sqlite_app
    statements: list[tuple[str, tuple]] = []

    def record(_connection, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            list_videos(Listing.parse())
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        with closing(db.engine.raw_connection()) as connection:
            cursor = connection.cursor()
            return [
                " ".join(row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall())
                for statement, parameters in statements
            ]


def test_the_library_walks_its_order_index_and_reads_its_size_without_counting(plans):
    count, page = plans
    # The size the database keeps (migration 0013): one row by its key, no video read.
    assert count.startswith("SEARCH library_stats USING INTEGER PRIMARY KEY") and "videos " not in count
    assert page.startswith("SCAN videos USING INDEX ix_videos_created_at_id") and "TEMP B-TREE" not in page

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


def test_the_library_walks_its_order_index_and_counts_without_reading_every_row(plans):
    count, page = plans
    # Every row less the trashed ones: a count of the whole table, and one of the trash's own index.
    assert "SEARCH videos USING COVERING INDEX ix_videos_deleted_at" in count
    assert "SCAN videos" not in count.replace("SCAN videos USING COVERING INDEX", "")
    assert page.startswith("SCAN videos USING INDEX ix_videos_created_at_id") and "TEMP B-TREE" not in page

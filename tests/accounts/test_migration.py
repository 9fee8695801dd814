"""Revision 0005 adds the account tables to an existing library and keeps its videos."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

import pytest
import sqlalchemy as sa

from portal.accounts import service
from portal.extensions import db
from tests.databases import insert_video_rows
from tests.test_database import HEAD
from tests.test_database import migrate_to
from tests.test_database import portal_on


def test_upgrading_a_library_adds_accounts_and_keeps_its_videos(empty_database, tmp_path):
    # Rows as the portal wrote them before storage keys, then the library as the last release left it.
    migrate_to(empty_database, "0003")
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    insert_video_rows(empty_database, [
        {"id": "00000000-0000-4000-8000-000000000001", "filename": "Clip.mp4", "search_name": "clip.mp4",
         "content_type": "video/mp4", "size": 1000, "sha256": "1" * 64, "status": "ok", "created_at": created}
    ])
    migrate_to(empty_database, "0004")

    app = portal_on(empty_database, tmp_path / "data")
    assert app.test_client().get("/api/v1/files").get_json()["total"] == 1
    with app.app_context():
        tables = sa.inspect(db.engine).get_table_names()
        assert {"users", "api_tokens"} <= set(tables)
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
        service.create_user("Alice", "correct horse battery", "uploader")
        _token, value = service.create_token("alice", ["read"])
        assert service.authenticate_token(value) is not None
        # The unique key is the database's, not only the service's check.
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.text(
                    "INSERT INTO users (username, username_key, password_hash, role, disabled, created_at) "
                    "VALUES ('ALICE', 'alice', 'x', 'viewer', :disabled, :now)"
                ),
                {"disabled": False, "now": created},
            )
        db.session.rollback()
        db.engine.dispose()


def test_downgrading_drops_the_account_tables(empty_database, tmp_path):
    import flask_migrate

    from portal import MIGRATIONS

    app = portal_on(empty_database, tmp_path / "data")
    with app.app_context():
        flask_migrate.downgrade(directory=str(MIGRATIONS), revision="0004")
        tables = set(sa.inspect(db.engine).get_table_names())
        assert "users" not in tables and "api_tokens" not in tables and "videos" in tables
        db.engine.dispose()

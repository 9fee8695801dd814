"""Revisions 0005 and 0006 add accounts and owners to an existing library and keep its videos."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timezone

import pytest
import sqlalchemy as sa

from portal import errors
from portal.accounts import service
from portal.extensions import db
from tests.databases import insert_video_rows
from tests.helpers import signed_in_client
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
    # Nobody may look before an account exists; the old video waits for the first admin.
    assert app.test_client().get("/api/v1/files").status_code == 401
    with app.app_context():
        service.create_user("Root", "correct horse battery", "admin")
    listing = signed_in_client(app, "Root").get("/api/v1/files").get_json()
    assert listing["total"] == 1 and listing["items"][0]["owner"] == "Root"
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


def test_an_existing_admin_takes_the_videos_of_a_library_upgraded_to_owners(empty_database, tmp_path):
    migrate_to(empty_database, "0005")
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for username, role in [("viewer1", "viewer"), ("boss", "admin"), ("boss2", "admin")]:
            connection.execute(
                sa.text(
                    "INSERT INTO users (username, username_key, password_hash, role, disabled, created_at) "
                    "VALUES (:name, :name, 'x', :role, :disabled, :now)"
                ),
                {"name": username, "role": role, "disabled": False, "now": created},
            )
        connection.execute(
            sa.text(
                "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                "storage_key) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', 10, :sha, 'ok', :now, :key)"
            ),
            {"id": "00000000-0000-4000-8000-000000000002", "sha": "2" * 64, "now": created,
             "key": "original/00/00/00000000-0000-4000-8000-000000000002"},
        )
    engine.dispose()

    app = portal_on(empty_database, tmp_path / "data")
    body = signed_in_client(app, "viewer1").get("/api/v1/files/00000000-0000-4000-8000-000000000002").get_json()
    # The first admin by id, not the first user.
    assert body["owner"] == "boss"
    with app.app_context():
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


def test_failures_recorded_before_revision_0018_still_count(empty_database, tmp_path, caplog):
    migrate_to(empty_database, "0016")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO sign_in_failures (username_key, address, at) VALUES ('alice', '192.0.2.1', :at)"),
            {"at": datetime.now(timezone.utc)},
        )
    engine.dispose()
    app = portal_on(empty_database, tmp_path / "data")
    with app.app_context():
        service.create_user("alice", "correct horse battery", "viewer")
        with caplog.at_level(logging.INFO, logger="portal.audit"):
            for index in range(4):
                with pytest.raises(errors.SignInFailed):
                    service.sign_in("alice", "wrong password", f"203.0.113.{index}")
        # The fifth failure in the window is the old row's, a failure, not an attempt in flight: the name is locked.
        assert "sign-in locked: username='alice' until " in caplog.text
        with pytest.raises(errors.TooManyAttempts):
            service.sign_in("alice", "correct horse battery", "198.51.100.1")
        db.engine.dispose()

"""The library's size kept by the database (migration 0013): v1's exact total without counting."""

from __future__ import annotations

import uuid
from datetime import datetime
from datetime import timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import create_app
from portal.extensions import db
from portal.library.models import LibraryStats
from portal.library.models import Video
from tests.databases import insert_video_rows
from tests.helpers import upload
from tests.test_database import migrate_to


def kept_and_counted(app) -> tuple[int, int]:
    """The size the stats row holds, and the size counted row by row."""
    with app.app_context():
        kept = db.session.scalar(db.select(LibraryStats.videos).where(LibraryStats.id == 1))
        counted = db.session.scalar(db.select(sa.func.count()).select_from(Video).where(Video.deleted_at.is_(None)))
        db.session.remove()
        return kept, counted


def total(client) -> int:
    return client.get("/api/v1/files").get_json()["total"]


def test_migrations_make_the_stats_table_the_model_describes(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert [difference for difference in differences if "library_stats" in repr(difference)] == []


def test_the_total_follows_uploads_trash_restore_and_purge(app, client, video_bytes):
    assert total(client) == 0
    first = upload(client, video_bytes, "first.mp4").get_json()
    upload(client, video_bytes, "second.mp4")
    assert total(client) == 2
    assert kept_and_counted(app) == (2, 2)

    assert client.delete(first["url"]).status_code == 204
    assert total(client) == 1
    assert client.get("/api/v1/files?q=first").get_json()["total"] == 0
    assert client.post(f"/api/v1/trash/{first['id']}/restore").status_code == 200
    assert total(client) == 2

    assert client.delete(first["url"]).status_code == 204
    assert client.delete(f"/api/v1/trash/{first['id']}").status_code == 204
    assert total(client) == 1
    assert kept_and_counted(app) == (1, 1)


def test_a_video_deleted_for_good_leaves_the_total(app, client, video_bytes, monkeypatch):
    app.config["TRASH_DAYS"] = 0
    video = upload(client, video_bytes).get_json()
    assert total(client) == 1
    assert client.delete(video["url"]).status_code == 204
    assert total(client) == 0
    assert kept_and_counted(app) == (0, 0)


def test_a_search_still_counts_its_matches(client, video_bytes):
    for name in ("Beach one.mp4", "beach two.mp4", "garden.mp4"):
        upload(client, video_bytes, name)
    assert client.get("/api/v1/files?q=BEACH").get_json()["total"] == 2
    assert total(client) == 3


def rows(count: int, trashed: int = 0) -> list[dict]:
    moment = datetime(2026, 1, 2, tzinfo=timezone.utc)
    return [
        {
            "id": str(uuid.uuid4()),
            "filename": f"clip {n}.mp4",
            "search_name": f"clip {n}.mp4",
            "content_type": "video/mp4",
            "size": n,
            "sha256": "0" * 64,
            "status": "ok",
            "created_at": moment,
            "storage_key": f"key-{uuid.uuid4()}",
            "deleted_at": moment if n < trashed else None,
        }
        for n in range(count)
    ]


def test_bulk_statements_of_any_code_keep_the_count_on_both_databases(empty_database, tmp_path):
    """Many rows in one statement, one update of many rows, one delete of many: what a bulk load or a script does."""
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database}
    )
    with app.app_context():
        db.session.execute(db.insert(Video), rows(50, trashed=5))
        db.session.commit()
    assert kept_and_counted(app) == (45, 45)
    with app.app_context():
        # Trash ten of the library, restore the five trashed, and touch every row without changing the count.
        listed = db.select(Video.id).where(Video.deleted_at.is_(None)).order_by(Video.id).limit(10).scalar_subquery()
        db.session.execute(db.update(Video).where(Video.id.in_(listed)).values(deleted_at=sa.func.now()))
        db.session.execute(db.update(Video).where(Video.size < 5).values(deleted_at=None))
        db.session.execute(db.update(Video).values(status="ok"))
        db.session.commit()
    assert kept_and_counted(app) == (40, 40)
    with app.app_context():
        db.session.execute(db.delete(Video).where(Video.size >= 40))
        db.session.commit()
    kept, counted = kept_and_counted(app)
    assert kept == counted
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("trashed", [0, 3])
def test_the_migration_counts_the_videos_already_there(empty_database, tmp_path, trashed):
    migrate_to(empty_database, "0012")
    insert_video_rows(empty_database, rows(7, trashed=trashed), later_columns=("storage_key", "deleted_at"))
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database}
    )
    assert kept_and_counted(app) == (7 - trashed, 7 - trashed)
    with app.app_context():
        db.engine.dispose()

"""Revisions 0007 and 0008: a library stored before media facts (or posters) keeps its videos, waiting ``queued`` for the backfill."""

from __future__ import annotations

from datetime import datetime
from datetime import timezone

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs import jobs_of
from tests.helpers import signed_in_client
from tests.test_database import migrate_to
from tests.test_database import portal_on

VIDEO_ID = "00000000-0000-4000-8000-000000000007"


def test_videos_stored_before_facts_wait_queued_and_backfill_queues_them(empty_database, tmp_path):
    migrate_to(empty_database, "0006")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                "storage_key) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', 1000, :sha256, 'ok', :created, :key)"
            ),
            {"id": VIDEO_ID, "sha256": "7" * 64, "created": datetime(2026, 1, 2, tzinfo=timezone.utc),
             "key": f"original/00/00/{VIDEO_ID}"},
        )
    engine.dispose()
    app = portal_on(empty_database, tmp_path / "data")
    item = signed_in_client(app).get("/api/v1/files?sort=-duration").get_json()["items"][0]
    assert item["media"] is None
    assert item["processing"] == {"state": "queued", "error": None}
    result = app.test_cli_runner().invoke(args=["jobs", "backfill"])
    assert "queued 1 videos" in result.output
    assert jobs_of(app).huey.pending_count() == 1
    with app.app_context():
        db.engine.dispose()


def test_videos_processed_before_posters_wait_queued_for_their_poster(empty_database, tmp_path):
    migrate_to(empty_database, "0007")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                "storage_key, container, duration, processing_state) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', "
                "1000, :sha256, 'ok', :created, :key, 'mp4', 2.0, 'done')"
            ),
            {"id": VIDEO_ID, "sha256": "7" * 64, "created": datetime(2026, 1, 2, tzinfo=timezone.utc),
             "key": f"original/00/00/{VIDEO_ID}"},
        )
    engine.dispose()
    app = portal_on(empty_database, tmp_path / "data")
    client = signed_in_client(app)
    item = client.get("/api/v1/files").get_json()["items"][0]
    assert item["media"]["duration"] == 2.0, "the facts stay"
    assert item["processing"] == {"state": "queued", "error": None}
    assert client.get(f"/api/v1/files/{VIDEO_ID}/poster").get_json()["error"]["code"] == "poster_not_found"
    assert "queued 1 videos" in app.test_cli_runner().invoke(args=["jobs", "backfill"]).output
    with app.app_context():
        db.engine.dispose()

"""The database locked or unavailable: a clean 503 with a message, nothing half-written.

SQLite runs in WAL mode, so readers go on while a writer holds the lock, and
writers wait for each other up to ``DATABASE_BUSY_TIMEOUT`` seconds. A lock
held longer than that fails the request with 503; the upload's bytes are
removed, a delete keeps both the row and the bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests

from portal import create_app
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import rows_on_disk
from tests.reliability.conftest import stored_keys
from tests.support import minimal_mp4


@contextlib.contextmanager
def database_locked(data_dir: Path) -> Iterator[None]:
    """Hold SQLite's write lock from another connection, as a long backup or another process would."""
    connection = sqlite3.connect(data_dir / "portal.db", isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@pytest.fixture
def impatient_app(tmp_path):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "DATABASE_BUSY_TIMEOUT": 0.2})
    yield app
    with app.app_context():
        db.engine.dispose()


def assert_service_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "service_unavailable"
    assert "try again" in error["message"]


def test_upload_while_the_database_is_locked_is_503_and_leaves_no_bytes(impatient_app, video_bytes):
    data_dir = Path(impatient_app.config["DATA_DIR"])
    client = signed_in_client(impatient_app)
    with database_locked(data_dir):
        assert_service_unavailable(upload(client, video_bytes))
        raw = client.post("/api/v1/files?filename=raw.mp4", data=video_bytes, content_type="video/mp4")
        assert_service_unavailable(raw)
        assert stored_keys(data_dir) == set()
    assert rows_on_disk(data_dir) == {}
    assert_database_and_folder_agree(data_dir)
    assert upload(client, video_bytes).status_code == 201


def test_delete_while_the_database_is_locked_is_503_and_keeps_row_and_bytes(impatient_app, video_bytes):
    data_dir = Path(impatient_app.config["DATA_DIR"])
    client = signed_in_client(impatient_app)
    created = upload(client, video_bytes).get_json()
    with database_locked(data_dir):
        assert_service_unavailable(client.delete(created["url"]))
    assert stored_keys(data_dir) == {created["id"]}
    assert client.get(created["content_url"]).data == video_bytes
    assert client.delete(created["url"]).status_code == 204
    assert_database_and_folder_agree(data_dir)


def test_reading_goes_on_while_a_writer_holds_the_lock(impatient_app, video_bytes):
    data_dir = Path(impatient_app.config["DATA_DIR"])
    client = signed_in_client(impatient_app)
    created = upload(client, video_bytes).get_json()
    with database_locked(data_dir):
        assert client.get("/api/v1/files").get_json()["total"] == 1
        assert client.get(created["url"]).get_json()["sha256"] == created["sha256"]
        assert client.get(created["content_url"]).data == video_bytes
        assert client.get("/healthz").status_code == 200


def test_verify_while_the_database_is_locked_is_503(impatient_app, video_bytes):
    data_dir = Path(impatient_app.config["DATA_DIR"])
    client = signed_in_client(impatient_app)
    created = upload(client, video_bytes).get_json()
    with database_locked(data_dir):
        assert_service_unavailable(client.post(created["url"] + "/verify"))
    assert client.get(created["url"]).get_json()["status"] == "ok"


def test_unreadable_database_is_503_and_unhealthy(tmp_path, video_bytes):
    """A database that cannot be opened at all (its file replaced by a folder) fails cleanly."""
    data_dir = tmp_path / "data"
    app = create_app({"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test"})
    client = signed_in_client(app)
    with app.app_context():
        db.engine.dispose()
    database = data_dir / "portal.db"
    database.rename(tmp_path / "moved.db")
    for suffix in ("-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    database.mkdir()
    try:
        listing = client.get("/api/v1/files")
        assert listing.status_code == 503 and listing.get_json()["error"]["code"] == "service_unavailable"
        assert upload(client, video_bytes).status_code == 503
        assert stored_keys(data_dir) == set()
        # The session cannot be looked up either: the page says so instead of failing again while rendering.
        page = client.get("/")
        assert page.status_code == 503 and page.mimetype == "text/html"
        health = client.get("/healthz")
        assert health.status_code == 503 and "database unavailable" in health.get_json()["problems"]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_busy_timeout_is_a_setting_of_the_real_server(start_portal, tmp_path):
    portal = start_portal(env={"PORTAL_DATABASE_BUSY_TIMEOUT": "0.5"})
    data = minimal_mp4()
    with database_locked(portal.data_dir):
        # Well under the 30-second default: only the setting can make it answer in time.
        response = portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=20)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
    assert_database_and_folder_agree(portal.data_dir)
    assert portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=20).status_code == 201


def test_concurrent_uploads_and_deletes_never_see_a_locked_database(start_portal):
    """Writers queue on SQLite's lock (WAL, busy timeout) instead of failing."""
    portal = start_portal(env={"PORTAL_THREADS": "8"})
    failures: list[str] = []
    kept: dict[str, str] = {}
    trashed: dict[str, str] = {}
    lock = threading.Lock()

    def work(worker: int) -> None:
        with requests.Session() as session:
            session.headers.update(portal.auth_headers)
            for round_ in range(12):
                data = minimal_mp4(os.urandom(20_000 + worker * 1000 + round_))
                created = session.post(portal.url + f"/api/v1/files?filename=w{worker}-{round_}.mp4", data=data, timeout=60)
                if created.status_code != 201:
                    failures.append(f"upload {created.status_code}: {created.text}")
                    continue
                body = created.json()
                if round_ % 2:
                    deleted = session.delete(body["url"], timeout=60)
                    if deleted.status_code != 204:
                        failures.append(f"delete {deleted.status_code}: {deleted.text}")
                    with lock:
                        trashed[body["id"]] = hashlib.sha256(data).hexdigest()
                else:
                    with lock:
                        kept[body["id"]] = hashlib.sha256(data).hexdigest()

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    # A delete moves to the trash: the row and the bytes stay until it is purged.
    assert {video_id: sha for video_id, (_size, sha) in rows_on_disk(portal.data_dir).items()} == {**kept, **trashed}
    assert portal.http.get(portal.url + "/api/v1/files?per_page=100", timeout=30).json()["total"] == len(kept)
    assert portal.http.get(portal.url + "/api/v1/trash?per_page=100", timeout=30).json()["total"] == len(trashed)
    assert_database_and_folder_agree(portal.data_dir)
    assert "database is locked" not in portal.output()

"""Reads racing deletes: a video deleted while it is being read is gone (404), never "missing" (409).

The deterministic tests delete the row and bytes from outside between the
moment a request found the video and the moment it looks at the bytes; the
threaded test does the same with real requests against waitress.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from portal.errors import VideoNotFound
from portal.library import integrity
from portal.library import service
from tests.helpers import row_count
from tests.helpers import upload
from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import leftovers
from tests.reliability.conftest import stored_keys
from tests.support import minimal_mp4


def delete_from_outside(app, data_dir: Path, video_id: str) -> None:
    """What another request's delete does, on a connection of its own: the row, then the bytes."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM videos WHERE id = :id"), {"id": video_id})
    engine.dispose()
    [path] = (data_dir / "files").rglob(video_id)
    path.unlink()


@pytest.mark.parametrize(
    "look",
    [
        lambda video: integrity.check_available(integrity.StoredBytes.original(video)),
        lambda video: integrity.open_content(integrity.StoredBytes.original(video)),
        integrity.verify,
    ],
    ids=["check_available", "open_content", "verify"],
)
def test_a_video_deleted_after_it_was_found_is_not_found(app, client, data_dir, video_bytes, look):
    created = upload(client, video_bytes).get_json()
    with app.test_request_context():
        video = service.get_video(created["id"])
        delete_from_outside(app, data_dir, created["id"])
        with pytest.raises(VideoNotFound):
            look(video)
    assert client.get(created["url"]).status_code == 404
    assert row_count(app) == 0
    assert stored_keys(data_dir) == set() and leftovers(data_dir) == []


def test_verify_command_skips_a_video_deleted_while_it_runs(app, client, data_dir, video_bytes):
    first = upload(client, video_bytes, "first.mp4").get_json()
    # Bytes of its own: identical ones would share the first one's stored object.
    second = upload(client, video_bytes + b"second", "second.mp4").get_json()
    with app.test_request_context():
        checked = []
        for video in integrity.verify_all():
            checked.append(video.id)
            if video.id == first["id"]:
                delete_from_outside(app, data_dir, second["id"])
    assert checked == [first["id"]]


def test_downloads_racing_deletes_get_the_whole_file_or_404(start_portal):
    portal = start_portal(env={"PORTAL_THREADS": "8"})
    answers: list[str] = []
    lock = threading.Lock()

    def download_until_gone(url: str, sha256: str) -> None:
        with requests.Session() as session:
            session.headers.update(portal.auth_headers)
            for _ in range(200):
                response = session.get(url, timeout=60)
                if response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == sha256:
                    continue
                with lock:
                    answers.append(str(response.status_code) if response.status_code == 404 else response.text[:200])
                return

    for round_ in range(10):
        data = minimal_mp4(os.urandom(100_000 + round_))
        created = portal.http.post(portal.url + "/api/v1/files?filename=race.mp4", data=data, timeout=30).json()
        readers = [
            threading.Thread(target=download_until_gone, args=(created["content_url"], created["sha256"])) for _ in range(4)
        ]
        for reader in readers:
            reader.start()
        assert portal.http.delete(created["url"], timeout=30).status_code == 204
        for reader in readers:
            reader.join(timeout=120)
    assert set(answers) == {"404"}
    assert_database_and_folder_agree(portal.data_dir)

"""tus with the bytes in an S3-compatible store (SeaweedFS): parts of 5 MiB and more, pending pieces, nothing on disk."""

from __future__ import annotations

import os
import sys
from datetime import timedelta

import pytest

from portal import create_app
from tests.helpers import s3_storage_of
from tests.helpers import signed_in_client
from tests.objectstore import BUCKET
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.uploads.test_tus_server import MIB
from tests.uploads.test_tus_server import finished_file
from tests.uploads.test_tus_server import tus_uploader
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation
from tests.uploads.tus import sha256_hex


@pytest.fixture
def video() -> bytes:
    """Larger than one part (8 MiB), so chunks of 2 MiB wait as pending pieces, then make parts."""
    return minimal_mp4(os.urandom(9 * MIB))


@pytest.fixture
def s3_app(tmp_path, database_url, s3_url):
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
         "SQLALCHEMY_DATABASE_URI": database_url, "STORAGE_URL": s3_url}
    )
    yield app
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


def objects_under(app, s3_server) -> list[str]:
    """Every object under the app's prefix, the pending pieces of resumable uploads included."""
    storage = s3_storage_of(app)
    answer = s3_server.client().list_objects_v2(Bucket=BUCKET, Prefix=storage.object_key("x")[:-1])
    return sorted(item["Key"] for item in answer.get("Contents", []))


def multipart_uploads(app, s3_server) -> list[str]:
    storage = s3_storage_of(app)
    answer = s3_server.client().list_multipart_uploads(Bucket=BUCKET, Prefix=storage.object_key("x")[:-1])
    return [upload["Key"] for upload in answer.get("Uploads", [])]


def test_chunks_under_a_part_wait_in_the_store_and_the_file_is_whole(s3_app, s3_server, tmp_path, video):
    client = signed_in_client(s3_app)
    location = client.post("/api/v1/uploads", headers=creation(len(video), sha256=sha256_hex(video))).headers["Location"]
    assert len(multipart_uploads(s3_app, s3_server)) == 1
    offset = 0
    for start in range(0, len(video), 2 * MIB):
        chunk = video[start : start + 2 * MIB]
        response = client.patch(location, data=chunk, headers=chunk_headers(offset, checksum=chunk))
        assert response.status_code == 204, response.get_json()
        offset += len(chunk)
        if offset < len(video):
            pending = [key for key in objects_under(s3_app, s3_server) if "/.resumable/" in key]
            assert len(pending) == (1 if offset % (8 * MIB) else 0), (offset, pending)
    file = client.get(response.headers["Portal-File-URL"]).get_json()
    assert file["sha256"] == sha256_hex(video)
    assert client.get(file["content_url"]).data == video
    assert [key.rsplit("/", 1)[1] for key in objects_under(s3_app, s3_server)] == [file["id"]]
    assert multipart_uploads(s3_app, s3_server) == []
    assert not (tmp_path / "data" / "files" / ".resumable").exists()


def test_a_damaged_chunk_is_not_kept_in_the_store(s3_app, s3_server, video):
    client = signed_in_client(s3_app)
    location = client.post("/api/v1/uploads", headers=creation(len(video))).headers["Location"]
    assert client.patch(location, data=video[:3 * MIB], headers=chunk_headers(0)).status_code == 204
    before = objects_under(s3_app, s3_server)
    damaged = client.patch(location, data=video[3 * MIB : 9 * MIB], headers=chunk_headers(3 * MIB, checksum=b"x"))
    assert damaged.status_code == 460
    assert objects_under(s3_app, s3_server) == before
    rest = client.patch(location, data=video[3 * MIB :], headers=chunk_headers(3 * MIB))
    assert rest.status_code == 204
    assert client.get(rest.headers["Portal-File-URL"]).get_json()["sha256"] == sha256_hex(video)


def test_cancel_aborts_the_multipart_upload_and_removes_the_pending_piece(s3_app, s3_server, video):
    client = signed_in_client(s3_app)
    location = client.post("/api/v1/uploads", headers=creation(len(video))).headers["Location"]
    client.patch(location, data=video[:MIB], headers=chunk_headers(0))
    assert objects_under(s3_app, s3_server) and multipart_uploads(s3_app, s3_server)
    assert client.delete(location, headers=TUS).status_code == 204
    assert objects_under(s3_app, s3_server) == [] and multipart_uploads(s3_app, s3_server) == []


def test_leftover_removal_spares_unfinished_resumable_uploads(s3_app, s3_server, video):
    client = signed_in_client(s3_app)
    location = client.post("/api/v1/uploads", headers=creation(len(video))).headers["Location"]
    storage = s3_storage_of(s3_app)
    storage.stale_after = timedelta(0)
    result = s3_app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert len(multipart_uploads(s3_app, s3_server)) == 1
    assert client.patch(location, data=video, headers=chunk_headers(0)).status_code == 204


def test_two_server_processes_on_s3_share_an_upload_through_tuspy(tmp_path, database_url, s3_url, video):
    env = {"PORTAL_STORAGE_URL": s3_url, "PORTAL_SQLALCHEMY_DATABASE_URI": database_url}
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", env, processes=2)
    try:
        uploader = tus_uploader(portal, video, chunk_size=2 * MIB, upload_checksum=True)
        uploader.upload(stop_at=4 * MIB)
        # A new uploader (a new connection, whichever process answers) continues from the store.
        resumed = tus_uploader(portal, video, chunk_size=3 * MIB, url=uploader.url)
        assert resumed.offset == 4 * MIB
        resumed.upload()
        assert finished_file(portal, uploader.url)["sha256"] == sha256_hex(video)
        assert not (tmp_path / "data" / "files" / ".resumable").exists()
    finally:
        portal.stop()

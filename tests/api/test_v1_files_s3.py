"""/api/v1 with the bytes in an S3-compatible store (SeaweedFS): same answers, same guarantees."""

from __future__ import annotations

import base64
import hashlib
import os
import sys

import pytest

from portal import create_app
from portal.library.integrity import CorruptionDetected
from tests.helpers import row_count
from tests.helpers import s3_storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.objectstore import BUCKET
from tests.storage.test_s3 import unreachable_client
from tests.support import RunningPortal
from tests.support import minimal_mp4

#: Larger than one multipart part, so uploads and downloads cross part boundaries.
LARGE = 9 * 1024 * 1024


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


@pytest.fixture
def s3_client(s3_app):
    return signed_in_client(s3_app)


@pytest.fixture
def objects(s3_app, s3_server):
    """The objects under the app's prefix, as {key: bytes}."""
    storage = s3_storage_of(s3_app)

    def read() -> dict[str, bytes]:
        client = s3_server.client()
        return {
            key: client.get_object(Bucket=BUCKET, Key=storage.object_key(key))["Body"].read()
            for key in storage.keys()
        }

    return read


def replace_object(s3_app, s3_server, file_id: str, data: bytes) -> None:
    """Change the stored bytes behind the portal's back, as a failing disk or a careless operator would."""
    storage = s3_storage_of(s3_app)
    [key] = [key for key in storage.keys() if key.endswith(file_id)]
    s3_server.client().put_object(Bucket=BUCKET, Key=storage.object_key(key), Body=data)


def test_upload_keeps_the_bytes_in_the_bucket_under_the_id(s3_client, objects):
    data = minimal_mp4(os.urandom(LARGE))
    response = upload(s3_client, data, "big clip.mp4")
    assert response.status_code == 201
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert objects() == {f"original/{body['id'][:2]}/{body['id'][2:4]}/{body['id']}": data}


def test_download_whole_and_in_ranges(s3_client):
    data = minimal_mp4(os.urandom(LARGE))
    body = s3_client.post("/api/v1/files?filename=clip.mp4", data=data, content_type="video/mp4").get_json()
    whole = s3_client.get(body["content_url"])
    assert whole.status_code == 200
    assert whole.get_data() == data
    assert whole.headers["ETag"] == f'"{body["sha256"]}"'
    assert whole.headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    assert whole.headers["Accept-Ranges"] == "bytes"
    for header, expected in [("bytes=0-1", data[:2]), ("bytes=8388600-8388700", data[8388600:8388701]),
                             ("bytes=-100", data[-100:]), (f"bytes={LARGE - 5}-", data[LARGE - 5 :])]:
        response = s3_client.get(body["content_url"], headers={"Range": header})
        assert response.status_code == 206, header
        assert response.get_data() == expected, header
    assert s3_client.get(body["content_url"], headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_a_replaced_object_never_downloads_completely_and_verify_finds_it(s3_app, s3_client, s3_server):
    data = minimal_mp4(os.urandom(100_000))
    body = upload(s3_client, data).get_json()
    assert s3_client.post(body["url"] + "/verify").get_json()["status"] == "ok"
    damaged = bytearray(data)
    damaged[-1] ^= 0xFF
    replace_object(s3_app, s3_server, body["id"], bytes(damaged))
    result = s3_app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"CORRUPT: {body['id']}" in result.output
    assert s3_client.post(body["url"] + "/verify").get_json()["status"] == "corrupt"


def test_a_replaced_object_is_caught_while_downloading(s3_app, s3_client, s3_server):
    data = minimal_mp4(os.urandom(100_000))
    body = upload(s3_client, data).get_json()
    damaged = bytearray(data)
    damaged[50_000] ^= 0xFF
    replace_object(s3_app, s3_server, body["id"], bytes(damaged))
    with pytest.raises(CorruptionDetected):
        s3_client.get(body["content_url"]).get_data()
    assert s3_client.get(body["url"]).get_json()["status"] == "corrupt"
    assert s3_client.get(body["content_url"]).status_code == 409


def test_a_vanished_object_is_reported_missing(s3_app, s3_client, s3_server):
    body = upload(s3_client, minimal_mp4()).get_json()
    storage = s3_storage_of(s3_app)
    [key] = list(storage.keys())
    s3_server.client().delete_object(Bucket=BUCKET, Key=storage.object_key(key))
    assert s3_client.get(body["content_url"]).status_code == 409
    assert s3_client.get(body["url"]).get_json()["status"] == "missing"


def test_delete_then_purge_removes_row_and_object(s3_app, s3_client, objects):
    body = upload(s3_client, minimal_mp4()).get_json()
    assert s3_client.delete(body["url"]).status_code == 204
    assert len(objects()) == 1 and row_count(s3_app) == 1
    assert s3_client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    assert objects() == {}
    assert row_count(s3_app) == 0


def test_failed_uploads_leave_no_object_no_upload_and_no_row(s3_app, s3_client, objects):
    storage = s3_storage_of(s3_app)
    big = minimal_mp4(os.urandom(LARGE))
    assert upload(s3_client, big, sha256="1" * 64).status_code == 422
    assert upload(s3_client, b"not a video" * 1000).status_code == 415
    response = s3_client.post("/api/v1/files?filename=a.mp4", data=big, content_type="video/mp4",
                              headers={"Content-Digest": "sha-256=:" + base64.b64encode(b"x" * 32).decode() + ":"})
    assert response.status_code == 422
    assert objects() == {}
    answer = storage.client.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.prefix + "/")
    assert answer.get("Uploads", []) == []
    assert row_count(s3_app) == 0


def test_healthz_checks_the_bucket(s3_client):
    assert s3_client.get("/healthz").get_json() == {"status": "ok"}


def test_an_unreachable_store_is_503_storage_unavailable(s3_app, s3_client):
    body = upload(s3_client, minimal_mp4()).get_json()
    s3_storage_of(s3_app).client = unreachable_client()
    for response in (
        upload(s3_client, minimal_mp4()),
        s3_client.post("/api/v1/files?filename=a.mp4", data=minimal_mp4(), content_type="video/mp4"),
        s3_client.get(body["content_url"]),
        s3_client.get(body["content_url"], headers={"Range": "bytes=0-1"}),
    ):
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "storage_unavailable"
    assert s3_client.get("/healthz").status_code == 503
    assert row_count(s3_app) == 1
    # A delete moves the video to the trash; a purge removes the row, so the video is gone for good,
    # and the bytes the store could not drop stay behind.
    assert s3_client.delete(body["url"]).status_code == 204
    assert s3_client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    assert row_count(s3_app) == 0


@pytest.mark.server
def test_waitress_serves_ranges_and_whole_files_from_the_store(tmp_path, s3_url, s3_server):
    """The real server path: waitress's wsgi.file_wrapper seeks and reads the object stream."""
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data",
                           {**s3_server.environment(), "PORTAL_STORAGE_URL": s3_url})
    try:
        data = minimal_mp4(os.urandom(3 * 1024 * 1024))
        body = portal.http.post(portal.url + "/api/v1/files?filename=clip.mp4", data=data, timeout=30).json()
        url = body["content_url"]
        whole = portal.http.get(url, timeout=30)
        assert (whole.status_code, whole.content) == (200, data)
        for start in (0, 1, 1024 * 1024 + 3, len(data) - 1):
            tail = portal.http.get(url, headers={"Range": f"bytes={start}-"}, timeout=30)
            assert tail.status_code == 206
            assert tail.headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
            assert tail.content == data[start:]
        middle = portal.http.get(url, headers={"Range": "bytes=1000-2000000"}, timeout=30)
        assert (middle.status_code, middle.content) == (206, data[1000:2000001])
    finally:
        portal.stop()

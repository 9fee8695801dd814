"""tus 1.0.0 at /api/v2/uploads (v1's server, registered under v2), and v2's plain upload with Content-Digest.

Runs on SQLite, and on PostgreSQL under ``PORTAL_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest

from tests.api.v2.test_v2_videos import assert_problem
from tests.support import minimal_mp4
from tests.uploads.tus import CHUNK
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation
from tests.uploads.tus import sha256_hex

PREFIX = "/api/v2/uploads"


@pytest.fixture
def video() -> bytes:
    return minimal_mp4(os.urandom(100_000))


def content_digest(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def test_options_speaks_the_same_tus_as_v1(app):
    v1 = app.test_client().options("/api/v1/uploads")
    v2 = app.test_client().options(PREFIX)
    assert v2.status_code == 204
    names = ("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")
    assert [v2.headers[name] for name in names] == [v1.headers[name] for name in names]


def test_chunks_make_a_video_named_under_v2(client, video):
    created = client.post(PREFIX, headers=creation(len(video), filename="clip.mp4", sha256=sha256_hex(video)))
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    assert location.startswith("http://localhost/api/v2/uploads/") and created.headers["Tus-Resumable"] == "1.0.0"
    first = client.patch(location, data=video[:40_000], headers=chunk_headers(0))
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "40000"
    assert "Portal-Video-URL" not in first.headers
    last = client.patch(location, data=video[40_000:], headers=chunk_headers(40_000))
    assert last.status_code == 204
    video_url = last.headers["Portal-Video-URL"]
    assert "Portal-File-URL" not in last.headers
    body = client.get(video_url).get_json()
    assert video_url == body["links"]["self"] and "/api/v2/videos/" in video_url
    assert body["sha256"] == sha256_hex(video) and body["title"] == "clip"
    head = client.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["Portal-Video-URL"] == video_url


def test_an_upload_made_under_v1_is_the_same_upload_under_v2(client, video):
    location = client.post("/api/v1/uploads", headers=creation(len(video))).headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    assert client.head(f"{PREFIX}/{upload_id}", headers=TUS).headers["Upload-Offset"] == "0"
    assert client.delete(f"{PREFIX}/{upload_id}", headers=TUS).status_code == 204
    assert client.head(location, headers=TUS).status_code == 404


def test_errors_are_problem_details_with_tus_headers(client, video):
    wrong_version = client.post(PREFIX, headers={"Upload-Length": "10"})
    assert_problem(wrong_version, 412, "tus_version")
    assert wrong_version.headers["Tus-Version"] == "1.0.0" and wrong_version.headers["Tus-Resumable"] == "1.0.0"
    location = client.post(PREFIX, data=video[:100], headers={**creation(len(video)), **CHUNK}).headers["Location"]
    assert_problem(client.patch(location, data=video[:10], headers=chunk_headers(0)), 409, "offset_mismatch")
    not_a_chunk = client.patch(location, data=b"x", headers={**TUS, "Upload-Offset": "100", "Content-Type": "text/plain"})
    assert_problem(not_a_chunk, 415, "not_an_upload_chunk")
    missing = client.head(f"{PREFIX}/nope", headers=TUS)
    assert missing.status_code == 404 and missing.headers["Tus-Resumable"] == "1.0.0"
    assert_problem(client.patch(f"{PREFIX}/nope", data=b"x", headers=chunk_headers(0)), 404, "upload_not_found")


def test_a_viewer_cannot_create_an_upload(app):
    from tests.helpers import signed_in_client

    viewer = signed_in_client(app, "vera", "viewer")
    assert_problem(viewer.post(PREFIX, headers=creation(10)), 403, "forbidden")


# --- POST /api/v2/videos with Content-Digest -------------------------------------


def test_a_raw_body_with_its_content_digest_is_stored(client, video):
    response = client.post("/api/v2/videos?filename=raw.mp4", data=video, content_type="video/mp4",
                           headers={"Content-Digest": content_digest(video)})
    assert response.status_code == 201 and response.get_json()["sha256"] == sha256_hex(video)


def test_a_raw_body_that_is_not_its_content_digest_stores_nothing(client, video):
    response = client.post("/api/v2/videos?filename=raw.mp4", data=video, content_type="video/mp4",
                           headers={"Content-Digest": content_digest(b"other bytes")})
    assert_problem(response, 422, "checksum_mismatch")
    assert client.get("/api/v2/videos").get_json()["items"] == []


def test_a_multipart_upload_honours_the_content_digest_of_its_file(client, video):
    wrong = client.post("/api/v2/videos", data={"file": (io.BytesIO(video), "clip.mp4")}, content_type="multipart/form-data",
                        headers={"Content-Digest": content_digest(b"other bytes")})
    assert_problem(wrong, 422, "checksum_mismatch")
    right = client.post("/api/v2/videos", data={"file": (io.BytesIO(video), "clip.mp4")}, content_type="multipart/form-data",
                        headers={"Content-Digest": content_digest(video)})
    assert right.status_code == 201
    assert client.get("/api/v2/videos").get_json()["total"]["value"] == 1


def test_a_sha256_content_digest_of_the_wrong_length_is_a_400_and_another_algorithm_is_not_checked(client, video):
    short = client.post("/api/v2/videos?filename=raw.mp4", data=video, content_type="video/mp4",
                        headers={"Content-Digest": "sha-256=:AAAA:"})
    assert "Content-Digest" in assert_problem(short, 400, "bad_request")["detail"]
    other = client.post("/api/v2/videos?filename=raw.mp4", data=video, content_type="video/mp4",
                        headers={"Content-Digest": "sha-512=:AAAA:"})
    assert other.status_code == 201

"""tus 1.0.0 at /api/v1/uploads, status by status, against the Flask test client (local storage)."""

from __future__ import annotations

import os
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from portal.jobs import jobs_of
from portal.library.models import Video
from portal.uploads import resumable
from portal.uploads.models import ResumableUpload
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.support import minimal_mp4
from tests.uploads.tus import CHUNK
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation
from tests.uploads.tus import sha256_hex

PREFIX = "/api/v1/uploads"


@pytest.fixture
def video() -> bytes:
    return minimal_mp4(os.urandom(200_000))


def create(client, data: bytes, **values: str) -> str:
    response = client.post(PREFIX, headers=creation(len(data), filename="clip.mp4", **values))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"]


def patch(client, location: str, offset: int, data: bytes, **kwargs):
    return client.patch(location, data=data, headers=chunk_headers(offset, **kwargs))


def part_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "files" / ".resumable"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_options_lists_the_version_extensions_limit_and_checksums(app, client):
    response = app.test_client().options(PREFIX)
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,creation-with-upload,termination,expiration,checksum"
    assert response.headers["Tus-Max-Size"] == str(app.config["MAX_CONTENT_LENGTH"])
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_post_creates_an_upload_with_location_and_expiry(client):
    response = client.post(PREFIX, headers=creation(1000, filename="clip.mp4"))
    assert response.status_code == 201
    assert response.headers["Location"].startswith("http://localhost/api/v1/uploads/")
    assert response.headers["Tus-Resumable"] == "1.0.0"
    expires = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert timedelta(hours=23) < expires - datetime.now(timezone.utc) <= timedelta(hours=24)
    head = client.head(response.headers["Location"], headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == "1000"
    assert head.headers["Cache-Control"] == "no-store"
    assert "Portal-File-URL" not in head.headers


def test_chunks_make_a_video_with_its_file_url(app, client, data_dir, video):
    location = create(client, video, sha256=sha256_hex(video))
    first = patch(client, location, 0, video[:70_000])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "70000"
    assert "Upload-Expires" in first.headers and "Portal-File-URL" not in first.headers
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "70000"
    last = patch(client, location, 70_000, video[70_000:])
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == str(len(video))
    file_url = last.headers["Portal-File-URL"]
    file = client.get(file_url).get_json()
    assert file["size"] == len(video) and file["sha256"] == sha256_hex(video) and file["filename"] == "clip.mp4"
    assert client.get(file["content_url"]).data == video
    head = client.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["Portal-File-URL"] == file_url
    assert head.headers["Upload-Offset"] == str(len(video))
    assert part_files(data_dir) == []


def test_creation_with_upload_takes_the_first_chunk(client, video):
    response = client.post(
        PREFIX, data=video[:1000], headers={**creation(len(video), filename="clip.mp4"), **CHUNK}
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "1000"
    rest = patch(client, response.headers["Location"], 1000, video[1000:])
    assert rest.status_code == 204 and "Portal-File-URL" in rest.headers


def test_creation_with_upload_of_the_whole_file_finishes_it(client, video):
    response = client.post(PREFIX, data=video, headers={**creation(len(video)), **CHUNK})
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == str(len(video))
    assert client.get(response.headers["Portal-File-URL"]).get_json()["sha256"] == sha256_hex(video)


def test_wrong_offset_is_409_and_keeps_nothing(client, video):
    location = create(client, video)
    assert patch(client, location, 0, video[:1000]).status_code == 204
    response = patch(client, location, 500, video[500:2000])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "offset_mismatch"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "1000"


def test_another_content_type_is_415(client, video):
    location = create(client, video)
    response = client.patch(
        location, data=video, headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "not_an_upload_chunk"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_chunk_that_does_not_match_its_checksum_is_460_and_not_kept(client, data_dir, video, algorithm):
    location = create(client, video)
    assert patch(client, location, 0, video[:1000], checksum=video[:1000], algorithm=algorithm).status_code == 204
    headers = chunk_headers(1000, b"something else", algorithm)
    response = client.patch(location, data=video[1000:5000], headers=headers)
    assert response.status_code == 460
    assert response.get_json()["error"]["code"] == "chunk_checksum_mismatch"
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "1000"
    [part] = part_files(data_dir)
    assert part.stat().st_size == 1000
    assert patch(client, location, 1000, video[1000:], checksum=video[1000:], algorithm=algorithm).status_code == 204


def test_an_unknown_checksum_algorithm_is_400(client, video):
    location = create(client, video)
    response = client.patch(location, data=video, headers={**chunk_headers(0), "Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400 and "sha1, sha256" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("method", ["post", "head", "patch", "delete"])
def test_a_request_without_tus_resumable_is_412(client, video, method):
    location = create(client, video)
    url = PREFIX if method == "post" else location
    headers = {"Upload-Length": "10", "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    response = getattr(client, method)(url, headers=headers)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    response = getattr(client, method)(url, headers={**headers, "Tus-Resumable": "0.2.2"})
    assert response.status_code == 412


def test_an_upload_over_the_limit_is_413(app, client):
    response = client.post(PREFIX, headers=creation(app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert client.post(PREFIX, headers=creation(app.config["MAX_CONTENT_LENGTH"])).status_code == 201


def test_a_chunk_past_the_length_is_400_and_not_kept(client, video):
    location = create(client, video)
    response = patch(client, location, 0, video + b"extra")
    assert response.status_code == 400
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    "headers",
    [{"Upload-Length": "ten"}, {"Upload-Length": "-1"}, {"Upload-Length": "0"}, {},
     {"Upload-Length": "10", "Upload-Metadata": "filename ***"},
     {"Upload-Length": "10", "Upload-Metadata": "sha256 " + "YWJj"}],
)
def test_a_bad_creation_is_400(client, headers):
    response = client.post(PREFIX, headers={**TUS, **headers})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["message"]


def test_delete_removes_the_upload_and_its_bytes(client, data_dir, video):
    location = create(client, video)
    patch(client, location, 0, video[:1000])
    assert len(part_files(data_dir)) == 1
    response = client.delete(location, headers=TUS)
    assert response.status_code == 204 and response.headers["Tus-Resumable"] == "1.0.0"
    assert part_files(data_dir) == []
    assert client.head(location, headers=TUS).status_code == 404
    assert patch(client, location, 1000, video[1000:]).status_code == 404


def test_not_a_video_is_415_and_the_upload_is_gone(app, client, data_dir):
    data = os.urandom(5000)
    location = create(client, data)
    patch(client, location, 0, data[:2000])
    response = patch(client, location, 2000, data[2000:])
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert client.head(location, headers=TUS).status_code == 404
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_a_wrong_sha256_is_422_and_the_upload_is_gone(app, client, data_dir, video):
    location = create(client, video, sha256="0" * 64)
    response = patch(client, location, 0, video)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "checksum_mismatch" and sha256_hex(video) in error["message"]
    assert client.head(location, headers=TUS).status_code == 404
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_a_full_disk_at_the_end_is_507_and_the_upload_is_gone(app, client, data_dir, video, monkeypatch):
    location = create(client, video)
    patch(client, location, 0, video[:1000])
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("portal.storage.local.os.replace", full)
    response = patch(client, location, 1000, video[1000:])
    assert response.status_code == 507
    assert response.get_json()["error"]["code"] == "insufficient_storage"
    assert client.head(location, headers=TUS).status_code == 404
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_uploads_need_the_upload_scope(app, video):
    reader = signed_in_client(app, "reader", "uploader", scopes=["read"])
    response = reader.post(PREFIX, headers=creation(len(video)))
    assert response.status_code == 403
    assert app.test_client().post(PREFIX, headers=creation(len(video))).status_code == 401


def test_only_the_owner_sees_an_upload(app, client, video):
    location = create(client, video)
    other = signed_in_client(app, "other", "admin")
    assert other.head(location, headers=TUS).status_code == 404
    assert patch(other, location, 0, video).status_code == 404
    assert other.delete(location, headers=TUS).status_code == 404
    assert client.head(location, headers=TUS).headers["Upload-Offset"] == "0"


def test_an_unknown_upload_is_404(client):
    assert client.head(f"{PREFIX}/not-an-id", headers=TUS).status_code == 404
    response = client.head(f"{PREFIX}/3f2504e0-4f89-41d3-9a0c-0305e82c3301", headers=TUS)
    assert response.status_code == 404


def test_the_session_cookie_needs_the_csrf_token(app, client, video):
    browser = client.without_token()
    response = browser.post(PREFIX, headers=creation(len(video)))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"


def test_expired_uploads_are_404_then_removed_by_cleanup(app, client, data_dir, video):
    location = create(client, video)
    patch(client, location, 0, video[:1000])
    upload_id = location.rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.get_one(ResumableUpload, upload_id)
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    assert client.head(location, headers=TUS).status_code == 404
    assert patch(client, location, 1000, video[1000:]).status_code == 404
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0 and "removed 1 expired resumable uploads" in result.output
    assert part_files(data_dir) == []
    with app.app_context():
        assert db.session.get(ResumableUpload, upload_id) is None


def test_a_patch_moves_the_expiry_and_the_periodic_job_removes_expired(app, client, data_dir, video, monkeypatch):
    location = create(client, video)
    later = datetime.now(timezone.utc) + timedelta(hours=10)
    monkeypatch.setattr(resumable, "utcnow", lambda: later)
    response = patch(client, location, 0, video[:1000])
    expires = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert expires > later + timedelta(hours=23, minutes=59)
    monkeypatch.setattr(resumable, "utcnow", lambda: later + timedelta(hours=23))
    [task] = [task for task in jobs_of(app).huey._registry._periodic_tasks if task.__name__ == "remove_expired_uploads"]
    task().execute()
    assert len(part_files(data_dir)) == 1
    monkeypatch.setattr(resumable, "utcnow", lambda: later + timedelta(hours=24, seconds=1))
    task().execute()
    assert part_files(data_dir) == []


def test_unfinished_uploads_survive_a_restart(app, client, data_dir, video):
    location = create(client, video)
    patch(client, location, 0, video[:1000])
    restarted = create_app(dict(app.config))
    again = signed_in_client(restarted, client.username)
    assert again.head(location, headers=TUS).headers["Upload-Offset"] == "1000"
    response = patch(again, location, 1000, video[1000:])
    assert response.status_code == 204
    with restarted.app_context():
        assert db.session.get_one(Video, location.rsplit("/", 1)[1]).sha256 == sha256_hex(video)


def test_a_second_request_on_a_busy_upload_is_423(app, client, video):
    location = create(client, video)
    upload_id = location.rsplit("/", 1)[1]
    with app.app_context():
        row = db.session.get_one(ResumableUpload, upload_id)
        row.locked_until = datetime.now(timezone.utc) + timedelta(seconds=30)
        db.session.commit()
    response = patch(client, location, 0, video)
    assert response.status_code == 423 and response.get_json()["error"]["code"] == "upload_busy"
    with app.app_context():
        row = db.session.get_one(ResumableUpload, upload_id)
        row.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    assert patch(client, location, 0, video).status_code == 204


def test_finished_chunks_are_hashed_again_when_another_process_wrote_some(app, client, video, monkeypatch):
    location = create(client, video, sha256=sha256_hex(video))
    patch(client, location, 0, video[:1000])
    resumable._running.forget(location.rsplit("/", 1)[1])
    response = patch(client, location, 1000, video[1000:])
    assert response.status_code == 204
    assert client.get(response.headers["Portal-File-URL"]).get_json()["sha256"] == sha256_hex(video)


def test_a_refused_first_chunk_of_a_creation_leaves_nothing(app, client, data_dir, video):
    damaged = client.post(
        PREFIX, data=video[:1000], headers={**creation(len(video)), **chunk_headers(0, checksum=b"other")}
    )
    assert damaged.status_code == 460 and "Location" not in damaged.headers
    not_a_video = client.post(PREFIX, data=b"x" * 1000, headers={**creation(1000), **CHUNK})
    assert not_a_video.status_code == 415
    with app.app_context():
        assert db.session.query(ResumableUpload).count() == 0
    assert part_files(data_dir) == [] and stored_files(data_dir) == [] and row_count(app) == 0

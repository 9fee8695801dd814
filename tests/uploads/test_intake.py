"""Upload intake: file parts reach storage only on the views that take uploads, on either backend."""

from __future__ import annotations

import io
import os

import pytest

from portal import create_app
from portal.storage import storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.objectstore import BUCKET
from tests.support import minimal_mp4
from tests.web.conftest import csrf_token

#: Larger than one S3 part (8 MiB), so a part streamed to S3 would have begun a multipart upload;
#: also over the 1 MiB body limit of the routes that take no upload.
LARGE = 9 * 1024 * 1024
#: Under that body limit, so the parser meets the file part itself.
SMALL = 64 * 1024


def counting_creates(app, monkeypatch) -> list[str]:
    """Every key the app's storage began writing, from now on."""
    storage = storage_of(app)
    created: list[str] = []
    real_create = storage.create

    def create(key: str):
        created.append(key)
        return real_create(key)

    monkeypatch.setattr(storage, "create", create)
    return created


def file_form(size: int = LARGE, **fields) -> dict:
    return {**fields, "file": (io.BytesIO(minimal_mp4(os.urandom(size))), "sneaky.mp4")}


def post_file_part_to_every_other_form(client, video_id: str, size: int):
    """The web's delete and verify forms (with a valid CSRF token), and the API's verify and delete."""
    token = csrf_token(client, f"/videos/{video_id}")
    form = "multipart/form-data"
    yield client.post(f"/videos/{video_id}/delete", data=file_form(size, csrf_token=token), content_type=form)
    yield client.post(f"/videos/{video_id}/verify", data=file_form(size, csrf_token=token), content_type=form)
    yield client.post(f"/api/v1/files/{video_id}/verify", data=file_form(size), content_type=form)
    yield client.delete(f"/api/v1/files/{video_id}", data=file_form(size), content_type=form)


def assert_refused_and_nothing_written(app, client, monkeypatch, video_id: str) -> None:
    """A small file part is refused as a file (400); a large one as a body over the route's limit (413)."""
    created = counting_creates(app, monkeypatch)
    for size, status, code, words in ((SMALL, 400, "file_not_accepted", "takes no file"),
                                      (LARGE, 413, "too_large", "only uploads may send more")):
        for response in post_file_part_to_every_other_form(client, video_id, size):
            assert response.status_code == status, (size, response.request.path)
            if response.request.path.startswith("/api/"):
                assert response.get_json()["error"]["code"] == code
            else:
                assert words in response.get_data(as_text=True)
    assert created == []
    # Refused, not done: the video is still there.
    assert client.get(f"/api/v1/files/{video_id}").status_code == 200


def test_a_file_part_on_any_other_form_is_refused_before_it_reaches_the_folder(app, client, data_dir, monkeypatch, video_bytes):
    video_id = upload(client, video_bytes).get_json()["id"]
    files_before = sorted(path for path in (data_dir / "files").rglob("*"))
    assert_refused_and_nothing_written(app, client, monkeypatch, video_id)
    assert sorted(path for path in (data_dir / "files").rglob("*")) == files_before


def test_a_file_part_on_any_other_form_is_refused_before_it_reaches_s3(tmp_path, database_url, s3_url, s3_server, monkeypatch):
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
         "SQLALCHEMY_DATABASE_URI": database_url, "STORAGE_URL": s3_url}
    )
    client = signed_in_client(app)
    video_id = upload(client, minimal_mp4()).get_json()["id"]
    bucket = s3_server.client()
    objects_before = bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount")
    assert_refused_and_nothing_written(app, client, monkeypatch, video_id)
    assert bucket.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount") == objects_before


@pytest.mark.parametrize("path", ["/upload", "/api/v1/files"])
def test_the_upload_views_still_stream_file_parts_into_storage(app, client, monkeypatch, path):
    created = counting_creates(app, monkeypatch)
    fields = {"csrf_token": csrf_token(client)} if path == "/upload" else {}
    response = client.post(path, data=file_form(LARGE, **fields), content_type="multipart/form-data")
    assert response.status_code in (201, 303)
    assert len(created) == 1


def test_a_form_of_plain_fields_still_reaches_the_delete_view(app, client, video_bytes):
    video_id = upload(client, video_bytes).get_json()["id"]
    token = csrf_token(client, f"/videos/{video_id}")
    response = client.post(f"/videos/{video_id}/delete", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert client.get(f"/api/v1/files/{video_id}").status_code == 404

"""Purging removes every stored object of a video, on the local folder and on S3; moving to the trash removes none."""

from __future__ import annotations

from portal.extensions import db
from portal.library.models import Video
from portal.storage import storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.trash.conftest import trash


def stored_keys(app) -> set[str]:
    return set(storage_of(app).keys())


def add_derived_objects(app, video_id: str) -> list[str]:
    """A poster and a playable copy, as processing stores them; every key of the video."""
    with app.app_context():
        keys = db.session.get_one(Video, video_id).stored_keys
    for key in keys[1:]:
        upload_ = storage_of(app).create(key)
        upload_.write(b"derived from " + video_id.encode())
        upload_.commit()
    return keys


def test_purge_removes_the_bytes_the_poster_and_the_copy(storage_app, video_bytes):
    client = signed_in_client(storage_app)
    body = upload(client, video_bytes).get_json()
    other = upload(client, video_bytes, "other.mp4").get_json()
    keys = add_derived_objects(storage_app, body["id"])
    assert set(keys) <= stored_keys(storage_app)
    trash(client, body)
    assert set(keys) <= stored_keys(storage_app)
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    with storage_app.app_context():
        assert stored_keys(storage_app) == {db.session.get_one(Video, other["id"]).storage_key}
    assert client.get(other["content_url"]).get_data() == video_bytes


def test_restore_gives_back_good_bytes(storage_app, video_bytes):
    client = signed_in_client(storage_app)
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    restored = client.post(f"/api/v1/trash/{body['id']}/restore")
    assert restored.status_code == 200
    assert client.post(f"/api/v1/files/{body['id']}/verify").get_json()["status"] == "ok"
    assert client.get(body["content_url"]).get_data() == video_bytes


def test_trashed_objects_are_not_strays(storage_app, video_bytes):
    client = signed_in_client(storage_app)
    body = upload(client, video_bytes).get_json()
    add_derived_objects(storage_app, body["id"])
    trash(client, body)
    result = storage_app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert "no row describes" not in result.output

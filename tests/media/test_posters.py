"""Posters: one still made by the facts job, served with an ETag, shown on the cards and in the player, kept with the video."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from urllib.parse import urlparse

import av
import pytest

from portal import create_app
from portal.extensions import db
from portal.library import integrity
from portal.library.models import StorageKind
from portal.library.models import Video
from portal.library.models import storage_key_for
from portal.media.poster import MAX_WIDTH
from portal.media.poster import make_poster
from portal.storage import storage_of
from portal.storage.local import LocalStorage
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.media.conftest import make_clip

H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="module")
def poster_clips(tmp_path_factory) -> dict[str, Path]:
    """A 720p clip with a key frame every 10 frames (so a seek lands near 10%), and a clip of one frame."""
    folder = tmp_path_factory.mktemp("poster-clips")
    return {
        "wide": make_clip(folder / "wide.mp4", *H264, "-g", "10", seconds=4, size="1280x720", audio=False),
        "one_frame": make_clip(folder / "one_frame.mp4", *H264, seconds=0.04, audio=False),
    }


def immediate_portal(tmp_path: Path, database_url: str, **settings):
    return create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "QUEUE_IMMEDIATE": True,
            "JOB_RETRY_DELAY": 0,
            **settings,
        }
    )


@pytest.fixture
def portal_app(tmp_path, database_url):
    app = immediate_portal(tmp_path, database_url)
    yield app
    with app.app_context():
        db.engine.dispose()


def stored(client, path: Path) -> dict:
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 201, response.json
    return client.get(response.json["url"]).json


def poster_url(body: dict) -> str:
    return urlparse(body["url"]).path + "/poster"


def picture_of(jpeg: bytes) -> tuple[str, int, int]:
    """The format FFmpeg reads ``jpeg`` as, and the size of the picture it decodes."""
    with av.open(io.BytesIO(jpeg), mode="r") as container:
        frame = next(container.decode(video=0))
        return container.format.name, frame.width, frame.height


def test_a_poster_is_a_jpeg_at_a_tenth_of_the_video_at_most_640_wide(poster_clips):
    clip = poster_clips["wide"]
    poster = make_poster(lambda: clip.open("rb"), duration=4.0)
    assert poster.time == pytest.approx(0.4, abs=0.05)
    assert (poster.width, poster.height) == (MAX_WIDTH, 360)
    assert poster.jpeg[:3] == b"\xff\xd8\xff"
    assert picture_of(poster.jpeg) == ("jpeg_pipe", 640, 360)


def test_a_clip_shorter_than_its_stated_duration_gets_its_first_picture(poster_clips):
    clip = poster_clips["one_frame"]
    # Headers that claim 100 s: the seek to 10 s finds nothing after it, so the first picture is taken.
    poster = make_poster(lambda: clip.open("rb"), duration=100.0)
    assert picture_of(poster.jpeg) == ("jpeg_pipe", 320, 240)


def test_a_video_of_unknown_duration_gets_its_first_picture(poster_clips):
    clip = poster_clips["wide"]
    assert make_poster(lambda: clip.open("rb"), duration=None).time == 0.0


def test_the_job_makes_the_poster_and_the_api_serves_it_with_its_etag(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["wide"])
    assert body["processing"] == {"state": "done", "error": None}
    response = client.get(poster_url(body))
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["ETag"] == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert picture_of(response.data)[1:] == (640, 360)
    with portal_app.app_context():
        key = storage_key_for(body["id"], StorageKind.POSTER)
        with storage_of(portal_app).open(key) as kept:
            assert kept.read() == response.data

    again = client.get(poster_url(body), headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == response.headers["ETag"]
    assert client.get(poster_url(body), headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_one_frame_clip_gets_a_poster_and_is_done(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    assert body["processing"] == {"state": "done", "error": None}
    assert picture_of(client.get(poster_url(body)).data) == ("jpeg_pipe", 320, 240)


def test_no_poster_until_the_video_is_processed(app, poster_clips):
    client = signed_in_client(app)
    body = stored(client, poster_clips["one_frame"])
    assert body["processing"]["state"] == "queued"
    response = client.get(poster_url(body))
    assert response.status_code == 404
    assert json_body(response)["error"]["code"] == "poster_not_found"
    assert "no poster yet" in json_body(response)["error"]["message"]
    missing = client.get("/api/v1/files/00000000-0000-4000-8000-000000000000/poster")
    assert json_body(missing)["error"]["code"] == "not_found"
    page = client.get("/").get_data(as_text=True)
    assert "video-card__image" not in page, "the gradient card stands in while processing"


def test_a_visitor_sees_the_poster_only_with_public_viewing(tmp_path, database_url, poster_clips):
    private = immediate_portal(tmp_path / "private", database_url)
    body = stored(signed_in_client(private), poster_clips["one_frame"])
    refused = private.test_client().get(poster_url(body))
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "unauthorized"
    assert private.test_client().get(f"/videos/{body['id']}/poster").status_code in (302, 401)
    with private.app_context():
        db.engine.dispose()

    # The same library (one database keeps its bytes in one storage: identical uploads share an object).
    public = immediate_portal(tmp_path / "private", database_url, PUBLIC_VIEWING=True)
    body = stored(signed_in_client(public), poster_clips["one_frame"])
    visitor = public.test_client()
    assert visitor.get(poster_url(body)).mimetype == "image/jpeg"
    assert visitor.get(f"/videos/{body['id']}/poster").mimetype == "image/jpeg"
    with public.app_context():
        db.engine.dispose()


def test_the_library_card_shows_the_poster_and_duration_and_the_player_uses_it(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["wide"])
    library = client.get("/").get_data(as_text=True)
    assert f'<img class="video-card__image" src="/videos/{body["id"]}/poster"' in library
    assert '<span class="video-card__duration">0:04</span>' in library
    assert client.get(f"/videos/{body['id']}/poster").mimetype == "image/jpeg"
    page = client.get(f"/videos/{body['id']}").get_data(as_text=True)
    assert f'poster="/videos/{body["id"]}/poster"' in page


def test_a_share_link_has_a_poster_of_its_own(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    share = json_body(client.post(f"/api/v1/files/{body['id']}/shares", json={}))
    path = urlparse(share["url"]).path
    visitor = portal_app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    assert f'poster="{path}/poster"' in page
    response = visitor.get(f"{path}/poster")
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-store"
    client.delete(f"/api/v1/shares/{share['id']}")
    assert visitor.get(f"{path}/poster").status_code == 404


def poster_keys(app) -> list[str]:
    with app.app_context():
        return [key for key in storage_of(app).keys() if key.startswith("poster/")]


def test_purging_a_video_deletes_its_poster(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    assert poster_keys(portal_app) == [storage_key_for(body["id"], StorageKind.POSTER)]
    assert client.delete(body["url"]).status_code == 204
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    assert poster_keys(portal_app) == []


@pytest.mark.s3
def test_purging_a_video_deletes_its_poster_from_the_object_store(tmp_path, database_url, s3_url, poster_clips):
    app = immediate_portal(tmp_path, database_url, STORAGE_URL=s3_url)
    client = signed_in_client(app)
    body = stored(client, poster_clips["one_frame"])
    assert client.get(poster_url(body)).mimetype == "image/jpeg"
    assert poster_keys(app) == [storage_key_for(body["id"], StorageKind.POSTER)]
    assert client.delete(body["url"]).status_code == 204
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    assert poster_keys(app) == []
    with app.app_context():
        db.engine.dispose()


def test_a_live_videos_poster_is_no_stray_and_a_deleted_ones_is(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    with portal_app.app_context():
        assert integrity.stray_keys() == []
        # The row goes without its files, as when a delete's storage step could not reach the store.
        db.session.execute(db.delete(Video).where(Video.id == body["id"]))
        db.session.commit()
        assert storage_key_for(body["id"], StorageKind.POSTER) in integrity.stray_keys()


def test_move_storage_carries_the_poster_and_refuses_a_damaged_one(portal_app, poster_clips, tmp_path):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    key = storage_key_for(body["id"], StorageKind.POSTER)
    poster = client.get(poster_url(body)).data
    target = tmp_path / "moved"
    result = portal_app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert result.exit_code == 0, result.output
    assert (target / key).read_bytes() == poster

    (target / key).unlink()
    local = storage_of(portal_app)
    assert isinstance(local, LocalStorage)
    local.path(key).write_bytes(b"\xff\xd8\xff damaged")
    again = portal_app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert again.exit_code == 0, again.output
    assert not (target / key).exists(), "a poster that does not match its SHA-256 is not copied"


def test_the_posters_answers_match_the_document(portal_app, poster_clips):
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    document = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    schema.app = portal_app
    operation = schema["/api/v1/files/{video_id}/poster"]["GET"]
    bearer = {"Authorization": f"Bearer {client.token}"}
    answer = operation.Case(path_parameters={"video_id": body["id"]}).call_and_validate(headers=bearer)
    assert answer.status_code == 200
    etag = f'"{hashlib.sha256(answer.content).hexdigest()}"'
    conditional = operation.Case(path_parameters={"video_id": body["id"]}, headers={"If-None-Match": etag})
    assert conditional.call_and_validate(headers=bearer).status_code == 304


def test_processing_again_makes_a_lost_poster_again(portal_app, poster_clips):
    client = signed_in_client(portal_app)
    body = stored(client, poster_clips["one_frame"])
    poster = client.get(poster_url(body)).data
    with portal_app.app_context():
        storage_of(portal_app).delete(storage_key_for(body["id"], StorageKind.POSTER))
    assert json_body(client.get(poster_url(body)))["error"]["code"] == "poster_not_found"
    assert client.post(body["url"] + "/process").status_code == 202
    assert client.get(poster_url(body)).data == poster

"""What the job does for each upload, run at once (``QUEUE_IMMEDIATE``): facts, failures, retries, permissions."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.jobs import jobs_of
from portal.library.models import Video
from portal.storage import StorageUnavailable
from portal.storage import storage_of
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload


def stored(client, path, name=None):
    response = upload(client, path.read_bytes(), name or path.name)
    assert response.status_code == 201, response.json
    return response.json


def test_an_upload_gets_its_facts_from_a_job(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = json_body(client.get(stored(client, clips["h264_aac"])["url"]))
    assert body["processing"] == {"state": "done", "error": None}
    assert body["media"] == {
        "duration": pytest.approx(2.0, abs=0.05),
        "width": 320,
        "height": 240,
        "video_codec": "h264",
        "audio_codec": "aac",
        "audio_tracks": [{"codec": "aac", "language": None, "channels": 1}],
        "frame_rate": 25.0,
        "bit_rate": body["media"]["bit_rate"],
        "container": "mp4",
    }
    assert body["media"]["bit_rate"] > 0


def test_an_upload_waits_queued_with_no_facts_until_a_consumer_runs_its_job(app, clips):
    client = signed_in_client(app)
    body = stored(client, clips["h264_aac"])
    assert body["processing"] == {"state": "queued", "error": None}
    assert body["media"] is None
    assert jobs_of(app).huey.pending_count() == 1


def test_an_undecodable_file_fails_with_a_reason_and_stays_downloadable(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = json_body(client.get(stored(client, clips["corrupt"], "broken.mp4")["url"]))
    assert body["processing"]["state"] == "failed"
    assert "No picture of the h264 video stream could be decoded" in body["processing"]["error"]
    assert body["media"] is None
    download = client.get(body["content_url"])
    assert download.status_code == 200
    assert download.data == clips["corrupt"].read_bytes()
    page = client.get(f"/videos/{body['id']}").get_data(as_text=True)
    assert 'data-processing-state="failed"' in page
    assert "No picture of the h264 video stream could be decoded" in page
    assert f'action="/videos/{body["id"]}/process"' in page


def test_try_again_on_the_page_queues_the_processing_for_the_owner_only(app, clips):
    from tests.web.conftest import csrf_token

    owner = signed_in_client(app, "owner", role="uploader")
    other = signed_in_client(app, "other", role="uploader")
    video_id = stored(owner, clips["no_audio"])["id"]
    with app.app_context():
        db.session.execute(db.update(Video).values(processing_state="failed", processing_error="it broke"))
        db.session.commit()
    page = f"/videos/{video_id}"
    assert "Try again" in owner.get(page).get_data(as_text=True)
    assert "Try again" not in other.get(page).get_data(as_text=True)
    refused = other.post(f"{page}/process", data={"csrf_token": csrf_token(other, page)})
    assert refused.status_code == 403
    response = owner.post(f"{page}/process", data={"csrf_token": csrf_token(owner, page)})
    assert response.status_code == 303
    assert json_body(owner.get(f"/api/v1/files/{video_id}"))["processing"] == {"state": "queued", "error": None}
    assert jobs_of(app).huey.pending_count() == 2


def test_the_video_page_shows_the_facts(immediate_app, clips):
    client = signed_in_client(immediate_app)
    page = client.get(f"/videos/{stored(client, clips['vp9_opus'])['id']}").get_data(as_text=True)
    for shown in ("0:02", "320 × 240", "vp9, opus", "in webm", "25 fps", "kbit/s", 'data-processing-state="done"'):
        assert shown in page


class FlakyStore:
    """The app's storage, whose first ``failures`` opens fail as an unreachable store does."""

    def __init__(self, storage, failures: int) -> None:
        self.storage = storage
        self.failures = failures
        self.opens = 0

    def __getattr__(self, name):
        return getattr(self.storage, name)

    def open(self, key):
        self.opens += 1
        if self.opens <= self.failures:
            raise StorageUnavailable("the store did not answer")
        return self.storage.open(key)


def flaky(app, failures: int, monkeypatch) -> FlakyStore:
    store = FlakyStore(storage_of(app), failures)
    monkeypatch.setitem(app.extensions, "portal.storage", store)
    return store


def test_a_job_failing_for_a_passing_reason_is_tried_again(immediate_app, clips, monkeypatch):
    client = signed_in_client(immediate_app)
    store = flaky(immediate_app, failures=1, monkeypatch=monkeypatch)
    body = json_body(client.get(stored(client, clips["no_audio"])["url"]))
    # The refused probe, the probe tried again, then the poster's read.
    assert store.opens == 3
    assert body["processing"] == {"state": "done", "error": None}
    assert body["media"]["video_codec"] == "h264"


def test_a_job_that_keeps_failing_for_a_passing_reason_gives_up_and_says_so(immediate_app, clips, monkeypatch):
    client = signed_in_client(immediate_app)
    store = flaky(immediate_app, failures=99, monkeypatch=monkeypatch)
    body = json_body(client.get(stored(client, clips["no_audio"])["url"]))
    assert store.opens == 1 + immediate_app.config["JOB_RETRIES"]
    assert body["processing"]["state"] == "failed"
    assert "gave up after several tries: the store did not answer" in body["processing"]["error"]


def test_a_missing_file_fails_with_what_to_do(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["no_audio"])
    with immediate_app.app_context():
        storage_of(immediate_app).delete(db.session.get_one(Video, body["id"]).storage_key)
    processed = client.post(body["url"] + "/process")
    assert processed.status_code == 202
    assert json_body(client.get(body["url"]))["processing"] == {
        "state": "failed",
        "error": "The stored file is missing: restore it from a backup, then try again.",
    }


def test_the_job_of_a_deleted_video_does_nothing(app, clips):
    client = signed_in_client(app)
    body = stored(client, clips["no_audio"])
    assert client.delete(body["url"]).status_code == 204
    huey = jobs_of(app).huey
    huey.execute(huey.dequeue())
    assert huey.pending_count() == 0


def test_an_upload_is_stored_even_when_the_queue_is_unreachable_and_backfill_queues_it(app, clips, monkeypatch):
    client = signed_in_client(app)
    jobs = jobs_of(app)

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(jobs.huey, "enqueue", unreachable)
    body = stored(client, clips["no_audio"])
    assert body["processing"]["state"] == "queued"
    monkeypatch.undo()
    assert jobs.huey.pending_count() == 0
    result = app.test_cli_runner().invoke(args=["jobs", "backfill"])
    assert result.exit_code == 0, result.output
    assert "queued 1 videos" in result.output
    assert jobs.huey.pending_count() == 1


def test_try_again_is_for_the_owner_or_an_admin(app, clips):
    owner = signed_in_client(app, "owner", role="uploader")
    other = signed_in_client(app, "other", role="uploader")
    viewer = signed_in_client(app, "viewer", role="viewer")
    admin = signed_in_client(app, "boss", role="admin")
    url = stored(owner, clips["no_audio"])["url"] + "/process"
    refused = other.post(url)
    assert refused.status_code == 403
    assert "Only the video's owner (owner) or an admin may process it" in json_body(refused)["error"]["message"]
    assert viewer.post(url).status_code == 403
    for allowed in (owner, admin):
        response = allowed.post(url)
        assert response.status_code == 202
        assert json_body(response)["processing"] == {"state": "queued", "error": None}
    assert app.test_client().post(url).status_code == 401


def test_the_listing_sorts_by_duration_with_unprobed_videos_last(immediate_app, clips, monkeypatch):
    client = signed_in_client(immediate_app)
    stored(client, clips["moov_at_end"], "long.mp4")
    stored(client, clips["no_audio"], "short.mp4")
    monkeypatch.setattr(jobs_of(immediate_app).huey, "enqueue", lambda *_args, **_kwargs: None)
    stored(client, clips["h264_aac"], "unprobed.mp4")
    names = {
        sort: [item["filename"] for item in json_body(client.get(f"/api/v1/files?sort={sort}"))["items"]]
        for sort in ("duration", "-duration")
    }
    assert names == {
        "duration": ["short.mp4", "long.mp4", "unprobed.mp4"],
        "-duration": ["long.mp4", "short.mp4", "unprobed.mp4"],
    }

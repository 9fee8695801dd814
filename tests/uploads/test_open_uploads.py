"""At most PORTAL_MAX_OPEN_UPLOADS unfinished tus uploads per user; their announced lengths count against the quota."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest

from portal import create_app
from portal.extensions import db
from portal.library.models import utcnow
from portal.uploads.models import ResumableUpload
from tests.helpers import signed_in_client
from tests.support import minimal_mp4
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation

PREFIX = "/api/v1/uploads"


@pytest.fixture
def limited(app):
    """A second app on the test's database and data folder, holding ``limit`` open uploads per user."""
    made = []

    def make(limit: int):
        other = create_app({
            "TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "MAX_OPEN_UPLOADS": limit,
        })
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def open_count(app) -> int:
    with app.app_context():
        query = db.select(db.func.count()).select_from(ResumableUpload).where(ResumableUpload.video_id.is_(None))
        return int(db.session.scalar(query) or 0)


def test_the_21st_unfinished_upload_is_429_saying_how_many_are_open_and_how_to_end_them(app, client):
    assert app.config["MAX_OPEN_UPLOADS"] == 20
    for _ in range(20):
        assert client.post(PREFIX, headers=creation(4 * 1024**3)).status_code == 201
    refused = client.post(PREFIX, headers=creation(1000, filename="one-more.mp4"))
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_open_uploads"
    assert "You have 20 unfinished uploads" in error["message"]
    assert "PORTAL_MAX_OPEN_UPLOADS is 20" in error["message"]
    assert "DELETE" in error["message"] and "expires (24 hours after its last chunk)" in error["message"]
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600 + 1
    assert refused.headers["Tus-Resumable"] == "1.0.0"
    assert open_count(app) == 20, "the refused creation left no row"


def test_cancelling_finishing_or_expiring_one_makes_room_again(limited):
    limited = limited(2)
    client = signed_in_client(limited)
    video = minimal_mp4(os.urandom(5000))
    first = client.post(PREFIX, headers=creation(len(video))).headers["Location"]
    second = client.post(PREFIX, headers=creation(1000)).headers["Location"]
    assert client.post(PREFIX, headers=creation(1000)).status_code == 429
    assert client.delete(second, headers=TUS).status_code == 204
    third = client.post(PREFIX, headers=creation(1000))
    assert third.status_code == 201
    assert client.patch(first, data=video, headers=chunk_headers(0)).status_code == 204  # finished: a video now
    assert client.post(PREFIX, headers=creation(1000)).status_code == 201
    assert client.post(PREFIX, headers=creation(1000)).status_code == 429
    with limited.app_context():
        db.session.execute(db.update(ResumableUpload).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.post(PREFIX, headers=creation(1000)).status_code == 201
    other = signed_in_client(limited, "other", role="uploader")
    assert other.post(PREFIX, headers=creation(1000)).status_code == 201, "the limit is per user"


def test_a_bad_limit_is_refused_at_start_up(tmp_path):
    for value in (0, -1, "many", True, 2.5):
        with pytest.raises(ValueError, match="PORTAL_MAX_OPEN_UPLOADS must be a whole number of uploads, 1 or more"):
            create_app({"DATA_DIR": str(tmp_path), "MAX_OPEN_UPLOADS": value})


def test_racing_creations_never_hold_more_than_the_limit(limited):
    limited = limited(3)
    client = signed_in_client(limited)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        statuses.append(client.post(PREFIX, headers=creation(1000)).status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 429}
    assert statuses.count(201) <= 3
    assert open_count(limited) == statuses.count(201) <= 3


def test_announced_lengths_still_count_against_the_quota(app, client):
    with app.app_context():
        from portal.accounts.service import get_user
        from portal.uploads import quota

        quota.set_quota("tester", "10000")
        assert client.post(PREFIX, headers=creation(6000)).status_code == 201
        assert quota.usage_of(get_user("tester")) == 6000
    refused = client.post(PREFIX, headers=creation(6000))
    assert refused.status_code == 413
    assert refused.get_json()["error"]["code"] == "quota_exceeded"

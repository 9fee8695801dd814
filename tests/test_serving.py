"""When a range of the whole file ("bytes=0-", how players open a video) is hashed, and when not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.http import delivery
from portal.library import integrity
from tests.helpers import stored_files
from tests.helpers import upload


@pytest.fixture
def no_slack(monkeypatch):
    """Trust change times to the tick, so a test need not wait a second between steps."""
    monkeypatch.setattr(integrity, "CHANGE_TIME_SLACK", timedelta(0))


@pytest.fixture
def hashed_sends(monkeypatch) -> list[str]:
    """The ids of the videos whose bytes a send hashed."""
    calls: list[str] = []
    original = delivery.verified_content

    def counting(video, *args, **kwargs):
        calls.append(video.id)
        return original(video, *args, **kwargs)

    monkeypatch.setattr(delivery, "verified_content", counting)
    return calls


def whole_range(client, body):
    return client.get(body["content_url"], headers={"Range": "bytes=0-"})


def test_whole_range_of_a_file_unchanged_since_upload_is_not_hashed_again(client, video_bytes, no_slack, hashed_sends):
    body = upload(client, video_bytes).get_json()
    response = whole_range(client, body)
    assert response.status_code == 206
    assert response.get_data() == video_bytes
    assert hashed_sends == []


def test_whole_range_just_after_upload_is_hashed_within_the_slack(client, video_bytes, hashed_sends):
    body = upload(client, video_bytes).get_json()
    assert whole_range(client, body).get_data() == video_bytes
    assert hashed_sends == [body["id"]]


def test_a_file_written_behind_the_portals_back_is_hashed_and_refused(client, data_dir, video_bytes, no_slack, hashed_sends):
    body = upload(client, video_bytes).get_json()
    [path] = [p for p in stored_files(data_dir) if p.name == body["id"]]
    damaged = bytearray(video_bytes)
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(integrity.CorruptionDetected):
        whole_range(client, body).get_data()
    assert hashed_sends == [body["id"]]
    assert client.get(body["url"]).get_json()["status"] == "corrupt"


def test_a_rewritten_but_intact_file_is_hashed_once_then_sent_directly(client, data_dir, video_bytes, no_slack, hashed_sends):
    body = upload(client, video_bytes).get_json()
    [path] = [p for p in stored_files(data_dir) if p.name == body["id"]]
    path.write_bytes(video_bytes)
    assert whole_range(client, body).get_data() == video_bytes
    assert whole_range(client, body).get_data() == video_bytes
    assert hashed_sends == [body["id"]]


def test_a_whole_download_without_range_is_always_hashed(client, video_bytes, no_slack, hashed_sends):
    body = upload(client, video_bytes).get_json()
    assert client.get(body["content_url"]).get_data() == video_bytes
    assert client.get(body["content_url"]).get_data() == video_bytes
    assert hashed_sends == [body["id"], body["id"]]

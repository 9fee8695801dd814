"""Fixtures of the trash's tests: users of each role, and their videos."""

from __future__ import annotations

import pytest

from tests.helpers import signed_in_client
from tests.helpers import upload


@pytest.fixture
def uma(app):
    """An uploader, with a token of every scope her role allows."""
    return signed_in_client(app, "uma", role="uploader")


@pytest.fixture
def ulf(app):
    """Another uploader."""
    return signed_in_client(app, "ulf", role="uploader")


@pytest.fixture
def vic(app):
    """A viewer."""
    return signed_in_client(app, "vic", role="viewer")


@pytest.fixture
def umas_video(uma, video_bytes) -> dict:
    return upload(uma, video_bytes, "umas.mp4").get_json()


def trash(client, video: dict):
    """Delete ``video`` (to the trash), checking it went."""
    response = client.delete(video["url"])
    assert response.status_code == 204, response.get_data(as_text=True)
    return response

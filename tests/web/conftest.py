"""Helpers for the web pages: read a page's CSRF token, post the upload form, seed videos."""

from __future__ import annotations

import io
import re

import pytest

from tests.helpers import upload

_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/upload") -> str:
    """The token a person gets by opening ``path``, as the browser would send it back."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    match = _CSRF_INPUT.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_upload(client, files: list[tuple[bytes, str]], token: str | None = "fetch", headers=None):
    """Send the upload form as a browser does: the token field, then the files in ``file``."""
    data: dict[str, object] = {"file": [(io.BytesIO(content), name) for content, name in files]}
    if token == "fetch":
        token = csrf_token(client)
    if token is not None:
        data["csrf_token"] = token
    return client.post("/upload", data=data, content_type="multipart/form-data", headers=headers or {})


def add_video(client, content: bytes, filename: str = "clip.mp4") -> dict:
    """Put a video in the library (through the API, whose own tests cover it)."""
    response = upload(client, content, filename)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def stored(client, video_bytes) -> dict:
    return add_video(client, video_bytes, "holiday.mp4")

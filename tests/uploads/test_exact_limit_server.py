"""A file of exactly ``PORTAL_MAX_CONTENT_LENGTH`` bytes is accepted on every path through waitress; one byte more is 413.

Behind waitress (which ends each body itself) Werkzeug caps the body's stream
at the request's limit and raises when a read reaches the cap, so a raw body or a
tus PATCH of exactly the limit was refused, with the multipart message. In
process the test client never showed it: these run against ``python wsgi.py``.
"""

from __future__ import annotations

import sys

import pytest

from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation

LIMIT = 64 * 1024
TOO_LARGE = f"larger than the limit of 64.0 KiB ({LIMIT} bytes)"


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limit")
    running = RunningPortal([sys.executable, "wsgi.py"], folder / "data", {"PORTAL_MAX_CONTENT_LENGTH": str(LIMIT)},
                            log_path=folder / "portal.log")
    yield running
    running.stop()


def video_of(size: int) -> bytes:
    """An MP4 of exactly ``size`` bytes."""
    padding = size - len(minimal_mp4(b""))
    data = minimal_mp4(bytes(padding))
    data = minimal_mp4(bytes(padding - (len(data) - size)))
    assert len(data) == size
    return data


def raw_v1(portal, data: bytes):
    return portal.http.post(f"{portal.url}/api/v1/files", params={"filename": "raw.mp4"}, data=data,
                            headers={"Content-Type": "video/mp4"}, timeout=30)


def raw_v2(portal, data: bytes):
    return portal.http.post(f"{portal.url}/api/v2/videos", params={"filename": "raw.mp4"}, data=data,
                            headers={"Content-Type": "video/mp4"}, timeout=30)


def chunked(portal, data: bytes):
    pieces = (data[start : start + 10_000] for start in range(0, len(data), 10_000))
    return portal.http.post(f"{portal.url}/api/v1/files", params={"filename": "chunked.mp4"}, data=pieces, timeout=30)


def multipart(portal, data: bytes):
    return portal.http.post(f"{portal.url}/api/v1/files", files={"file": ("form.mp4", data)}, timeout=30)


PATHS = {"raw v1": raw_v1, "raw v2": raw_v2, "chunked": chunked, "multipart": multipart}


@pytest.mark.parametrize("path", PATHS)
def test_exactly_the_limit_is_stored_and_one_byte_more_is_413_naming_it(portal, path):
    send = PATHS[path]
    data = video_of(LIMIT)
    stored = send(portal, data)
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == LIMIT
    refused = send(portal, video_of(LIMIT + 1))
    assert refused.status_code == 413, refused.text
    assert TOO_LARGE in refused.text


def test_a_tus_patch_of_exactly_the_limit_finishes_the_upload(portal):
    data = video_of(LIMIT)
    created = portal.http.post(f"{portal.url}/api/v1/uploads", headers=creation(LIMIT, filename="tus.mp4"), timeout=30)
    assert created.status_code == 201, created.text
    patched = portal.http.patch(created.headers["Location"], data=data, headers=chunk_headers(0), timeout=30)
    assert patched.status_code == 204, patched.text
    assert patched.headers["Upload-Offset"] == str(LIMIT)
    assert portal.http.get(patched.headers["Portal-File-URL"], timeout=30).json()["size"] == LIMIT
    over = portal.http.post(f"{portal.url}/api/v1/uploads", headers=creation(LIMIT + 1), timeout=30)
    assert over.status_code == 413 and str(LIMIT) in over.text, over.text

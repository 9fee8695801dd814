"""tus against a real ``python wsgi.py``: the protocol over HTTP, tuspy as a client, restarts and two processes."""

from __future__ import annotations

import hashlib
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from tusclient import client as tus_client

from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.uploads.tus import TUS
from tests.uploads.tus import chunk_headers
from tests.uploads.tus import creation
from tests.uploads.tus import sha256_hex

#: Every test here starts `python wsgi.py`.
pytestmark = pytest.mark.server

MIB = 1024 * 1024


@pytest.fixture
def video() -> bytes:
    return minimal_mp4(os.urandom(3 * MIB))


@pytest.fixture
def database(database_url: str) -> dict[str, str]:
    """The child servers' database: SQLite in the data folder, or PostgreSQL with PORTAL_TEST_DATABASE_URL."""
    return {"PORTAL_SQLALCHEMY_DATABASE_URI": database_url}


@pytest.fixture
def portal(tmp_path: Path, database):
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", database)
    yield running
    running.stop()


def tus_uploader(portal: RunningPortal, data: bytes, chunk_size: int, **kwargs):
    tus = tus_client.TusClient(f"{portal.url}/api/v1/uploads", headers=portal.auth_headers)
    return tus.uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk_size,
        metadata={"filename": "clip.mp4", "sha256": sha256_hex(data)}, **kwargs,
    )


def finished_file(portal: RunningPortal, location: str) -> dict:
    head = portal.http.head(location, headers=TUS)
    assert head.status_code == 200, head.text
    return portal.http.get(head.headers["Portal-File-URL"]).json()


def test_the_protocol_status_by_status_over_http(portal, video):
    http = portal.http
    options = requests.options(f"{portal.url}/api/v1/uploads")
    assert options.status_code == 204 and options.headers["Tus-Version"] == "1.0.0"
    assert options.headers["Tus-Extension"] == "creation,creation-with-upload,termination,expiration,checksum"
    created = http.post(f"{portal.url}/api/v1/uploads", headers=creation(len(video), filename="clip.mp4"))
    assert created.status_code == 201 and "Upload-Expires" in created.headers
    location = created.headers["Location"]
    assert location.startswith(portal.url)
    assert http.head(location).status_code == 412
    head = http.head(location, headers=TUS)
    assert (head.status_code, head.headers["Upload-Offset"], head.headers["Cache-Control"]) == (200, "0", "no-store")
    first = http.patch(location, data=video[:MIB], headers=chunk_headers(0, checksum=video[:MIB]))
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(MIB)
    assert http.patch(location, data=video[MIB:], headers=chunk_headers(0)).status_code == 409
    wrong_type = {**chunk_headers(MIB), "Content-Type": "video/mp4"}
    assert http.patch(location, data=video[MIB:], headers=wrong_type).status_code == 415
    damaged = http.patch(location, data=video[MIB:], headers=chunk_headers(MIB, checksum=b"other"))
    assert damaged.status_code == 460 and damaged.json()["error"]["code"] == "chunk_checksum_mismatch"
    last = http.patch(location, data=video[MIB:], headers=chunk_headers(MIB))
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(video))
    file = http.get(last.headers["Portal-File-URL"]).json()
    assert file["sha256"] == sha256_hex(video)
    assert hashlib.sha256(http.get(file["content_url"]).content).hexdigest() == sha256_hex(video)
    other = http.post(f"{portal.url}/api/v1/uploads", headers=creation(len(video))).headers["Location"]
    assert http.delete(other, headers=TUS).status_code == 204
    assert http.head(other, headers=TUS).status_code == 404


def test_tuspy_uploads_in_chunks_with_checksums(portal, video):
    uploader = tus_uploader(portal, video, chunk_size=MIB, upload_checksum=True)
    uploader.upload()
    file = finished_file(portal, uploader.url)
    assert (file["filename"], file["size"], file["sha256"]) == ("clip.mp4", len(video), sha256_hex(video))


def test_tuspy_resumes_after_a_portal_restart_between_two_patches(tmp_path, database, video):
    first = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", database)
    try:
        uploader = tus_uploader(first, video, chunk_size=MIB)
        uploader.upload(stop_at=2 * MIB)
        path = uploader.url.removeprefix(first.url)
        assert first.http.head(uploader.url, headers=TUS).headers["Upload-Offset"] == str(2 * MIB)
    finally:
        first.stop()
    restarted = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", database)
    try:
        location = restarted.url + path  # the same upload; the restarted server has another port
        resumed = tus_uploader(restarted, video, chunk_size=MIB, url=location)
        assert resumed.offset == 2 * MIB
        resumed.upload()
        assert finished_file(restarted, location)["sha256"] == sha256_hex(video)
    finally:
        restarted.stop()


def test_a_sha256_that_does_not_match_is_422_over_http_and_the_upload_is_gone(portal, video):
    http = portal.http
    headers = creation(len(video), filename="clip.mp4", sha256="0" * 64)
    location = http.post(f"{portal.url}/api/v1/uploads", headers=headers).headers["Location"]
    response = http.patch(location, data=video, headers=chunk_headers(0))
    assert response.status_code == 422 and response.json()["error"]["code"] == "checksum_mismatch"
    assert http.head(location, headers=TUS).status_code == 404
    assert http.get(f"{portal.url}/api/v1/files").json()["total"] == 0


def test_two_processes_share_one_upload(tmp_path, database, video):
    """Two servers on one data folder and database: each continues what the other wrote."""
    one = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", database)
    two = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", database)
    try:
        location = one.http.post(f"{one.url}/api/v1/uploads", headers=creation(len(video))).headers["Location"]
        path = location.removeprefix(one.url)
        offset = 0
        for index, start in enumerate(range(0, len(video), MIB)):
            server = (one, two)[index % 2]
            chunk = video[start : start + MIB]
            response = server.http.patch(server.url + path, data=chunk, headers=chunk_headers(offset))
            assert response.status_code == 204, response.text
            offset += len(chunk)
            other = (two, one)[index % 2]
            assert other.http.head(other.url + path, headers=TUS).headers["Upload-Offset"] == str(offset)
        assert finished_file(two, two.url + path)["sha256"] == sha256_hex(video)
    finally:
        one.stop()
        two.stop()


def test_two_chunks_racing_for_one_offset_keep_one(portal, video):
    """Two requests at the same offset at once: one is kept, the other is told (423 busy, or 409 once the first is in)."""
    location = portal.http.post(f"{portal.url}/api/v1/uploads", headers=creation(len(video))).headers["Location"]

    def send(_: int) -> int:
        with requests.Session() as session:
            response = session.patch(
                location, data=video[: 2 * MIB], headers={**portal.auth_headers, **chunk_headers(0)}, timeout=60
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(send, range(2)))
    assert statuses[0] == 204 and statuses[1] in (409, 423), statuses
    assert portal.http.head(location, headers=TUS).headers["Upload-Offset"] == str(2 * MIB)
    rest = portal.http.patch(location, data=video[2 * MIB :], headers=chunk_headers(2 * MIB))
    assert finished_file(portal, location)["sha256"] == sha256_hex(video) and rest.status_code == 204

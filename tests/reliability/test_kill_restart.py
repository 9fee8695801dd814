"""The server killed (SIGKILL) in the middle of an upload, then restarted on the same data folder.

An upload's bytes are in one of two places when the server dies: still in
waitress's request buffer (a nameless temporary file in TMPDIR, before the
app has seen the request), or already streaming through the app into a
temporary file in the storage folder. Both are tested. After a restart there
is no row for the unfinished file, no stray bytes, and every earlier file
still downloads intact.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import open_descriptors
from tests.helpers import process_tree
from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import leftovers
from tests.reliability.conftest import rows_on_disk
from tests.support import minimal_mp4

BIG = 32 * 1024 * 1024


def upload_earlier_files(portal) -> dict[str, bytes]:
    earlier = {}
    for number in range(3):
        data = minimal_mp4(os.urandom(200_000 + number))
        response = portal.http.post(f"{portal.url}/api/v1/files?filename=earlier-{number}.mp4", data=data, timeout=30)
        assert response.status_code == 201, response.text
        earlier[response.json()["id"]] = data
    return earlier


def start_raw_upload(portal, body: bytes, declared_length: int) -> socket.socket:
    """Send a raw-body upload's headers and ``body`` without waiting for an answer."""
    port = int(portal.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /api/v1/files?filename=interrupted.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + portal.auth_line
        + b"Content-Type: video/mp4\r\nContent-Length: " + str(declared_length).encode() + b"\r\n\r\n"
    )
    sock.sendall(body)
    return sock


def wait_for(condition, what: str, timeout: float = 30) -> None:
    """Poll until ``condition()`` holds; a bounded wait, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)
    pytest.fail(f"gave up waiting for {what}")


def open_files_under(pid: int, folder: Path) -> list[str]:
    """Files under ``folder`` open in the server ``pid`` or any of its worker processes."""
    return [
        target for process in process_tree(pid) for target in open_descriptors(process) if target.startswith(str(folder))
    ]


def assert_earlier_files_intact(portal, earlier: dict[str, bytes]) -> None:
    listing = portal.http.get(portal.url + "/api/v1/files", params={"per_page": 100}, timeout=30).json()
    assert {item["id"] for item in listing["items"]} == set(earlier)
    for video_id, data in earlier.items():
        response = portal.http.get(f"{portal.url}/api/v1/files/{video_id}/content", timeout=30)
        assert response.status_code == 200
        assert response.content == data
        digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
        assert response.headers["Repr-Digest"] == f"sha-256=:{digest}:"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see waitress's buffer file")
def test_kill_while_waitress_buffers_the_body_leaves_nothing(start_portal, tmp_path):
    buffers = tmp_path / "waitress-buffers"
    buffers.mkdir()
    env = {"TMPDIR": str(buffers)}
    portal = start_portal(env=env)
    earlier = upload_earlier_files(portal)
    data = minimal_mp4(os.urandom(BIG))
    sock = start_raw_upload(portal, data[: BIG // 4], len(data))
    try:
        # waitress spills a body past 512 KiB into a temporary file in TMPDIR.
        wait_for(lambda: open_files_under(portal.process.pid, buffers), "waitress to buffer the body in TMPDIR")
        assert leftovers(portal.data_dir) == []
        portal.process.send_signal(signal.SIGKILL)
        portal.process.wait(timeout=30)
    finally:
        sock.close()

    restarted = start_portal(data_dir=portal.data_dir, env=env)
    assert list(buffers.iterdir()) == []
    assert set(rows_on_disk(restarted.data_dir)) == set(earlier)
    assert_database_and_folder_agree(restarted.data_dir)
    assert_earlier_files_intact(restarted, earlier)


@pytest.mark.parametrize("kind", ["raw", "multipart"])
def test_kill_while_the_app_streams_into_storage_leaves_nothing_after_restart(start_portal, kind):
    slow = [sys.executable, "-m", "tests.reliability.slow_storage_wsgi"]
    portal = start_portal(command=slow)
    earlier = upload_earlier_files(portal)
    data = minimal_mp4(os.urandom(BIG))
    if kind == "raw":
        sock = start_raw_upload(portal, data, len(data))
    else:
        boundary = "reliability-boundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="interrupted.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        port = int(portal.url.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(
            b"POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\n" + portal.auth_line
            + b"Content-Type: multipart/form-data; boundary="
            + boundary.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
    try:
        def partly_written() -> bool:
            return any(path.stat().st_size > 0 for path in leftovers(portal.data_dir))

        wait_for(partly_written, "the upload to stream into the storage folder")
        portal.process.send_signal(signal.SIGKILL)
        portal.process.wait(timeout=30)
    finally:
        sock.close()
    [partial] = leftovers(portal.data_dir)
    assert 0 < partial.stat().st_size < len(data)
    assert set(rows_on_disk(portal.data_dir)) == set(earlier)

    restarted = start_portal(data_dir=portal.data_dir)
    assert set(rows_on_disk(restarted.data_dir)) == set(earlier)
    assert_database_and_folder_agree(restarted.data_dir)
    assert_earlier_files_intact(restarted, earlier)

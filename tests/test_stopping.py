"""SIGTERM: the portal stops accepting, lets uploads in progress finish for up to PORTAL_STOP_TIMEOUT, exits 0.

What does not finish in time is aborted with nothing left behind: no stored
bytes, no temporary file, no row.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from portal.uploads.intake import ABORT_UPLOADS
from tests.helpers import stored_files
from tests.helpers import upload
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.support import wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")

BODY = 2 * 1024 * 1024


def video_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "portal.db") as connection:
        return connection.execute("SELECT count(*) FROM videos").fetchone()[0]


def start_upload(portal: RunningPortal, data: bytes) -> socket.socket:
    """A raw-body upload whose headers and first half are sent; the caller sends the rest (or not)."""
    client = socket.create_connection(("127.0.0.1", portal.port), timeout=30)
    head = (
        f"POST /api/v1/files?filename=in-flight.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n"
        "Content-Type: application/octet-stream\r\n"
    ).encode()
    client.sendall(head + portal.auth_line + b"\r\n" + data[: len(data) // 2])
    return client


def refuses_connections(port: int) -> bool:
    """Nothing listens: refused, or reset when the listener closed while this connection was being set up."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


@pytest.mark.server
@pytest.mark.parametrize("processes", ["1", "2"])
def test_sigterm_lets_an_upload_in_flight_finish_then_exits_0(tmp_path, processes):
    portal = RunningPortal(
        [sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_STOP_TIMEOUT": "20", "PORTAL_PROCESSES": processes}
    )
    try:
        data = minimal_mp4(os.urandom(BODY))
        client = start_upload(portal, data)
        time.sleep(0.3)  # the upload has reached its worker
        portal.process.terminate()
        # New connections are refused at once, while the upload goes on.
        assert wait_until(lambda: refuses_connections(portal.port), timeout=5)
        assert portal.process.poll() is None
        with client:
            client.sendall(data[len(data) // 2 :])
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
        assert hashlib.sha256(data).hexdigest().encode() in answer
        assert portal.process.wait(timeout=15) == 0
    finally:
        portal.stop()
    assert video_rows(portal.data_dir) == 1
    assert [path.read_bytes() == data for path in stored_files(portal.data_dir)] == [True]


@pytest.mark.server
def test_an_upload_slower_than_the_stop_timeout_is_aborted_and_leaves_nothing(tmp_path):
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_STOP_TIMEOUT": "1"})
    try:
        data = minimal_mp4(os.urandom(BODY))
        client = start_upload(portal, data)
        time.sleep(0.3)
        started = time.monotonic()
        portal.process.terminate()
        # The client goes on sending, far too slowly, until the server lets go of it.
        with client:
            for offset in range(len(data) // 2, len(data), 4096):
                try:
                    client.sendall(data[offset : offset + 4096])
                except OSError:
                    break
                if portal.process.poll() is not None:
                    break
                time.sleep(0.05)
        assert portal.process.wait(timeout=15) == 0
        # Stopped after its timeout, not only once the client gave up.
        assert time.monotonic() - started < 10
    finally:
        portal.stop()
    assert video_rows(portal.data_dir) == 0
    assert stored_files(portal.data_dir) == []


@pytest.fixture
def stopping():
    ABORT_UPLOADS.set()
    yield
    ABORT_UPLOADS.clear()


def test_an_upload_being_stored_when_its_time_is_up_fails_with_503_and_leaves_nothing(client, data_dir, video_bytes, stopping):
    response = upload(client, video_bytes)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "server_stopping"
    assert stored_files(data_dir) == []
    assert client.get("/api/v1/files").get_json()["total"] == 0


def test_a_raw_upload_being_stored_when_its_time_is_up_leaves_nothing(client, data_dir, video_bytes, stopping):
    response = client.post("/api/v1/files?filename=a.mp4", data=video_bytes, content_type="application/octet-stream")
    assert response.status_code == 503
    assert stored_files(data_dir) == []

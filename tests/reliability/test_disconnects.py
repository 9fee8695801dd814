"""Clients that hang up mid-upload or mid-download: no leftovers, no stuck worker threads.

waitress reads a whole request body before the app runs, so an upload cut
short never reaches the portal; a download cut short closes the app's
iterator, which must close the stored file. Afterwards every one of the
server's worker threads must still be free: as many slow downloads as there
are threads must all be in progress at the same time.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import pytest
import requests

from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import rows_on_disk
from tests.reliability.test_kill_restart import open_files_under
from tests.reliability.test_kill_restart import wait_for
from tests.support import minimal_mp4

THREADS = 4
#: Larger than waitress's output buffer high-water mark (16 MiB), so a worker
#: stays busy with a download until its client has read most of it.
BIG = 32 * 1024 * 1024


@pytest.fixture
def portal(start_portal, tmp_path):
    buffers = tmp_path / "waitress-buffers"
    buffers.mkdir()
    return start_portal(env={"PORTAL_THREADS": str(THREADS), "TMPDIR": str(buffers)})


def connect(portal) -> socket.socket:
    return socket.create_connection(("127.0.0.1", int(portal.url.rsplit(":", 1)[1])), timeout=30)


def store_big_file(portal) -> tuple[dict, bytes]:
    data = minimal_mp4(os.urandom(BIG))
    response = portal.http.post(portal.url + "/api/v1/files?filename=big.mp4", data=data, timeout=120)
    assert response.status_code == 201, response.text
    return response.json(), data


def assert_every_worker_is_free(portal, video: dict, data: bytes) -> None:
    """THREADS downloads of a big file, each held open until all have started: needs every worker."""
    barrier = threading.Barrier(THREADS, timeout=60)
    results: list[str] = []

    def download() -> None:
        with requests.get(video["content_url"], headers=portal.auth_headers, stream=True, timeout=60) as response:
            chunks = response.iter_content(64 * 1024)
            first = next(chunks)
            barrier.wait()
            digest = hashlib.sha256(first)
            for chunk in chunks:
                digest.update(chunk)
            results.append(digest.hexdigest())

    threads = [threading.Thread(target=download) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [hashlib.sha256(data).hexdigest()] * THREADS


def test_uploads_cut_short_leave_nothing_and_no_busy_worker(portal, tmp_path):
    declared = 8 * 1024 * 1024
    buffers = tmp_path / "waitress-buffers"
    for number in range(2 * THREADS):
        sock = connect(portal)
        if number % 2:
            sock.sendall(
                b"POST /api/v1/files?filename=cut.mp4 HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\n" + portal.auth_line
                + b"Content-Length: " + str(declared).encode() + b"\r\n\r\n" + minimal_mp4(os.urandom(1024 * 1024))
            )
        else:
            sock.sendall(
                b"POST /api/v1/files?filename=cut.mp4 HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\n" + portal.auth_line
                + b"Transfer-Encoding: chunked\r\n\r\n100000\r\n" + minimal_mp4(os.urandom(0x100000 - 2056)) + b"\r\n"
            )
        # Hang up only once the server holds the body on disk, so that the check below cannot
        # pass before the body was ever spooled.
        wait_for(lambda: open_files_under(portal.process.pid, buffers), "waitress to spool the body")
        sock.close()
        # Dropped as the client hangs up, not whenever the garbage collector next runs.
        wait_for(lambda: not open_files_under(portal.process.pid, buffers), "waitress to drop the spooled body", timeout=10)
    assert rows_on_disk(portal.data_dir) == {}
    assert_database_and_folder_agree(portal.data_dir)

    video, data = store_big_file(portal)
    assert_every_worker_is_free(portal, video, data)
    assert_database_and_folder_agree(portal.data_dir)


@pytest.mark.parametrize("range_header", [None, "bytes=0-", "bytes=1000-"], ids=["whole", "whole range", "tail range"])
def test_downloads_cut_short_close_the_file_and_free_the_worker(portal, range_header):
    video, data = store_big_file(portal)
    path = video["content_url"].split(portal.url, 1)[1]
    extra = f"Range: {range_header}\r\n" if range_header else ""
    for _ in range(2 * THREADS):
        sock = connect(portal)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}".encode() + portal.auth_line + b"\r\n")
        assert sock.recv(64 * 1024).startswith(b"HTTP/1.1 20")
        sock.close()
    files = portal.data_dir / "files"
    wait_for(lambda: not open_files_under(portal.process.pid, files), "the stored file to be closed")
    # A client hanging up is not corruption.
    assert portal.http.get(video["url"], timeout=10).json()["status"] == "ok"
    assert_every_worker_is_free(portal, video, data)
    assert_database_and_folder_agree(portal.data_dir)


def test_client_that_sends_a_whole_upload_then_hangs_up_gets_it_stored_whole(portal):
    """The body arrived complete: the upload is finished even though nobody reads the answer."""
    data = minimal_mp4(os.urandom(2 * 1024 * 1024))
    sock = connect(portal)
    sock.sendall(
        b"POST /api/v1/files?filename=whole.mp4 HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\n" + portal.auth_line
        + b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data
    )
    sock.close()
    wait_for(lambda: len(rows_on_disk(portal.data_dir)) == 1, "the upload to be stored")
    [(size, sha256)] = rows_on_disk(portal.data_dir).values()
    assert (size, sha256) == (len(data), hashlib.sha256(data).hexdigest())
    wait_for(lambda: not list((portal.data_dir / "files" / ".incoming").iterdir()), "the upload to finish")
    assert_database_and_folder_agree(portal.data_dir)


def test_downloads_the_server_breaks_off_for_corruption_free_their_workers(portal):
    """The server hangs up too: a corrupt file's download ends early, and its worker must be released."""
    corrupt = []
    for number in range(2 * THREADS):
        data = minimal_mp4(os.urandom(1024 * 1024))
        created = portal.http.post(f"{portal.url}/api/v1/files?filename=c{number}.mp4", data=data, timeout=60).json()
        [path] = (portal.data_dir / "files").rglob(created["id"])
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        corrupt.append(created)
    for created in corrupt:
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            portal.http.get(created["content_url"], timeout=60)
    files = portal.data_dir / "files"
    wait_for(lambda: not open_files_under(portal.process.pid, files), "the corrupt files to be closed")
    assert {portal.http.get(created["url"], timeout=10).json()["status"] for created in corrupt} == {"corrupt"}
    video, data = store_big_file(portal)
    assert_every_worker_is_free(portal, video, data)

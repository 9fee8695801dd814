"""Against ``python wsgi.py``: a request its headers decide is answered before its body is read, and no body is held.

Before, waitress read each whole body into a temporary file before the portal
saw its request: an anonymous 256 MiB upload got its 401 only once all of it
was on disk, a chunked body to /login was read to its end, and a client asking
``Expect: 100-continue`` was told to go on whatever its token.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import RunningPortal
from tests.support import mp4_header
from tests.support import wait_until

pytestmark = pytest.mark.server

MIB = 1024 * 1024
LIMIT = 4 * MIB
PIECE = 64 * 1024
#: How long the sender waits for an answer between two pieces: the pace of a slow client.
PAUSE = 0.02


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screening")
    tmp = folder / "tmp"
    tmp.mkdir()
    running = RunningPortal([sys.executable, "wsgi.py"], folder / "data",
                            {"PORTAL_MAX_CONTENT_LENGTH": str(LIMIT), "TMPDIR": str(tmp)}, log_path=folder / "portal.log")
    running.tmp = tmp  # type: ignore[attr-defined]
    yield running
    running.stop()


def held_bytes(portal) -> int:
    """The size of the largest file the server holds open in its TMPDIR (deleted ones too): a body being spooled."""
    largest = 0
    folder = str(portal.tmp)
    for link in Path(f"/proc/{portal.process.pid}/fd").iterdir():
        try:
            if os.readlink(link).startswith(folder):
                largest = max(largest, os.stat(link).st_size)
        except OSError:
            continue  # closed meanwhile
    return largest


def connect(portal, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", portal.port), timeout=5)
    sock.sendall(head.encode("latin-1") + b"\r\n")
    return sock


def pieces(total: int, piece: bytes = b"\0" * PIECE) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def send_until_answered(sock: socket.socket, body: Iterator[bytes], watch: Callable[[], None] = lambda: None,
                        within: float = 15) -> int:
    """Send ``body`` piece by piece, waiting :data:`PAUSE` for an answer after each; the bytes sent once one came."""
    sent = 0
    deadline = time.monotonic() + within
    sock.setblocking(False)
    try:
        for piece in body:
            watch()
            if select.select([sock], [], [], PAUSE)[0]:
                return sent
            try:
                sent += sock.send(piece)
            except BlockingIOError:
                pass  # the server reads nothing more for now: the client waits, as it would
            assert time.monotonic() < deadline, f"no answer after {sent} bytes"
        if select.select([sock], [], [], within)[0]:
            return sent
    finally:
        sock.settimeout(5)
    raise AssertionError(f"the whole body ({sent} bytes) went unanswered")


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bytes]:
    """Status, headers (lower-case names), body and raw head of the next answer on ``sock``."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before an answer: {raw!r}"
        raw += chunk
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk, "the connection closed inside the answer's body"
        body += chunk
    return int(lines[0].split()[1]), headers, body, head


def chunked(total: int) -> Iterator[bytes]:
    for piece in pieces(total):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def sockets_of(portal) -> int:
    return sum(link.startswith("socket:") for link in open_links(portal.process.pid))


def open_links(pid: int) -> list[str]:
    from tests.helpers import open_descriptors

    return open_descriptors(pid)


def test_an_anonymous_256_mib_upload_is_401_within_a_second_and_no_body_is_held(portal):
    sockets_before = sockets_of(portal)
    sock = connect(portal, "POST /api/v1/files?filename=big.mp4 HTTP/1.1\r\nHost: portal\r\n"
                           f"Content-Type: video/mp4\r\nContent-Length: {256 * MIB}\r\n")
    started = time.monotonic()
    most_held = []

    def watch() -> None:
        most_held.append(held_bytes(portal))
        assert most_held[-1] <= MIB, f"the server holds {most_held[-1]} bytes of the body in its TMPDIR"

    sent = send_until_answered(sock, pieces(32 * MIB), watch)
    answered = time.monotonic() - started
    status, headers, body, _ = read_answer(sock)
    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthorized"
    assert headers["connection"] == "close"
    assert answered < 1, f"answered after {answered:.2f} s"
    assert sent < 256 * MIB
    # Lingering: what the client still sends is read and thrown away (no reset), then it sees the end.
    sock.sendall(b"\0" * (4 * MIB))
    assert max(most_held) <= MIB and held_bytes(portal) <= MIB
    assert sock.recv(65536) == b""
    sock.close()
    assert wait_until(lambda: sockets_of(portal) <= sockets_before), "the refused connection stayed open"


def test_a_chunked_body_to_login_is_413_as_soon_as_it_passes_one_mib(portal):
    sock = connect(portal, "POST /login HTTP/1.1\r\nHost: portal\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                           "Transfer-Encoding: chunked\r\n")
    sent = send_until_answered(sock, chunked(8 * MIB), lambda: None)
    status, headers, body, _ = read_answer(sock)
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    assert b"1.0 MiB (1048576 bytes)" in body
    assert sent < 2 * MIB, f"answered only after {sent} bytes"
    sock.close()


def test_expect_100_continue_with_a_bad_token_gets_the_401_and_no_100_continue(portal):
    sock = connect(portal, "POST /api/v1/files?filename=a.mp4 HTTP/1.1\r\nHost: portal\r\nAuthorization: Bearer nope\r\n"
                           f"Content-Type: video/mp4\r\nContent-Length: {MIB}\r\nExpect: 100-continue\r\n")
    status, _headers, body, head = read_answer(sock)
    assert status == 401, head
    assert b"100 Continue" not in head
    assert json.loads(body)["error"]["message"]
    sock.close()


def test_expect_100_continue_with_a_good_token_goes_on_and_uploads(portal):
    data = mp4_header(MIB) + bytes(MIB - len(mp4_header(MIB)))
    sock = connect(portal, f"POST /api/v1/files?filename=a.mp4 HTTP/1.1\r\nHost: portal\r\n{portal.auth_line.decode()}"
                           f"Content-Type: video/mp4\r\nContent-Length: {MIB}\r\nExpect: 100-continue\r\n")
    status, _headers, _body, _head = read_answer(sock)
    assert status == 100
    sock.sendall(data)
    status, _headers, body, _head = read_answer(sock)
    assert status == 201, body
    assert json.loads(body)["size"] == MIB
    sock.close()


def video_of(size: int) -> bytes:
    return mp4_header(size) + bytes(size - len(mp4_header(size)))


def test_an_authorized_upload_of_exactly_the_limit_is_stored_and_one_byte_more_is_413_from_the_headers(portal):
    stored = portal.http.post(f"{portal.url}/api/v1/files", params={"filename": "limit.mp4"}, data=video_of(LIMIT),
                              headers={"Content-Type": "video/mp4"}, timeout=30)
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == LIMIT
    sock = connect(portal, f"POST /api/v2/videos?filename=over.mp4 HTTP/1.1\r\nHost: portal\r\n{portal.auth_line.decode()}"
                           f"Content-Type: video/mp4\r\nContent-Length: {LIMIT + 1}\r\n")
    status, _headers, body, _head = read_answer(sock)  # not a byte of the body sent
    assert status == 413
    assert f"({LIMIT} bytes)".encode() in body
    sock.close()


def test_an_authorized_chunked_upload_is_held_to_the_limit(portal):
    def body(size: int) -> Iterator[bytes]:
        data = video_of(size)
        for start in range(0, size, PIECE):
            yield data[start:start + PIECE]

    stored = portal.http.post(f"{portal.url}/api/v1/files", params={"filename": "chunked.mp4"}, data=body(LIMIT), timeout=30)
    assert stored.status_code == 201, stored.text
    assert stored.json()["size"] == LIMIT
    try:
        refused = portal.http.post(f"{portal.url}/api/v1/files", params={"filename": "over.mp4"}, data=body(LIMIT + 1),
                                   timeout=30)
    except requests.ConnectionError as gone:
        pytest.fail(f"the client saw {gone!r}, not the answer")
    assert refused.status_code == 413, refused.text
    assert f"({LIMIT} bytes)" in refused.text

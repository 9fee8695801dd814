"""Against ``python wsgi.py``: a client that sends its request too slowly is closed, one that is merely slow is not.

Before, waitress's own timeout (``PORTAL_SEND_TIMEOUT``) ended only silent
connections: one header line every few seconds, or a body at a byte every few
seconds, held a connection for ever. Now its headers must be complete within
``PORTAL_HEADER_TIMEOUT`` seconds of its first byte, and its body must then
arrive at ``PORTAL_BODY_MIN_RATE`` bytes a second on average after the same
grace. Here the timeout is 2 s and the rate 1 KiB/s, so each test takes a few
seconds; the send timeout stays far above both, so that it cannot be what
closes a connection.
"""

from __future__ import annotations

import hashlib
import os
import select
import socket
import sys
import time

import pytest

from tests.slow_viewers import SlowViewers
from tests.support import RunningPortal
from tests.support import minimal_mp4

pytestmark = pytest.mark.server

HEADER_TIMEOUT = 2
MIN_RATE = 1024
#: Seconds between two trickled pieces: each one resets waitress's own (silent-client) clock.
TRICKLE = 0.5
#: The longest a too-slow sender may be held: its timeout, plus a sweep or two (every second), plus slack for CI.
CLOSED_WITHIN = HEADER_TIMEOUT + 6
#: What the log says of each connection closed for it.
WARNING = "closed a slow sender's connection from 127.0.0.1: "


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("senders")
    running = RunningPortal(
        [sys.executable, "wsgi.py"],
        folder / "data",
        {"PORTAL_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "PORTAL_BODY_MIN_RATE": str(MIN_RATE), "PORTAL_SEND_TIMEOUT": "60"},
        log_path=folder / "portal.log",
    )
    yield running
    running.stop()


def warnings_since(portal: RunningPortal, start: int) -> list[str]:
    return [line for line in portal.output()[start:].splitlines() if WARNING in line]


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closed ``sock`` (an end of stream or a reset) within ``wait`` seconds; nothing else may come."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    assert data == b"", f"the server answered instead of closing: {data[:200]!r}"
    return True


def trickle(sock: socket.socket, piece: bytes, within: float) -> float | None:
    """Send ``piece`` every :data:`TRICKLE` seconds until the server closes ``sock``: after how long (None: it never did)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        if closed_by_server(sock, TRICKLE):
            return time.monotonic() - started
    return None


def test_headers_trickled_a_line_at_a_time_are_closed_after_the_header_timeout(portal):
    start = len(portal.output())
    token = "sharetoken" + os.urandom(8).hex()
    with socket.create_connection(("127.0.0.1", portal.port), timeout=5) as sock:
        sock.sendall(f"GET /s/{token}/poster.jpg HTTP/1.1\r\nHost: x\r\n".encode() + portal.auth_line)
        held = trickle(sock, b"X-Slow: still coming\r\n", within=CLOSED_WITHIN + 4)
    # Each line came well within the send timeout (60 s): only the header timeout can have closed it.
    assert held is not None, "a client trickling header lines was held for ever"
    assert HEADER_TIMEOUT - TRICKLE <= held <= CLOSED_WITHIN, held
    [line] = warnings_since(portal, start)
    assert " WARNING " in line and f"within {HEADER_TIMEOUT} s (PORTAL_HEADER_TIMEOUT)" in line, line
    # Neither the share token of its path nor its credential reach the log.
    assert token not in line and portal.token not in line and "Bearer" not in line, line


def test_a_body_trickled_a_byte_at_a_time_is_closed_once_under_the_minimum_rate(portal):
    start = len(portal.output())
    # Over 64 KiB: the application looks at the headers first, and lets this one in (its token may upload).
    length = 1024 * 1024
    head = f"POST /api/v1/files?filename=slow.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
    with socket.create_connection(("127.0.0.1", portal.port), timeout=5) as sock:
        sock.sendall(head.encode() + portal.auth_line + b"\r\n" + minimal_mp4()[:16])
        held = trickle(sock, b"\0", within=CLOSED_WITHIN + 4)
    assert held is not None, "a client trickling its body was held for ever"
    assert HEADER_TIMEOUT - TRICKLE <= held <= CLOSED_WITHIN, held
    [line] = warnings_since(portal, start)
    assert " WARNING " in line and "the body of its POST came at" in line and "PORTAL_BODY_MIN_RATE (1024)" in line, line
    assert portal.token not in line and "slow.mp4" not in line, line
    # Nothing of it was stored, and the portal serves on.
    listing = portal.http.get(portal.url + "/api/v1/files", timeout=10)
    assert listing.status_code == 200 and "slow.mp4" not in listing.text


def post_by_hand(portal: RunningPortal, body: bytes, pause: float, piece: int, every: float) -> bytes:
    """Upload ``body`` after ``pause`` seconds, ``piece`` bytes every ``every`` seconds; the whole answer."""
    head = f"POST /api/v1/files?filename=paced.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as sock:
        sock.sendall(head.encode() + portal.auth_line + b"\r\n")
        time.sleep(pause)
        for offset in range(0, len(body), piece):
            sock.sendall(body[offset : offset + piece])
            time.sleep(every)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("size", "pause", "piece", "every"),
    [
        # A pause shorter than the grace, then the body at full speed.
        (64 * 1024, HEADER_TIMEOUT - 1, 64 * 1024, 0),
        # Past the grace in all (about 4 s), at four times the minimum rate: the rate, not the grace, decides.
        (16 * 1024, 0, 2048, TRICKLE),
    ],
    ids=["pause-then-full-speed", "slow-but-within-the-rate"],
)
def test_an_upload_within_the_grace_and_the_rate_succeeds_and_is_not_logged(portal, size, pause, piece, every):
    start = len(portal.output())
    body = minimal_mp4(os.urandom(size))
    answer = post_by_hand(portal, body, pause, piece, every)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
    assert hashlib.sha256(body).hexdigest().encode() in answer
    assert warnings_since(portal, start) == []


def test_a_slow_reader_keeps_its_download_past_the_header_timeout(portal):
    start = len(portal.output())
    data = minimal_mp4(os.urandom(256 * 1024))
    created = portal.http.post(portal.url + "/api/v1/files?filename=read-slowly.mp4", data=data, timeout=30)
    assert created.status_code == 201, created.text
    path = created.json()["content_url"].removeprefix(portal.url)
    # About 8 s at 32 KiB/s: four times the header timeout, and only the reading is slow.
    with SlowViewers(portal.port, [(path, portal.auth_headers)], rate=32 * 1024) as one:
        time.sleep(2 * HEADER_TIMEOUT + 1)
        assert one.open_count == 1
        one.unthrottle()
        assert one.wait(timeout=30)
    [viewer] = one.viewers
    assert viewer.complete and viewer.sha256 == hashlib.sha256(data).hexdigest()
    assert warnings_since(portal, start) == []

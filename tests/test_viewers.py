"""Many slow viewers at once, and clients that stop: ``python wsgi.py`` keeps serving everyone else.

Downloads are sent from waitress's event loop (:mod:`portal.http.delivery`), so
a slow reader holds a socket and a file, not a worker thread; a client that
stops reading or sending for ``PORTAL_SEND_TIMEOUT`` seconds is dropped. The
sizes are small enough for CI; the latency figures of the full load are
``bench/viewers.py``'s.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import open_descriptors
from tests.slow_viewers import Probe
from tests.slow_viewers import SlowViewers
from tests.support import CHEAP_HASH_WARNING
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.support import wait_until

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads open files from Linux's /proc"),
]

#: Larger than what waitress buffers for a connection (2 MiB) plus what the kernel queues
#: on a loopback socket (nearly 4 MiB): on a worker thread, each slow viewer of such a
#: file held that thread until it had read it all.
LARGE = 8 * 1024 * 1024
SMALL = 1024 * 1024
VIEWERS = 200
#: A listing must answer within this while every viewer is connected (on a worker thread per
#: viewer, none answered at all): generous, for a loaded CI machine.
PATIENCE = 15


def store(portal: RunningPortal, name: str, data: bytes) -> dict:
    created = portal.http.post(portal.url + f"/api/v1/files?filename={name}", data=data, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()


def stored_path(portal: RunningPortal, video_id: str) -> Path:
    [path] = [path for path in (portal.data_dir / "files").rglob(video_id) if path.is_file()]
    return path


@pytest.fixture
def portal(tmp_path):
    # One process with its 8 threads: 200 viewers are far more than it has threads.
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_SEND_TIMEOUT": "2"})
    yield running
    running.stop()


def test_two_hundred_slow_viewers_leave_the_portal_answering_and_corrupt_files_never_complete(portal):
    contents = {
        name: minimal_mp4(os.urandom(size))
        for name, size in (("large", LARGE), ("large-stream", LARGE), ("bad", LARGE), ("small", SMALL), ("small-stream", SMALL))
    }
    videos = {name: store(portal, f"{name}.mp4", data) for name, data in contents.items()}
    # Touched behind the portal's back, so every bytes=0- stream hashes them (as the first plays after an upload).
    for name in ("large-stream", "small-stream"):
        os.utime(stored_path(portal, videos[name]["id"]))
    path = stored_path(portal, videos["bad"]["id"])
    flipped = bytearray(path.read_bytes())
    flipped[len(flipped) // 2] ^= 1
    path.write_bytes(bytes(flipped))
    headers = portal.auth_headers
    stream = {**headers, "Range": "bytes=0-"}
    # 40 viewers of large files, five times the threads of the worker, and 160 of small ones.
    plan = {("large", "whole"): 15, ("large-stream", "range"): 15, ("bad", "whole"): 5, ("bad", "range"): 5}
    plan |= {("small", "whole"): 80, ("small-stream", "range"): 80}
    downloads, names = [], []
    for (name, kind), count in plan.items():
        downloads += [(videos[name]["content_url"].removeprefix(portal.url), stream if kind == "range" else headers)] * count
        names += [name] * count
    assert len(downloads) == VIEWERS
    with SlowViewers(portal.port, downloads, rate=64 * 1024) as viewers:
        # Past the send timeout (2 s): a slow reader is not a stopped one.
        time.sleep(3)
        listing, page, health = Probe("/api/v1/files", headers), Probe("/login", {}), Probe("/healthz", {})
        for _ in range(3):
            for probe in (listing, page, health):
                probe.once(portal.port, timeout=PATIENCE)
        upload = minimal_mp4(os.urandom(256 * 1024))
        uploaded = portal.http.post(portal.url + "/api/v1/files?filename=during.mp4", data=upload, timeout=PATIENCE)
        # Every viewer of a large file is still there, reading slowly, while all of that was answered.
        assert [name for name, viewer in zip(names, viewers.viewers, strict=True) if viewer.closed and "small" not in name] == []
        viewers.unthrottle()
        assert viewers.wait(timeout=120), f"{viewers.open_count} downloads never ended"
    assert (listing.failures, page.failures, health.failures) == ([], [], [])
    assert listing.statuses == page.statuses == health.statuses == [200, 200, 200]
    assert uploaded.status_code == 201 and uploaded.json()["sha256"] == hashlib.sha256(upload).hexdigest()
    for name, viewer in zip(names, viewers.viewers, strict=True):
        if name == "bad":
            assert viewer.status in (200, 206) and not viewer.complete, "a corrupt file was delivered complete"
            # Everything but the last read may arrive: the file's end is held back once its hash is known.
            assert viewer.received < len(contents["bad"])
        else:
            assert viewer.status in (200, 206) and viewer.complete, (name, viewer.status, viewer.received)
            assert viewer.sha256 == hashlib.sha256(contents[name]).hexdigest()
    assert portal.http.get(videos["bad"]["url"], timeout=10).json()["status"] == "corrupt"
    # Under that load the log holds access lines, and a warning for each download of the corrupt file
    # cut short: none for requests waiting for a thread (that is portal_queue_depth), no traceback.
    output = portal.output()
    assert "Task queue depth" not in output and "Traceback" not in output and " ERROR " not in output, output
    cut_short = f"download of video {videos['bad']['id']} cut short: "
    warnings = [line for line in output.splitlines() if " WARNING " in line and CHEAP_HASH_WARNING not in line]
    assert warnings and all(cut_short in line for line in warnings), output


def worker_holds(portal: RunningPortal, path: Path) -> bool:
    return str(path) in open_descriptors(portal.process.pid)


def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(portal):
    data = minimal_mp4(os.urandom(LARGE))
    video = store(portal, "stalled.mp4", data)
    path = stored_path(portal, video["id"])
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        client.connect(("127.0.0.1", portal.port))
        request = f"GET {video['content_url'].removeprefix(portal.url)} HTTP/1.1\r\nHost: x\r\n"
        client.sendall(request.encode() + portal.auth_line + b"\r\n")
        received = len(client.recv(4096))
        assert wait_until(lambda: worker_holds(portal, path), timeout=5)
        # It reads nothing more: within a few seconds of PORTAL_SEND_TIMEOUT (2 s) the
        # connection is closed and the worker lets go of the file.
        assert wait_until(lambda: not worker_holds(portal, path), timeout=2 + 6)
        client.settimeout(10)
        while chunk := client.recv(1024 * 1024):
            received += len(chunk)
    assert received < len(data)
    # The portal serves on.
    assert portal.http.get(portal.url + "/api/v1/files", timeout=10).status_code == 200


def test_a_client_that_sends_half_a_request_is_dropped_after_the_send_timeout(portal):
    with socket.socket() as client:
        client.connect(("127.0.0.1", portal.port))
        client.sendall(b"GET /api/v1/files HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        client.settimeout(2 + 8)
        try:
            answer = client.recv(1024)
        except ConnectionResetError:
            answer = b""
        waited = time.monotonic() - started
    # Closed without an answer, not by the client's own timeout (which raises instead).
    assert answer == b""
    assert waited >= 1


def test_a_slow_reader_is_not_dropped_while_the_kernel_still_sends_to_it(portal):
    data = minimal_mp4(os.urandom(LARGE))
    video = store(portal, "slow.mp4", data)
    # At 128 KiB/s the megabytes the kernel queued for the socket take many seconds to drain,
    # during which waitress cannot send anything: twice the send timeout here.
    with SlowViewers(portal.port, [(video["content_url"].removeprefix(portal.url), portal.auth_headers)], 128 * 1024) as one:
        time.sleep(4)
        assert one.open_count == 1
        one.unthrottle()
        assert one.wait(timeout=30)
    [viewer] = one.viewers
    assert viewer.complete and viewer.sha256 == hashlib.sha256(data).hexdigest()


def test_requests_through_a_session_still_work_with_a_short_send_timeout(portal):
    # Keep-alive connections idle longer than the timeout are closed; a new request reconnects.
    with requests.Session() as session:
        session.headers.update(portal.auth_headers)
        assert session.get(portal.url + "/api/v1/files", timeout=10).status_code == 200
        time.sleep(4)
        assert session.get(portal.url + "/api/v1/files", timeout=10).status_code == 200

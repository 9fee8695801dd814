"""Requests waiting for a worker thread: the ``portal_queue_depth`` gauge of a real ``python wsgi.py``, never a log line."""

from __future__ import annotations

import http.client
import os
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.held_storage_wsgi import HELD
from tests.ops.held_storage_wsgi import RELEASE
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.support import wait_until

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads the sockets' queues from Linux's /proc"),
]

#: Scrapes sent while the only worker thread is held: each is answered in turn, with the others behind it.
WAITING = 3


def queue_depth(metrics_text: str) -> float:
    [depth] = [
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "portal_queue_depth"
    ]
    return depth


def unread_bytes(server_port: int, client_ports: set[int]) -> dict[int, int]:
    """By client port: the bytes of each connection the server has not read yet (what Linux's /proc/net/tcp says).

    A request read whole is one waitress has put in its queue, in the same turn of its loop.
    """
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
        if local_port == server_port and remote_port in client_ports:
            found[remote_port] = int(fields[4].split(":")[1], 16)
    return found


def test_requests_waiting_for_a_thread_are_the_queue_depth_gauge_and_no_log_line(tmp_path):
    portal = RunningPortal(
        [sys.executable, "-m", "tests.ops.held_storage_wsgi"], tmp_path / "data", {"PORTAL_THREADS": "1"}
    )
    scrapes = [http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30) for _ in range(WAITING)]
    try:
        assert queue_depth(portal.http.get(portal.url + "/metrics", timeout=10).text) == 0
        uploaded = []
        data = minimal_mp4(os.urandom(64 * 1024))
        upload = threading.Thread(
            target=lambda: uploaded.append(portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=60))
        )
        upload.start()
        # The one worker thread is storing the upload, and stays on it until released.
        assert wait_until(lambda: (portal.data_dir / HELD).exists())
        for scrape in scrapes:
            scrape.request("GET", "/metrics", headers=portal.auth_headers)
        client_ports = {scrape.sock.getsockname()[1] for scrape in scrapes}
        assert wait_until(lambda: unread_bytes(portal.port, client_ports) == dict.fromkeys(client_ports, 0))
        (portal.data_dir / RELEASE).touch()
        answers = [scrape.getresponse() for scrape in scrapes]
        assert [answer.status for answer in answers] == [200] * WAITING
        # The first scrape a thread takes has the two others still waiting behind it, the last none.
        assert sorted(queue_depth(answer.read().decode()) for answer in answers) == [0, 1, 2]
        upload.join(timeout=60)
        assert uploaded and uploaded[0].status_code == 201, uploaded
        assert queue_depth(portal.http.get(portal.url + "/metrics", timeout=10).text) == 0
    finally:
        for scrape in scrapes:
            scrape.close()
        portal.stop()
    output = portal.output()
    assert "Task queue depth" not in output and "waitress.queue" not in output, output

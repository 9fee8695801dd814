"""``python wsgi.py`` runs the job consumer beside its web workers, at a lower CPU priority, and stops it with them."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.helpers import process_tree
from tests.support import RunningPortal

#: Every test here starts `python wsgi.py`.
pytestmark = pytest.mark.server


@pytest.fixture
def portal(tmp_path):
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_JOB_WORKERS": "1"})
    yield running
    running.stop()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the server's processes from Linux's /proc")
def test_the_server_runs_jobs_at_a_lower_priority_and_stops_them_with_it(portal, clips):
    created = portal.http.post(portal.url + "/api/v1/files?filename=clip.mp4", data=clips["h264_aac"].read_bytes(), timeout=10)
    assert created.status_code == 201
    deadline = time.monotonic() + 30
    while (body := portal.http.get(created.json()["url"], timeout=5).json())["processing"]["state"] != "done":
        assert time.monotonic() < deadline, body["processing"]
        time.sleep(0.1)
    assert body["media"]["audio_codec"] == "aac"
    server_niceness = os.getpriority(os.PRIO_PROCESS, portal.process.pid)
    children = process_tree(portal.process.pid)[1:]
    niceness = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in children}
    # One web worker at the server's priority; the consumer, its scheduler and its job worker 10 lower.
    assert sorted(niceness.values()) == [server_niceness] + [server_niceness + 10] * 3
    portal.process.terminate()
    assert portal.process.wait(timeout=15) == 0
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in children):
        assert time.monotonic() < deadline, "a process of the server outlived it"
        time.sleep(0.05)

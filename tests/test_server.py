"""The production server: ``python wsgi.py`` under waitress, and the Dockerfile's command line.

These run the portal in a child process on 127.0.0.1 and talk HTTP to it, so
they cover what the test client cannot: waitress's body limits, its
``wsgi.file_wrapper``, and a connection broken by a corrupt download.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from portal import create_app
from portal.ops.server import process_count
from portal.ops.server import waitress_settings
from tests.helpers import open_descriptors
from tests.helpers import process_state
from tests.helpers import process_tree
from tests.support import RunningPortal
from tests.support import found
from tests.support import minimal_mp4
from tests.support import wait_until

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def portal(tmp_path):
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data")
    yield running
    running.stop()


def payload_size() -> int:
    """A few MiB, or less when PORTAL_MAX_CONTENT_LENGTH is set smaller."""
    limit = int(os.environ.get("PORTAL_MAX_CONTENT_LENGTH", 4 * 1024**3))
    return min(3 * 1024 * 1024, limit // 2)


def dockerfile_command() -> tuple[list[str], dict[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    command = json.loads(found(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))
    env = dict(re.findall(r"(PORTAL_\w+)=(\S+)", text))
    return command, env


@pytest.mark.server
def test_dockerfile_command_starts_the_portal(tmp_path):
    command, env = dockerfile_command()
    assert command[0] == "python"
    env.pop("PORTAL_DATA_DIR")
    env.pop("PORTAL_PORT")
    env.pop("PORTAL_HOST")
    # As the image runs it: the default number of processes.
    running = RunningPortal([sys.executable, *command[1:]], tmp_path / "data", env, processes=None)
    try:
        response = requests.get(running.url + "/healthz", timeout=5)
        assert response.json() == {"status": "ok"}
        assert response.headers["Server"] == "portal"
    finally:
        running.stop()


def test_dockerfile_runs_as_non_root_with_a_data_volume_and_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("FROM python:3.11-slim")
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert 'VOLUME ["/data"]' in text
    assert "EXPOSE 8080" in text
    assert "/healthz" in found(r"HEALTHCHECK.*?\n.*\n", text).group(0)


def test_waitress_accepts_bodies_a_little_over_the_portal_limit(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "MAX_CONTENT_LENGTH": 1000})
    settings = waitress_settings(app)
    assert settings["max_request_body_size"] > 1000
    assert settings["recv_bytes"] >= 1024 * 1024


def test_upload_and_download_through_waitress(portal):
    data = minimal_mp4(os.urandom(payload_size()))
    created = portal.http.post(
        portal.url + "/api/v1/files", files={"file": ("big.mp4", data)}, data={"sha256": hashlib.sha256(data).hexdigest()}, timeout=30
    )
    assert created.status_code == 201, created.text
    content_url = created.json()["content_url"]
    whole = portal.http.get(content_url, timeout=30)
    assert whole.status_code == 200 and whole.content == data
    tail = portal.http.get(content_url, headers={"Range": "bytes=1000-"}, timeout=30)
    assert tail.status_code == 206 and tail.content == data[1000:]
    start, stop = len(data) // 3, len(data) // 3 * 2
    middle = portal.http.get(content_url, headers={"Range": f"bytes={start}-{stop - 1}"}, timeout=30)
    assert middle.status_code == 206 and middle.content == data[start:stop]
    raw = portal.http.post(portal.url + "/api/v1/files?filename=raw.mp4", data=data, timeout=30)
    assert raw.status_code == 201 and raw.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_chunked_upload_without_content_length(portal):
    data = minimal_mp4(os.urandom(min(300_000, payload_size())))
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    response = portal.http.post(portal.url + "/api/v1/files?filename=chunked.mp4", data=chunks, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(data)


def test_corrupt_file_breaks_the_connection_before_the_end(portal):
    data = minimal_mp4(os.urandom(payload_size()))
    created = portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=30).json()
    [path] = [p for p in (portal.data_dir / "files").rglob(created["id"])]
    content = bytearray(path.read_bytes())
    content[-1] ^= 1
    path.write_bytes(bytes(content))
    try:
        response = portal.http.get(created["content_url"], timeout=30)
        # A file within one chunk fails before any byte is sent: waitress then answers 500.
        assert response.status_code == 500 and response.content != data
    except requests.exceptions.ChunkedEncodingError:
        pass  # the connection broke short of Content-Length: the client knows it is incomplete
    assert portal.http.get(created["url"], timeout=10).json()["status"] == "corrupt"


@pytest.mark.server
def test_too_large_through_waitress_is_the_portals_json_413(tmp_path):
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_MAX_CONTENT_LENGTH": "100000"})
    try:
        data = minimal_mp4(bytes(100_001 - len(minimal_mp4(b"x")) + 1))
        for response in (
            running.http.post(running.url + "/api/v1/files?filename=a.mp4", data=data, timeout=30),
            running.http.post(running.url + "/api/v1/files", files={"file": ("a.mp4", data)}, timeout=30),
        ):
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "too_large"
        assert [p for p in (running.data_dir / "files").rglob("*") if p.is_file()] == []
    finally:
        running.stop()


def open_sockets(pid: int) -> int:
    return sum(target.startswith("socket:") for target in open_descriptors(pid))


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    return process_state(pid) not in (None, "Z")


linux_only = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker processes from Linux's /proc")


@pytest.fixture
def two_workers(tmp_path):
    """``python wsgi.py`` with two worker processes."""
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_PROCESSES": "2"})
    yield running
    running.stop()


def test_process_count_defaults_to_one_per_cpu(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path)})
    assert process_count(app) == len(os.sched_getaffinity(0))
    app.config["PROCESSES"] = 3
    assert process_count(app) == 3


@linux_only
def test_workers_share_the_port_and_stop_with_the_server(two_workers):
    running = two_workers
    workers = process_tree(running.process.pid)[1:]
    assert len(workers) == 2
    before = [open_sockets(pid) for pid in workers]
    sessions = [requests.Session() for _ in range(16)]
    try:
        for session in sessions:
            session.headers.update(running.auth_headers)
            assert session.get(running.url + "/api/v1/files", timeout=5).status_code == 200
        # The kernel spreads connections over the workers (all 16 on one: odds of 1 in 32,768).
        assert all(open_sockets(pid) > count for pid, count in zip(workers, before, strict=True))
    finally:
        for session in sessions:
            session.close()
    running.process.terminate()
    assert running.process.wait(timeout=10) == 0
    assert wait_until(lambda: not any(is_running(pid) for pid in workers))


@linux_only
def test_a_second_server_cannot_join_a_port_in_use(two_workers, tmp_path):
    first = two_workers
    data = minimal_mp4(b"first library")
    assert first.http.post(first.url + "/api/v1/files?filename=a.mp4", data=data, timeout=10).status_code == 201
    with pytest.raises(RuntimeError, match="exited"):
        RunningPortal(
            [sys.executable, "wsgi.py"], tmp_path / "second", {"PORTAL_PROCESSES": "2", "PORTAL_PORT": str(first.port)}
        )
    # Every connection still reaches the first server's library.
    for _ in range(10):
        with requests.Session() as session:
            session.headers.update(first.auth_headers)
            assert session.get(first.url + "/api/v1/files", timeout=5).json()["total"] == 1


@linux_only
def test_workers_die_with_a_killed_server(two_workers):
    running = two_workers
    workers = process_tree(running.process.pid)[1:]
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(timeout=10)
    # Nobody is left holding the port or finishing requests.
    assert wait_until(lambda: not any(is_running(pid) for pid in workers))
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/healthz", timeout=5)


@linux_only
def test_a_dead_worker_stops_the_whole_server(two_workers):
    running = two_workers
    first, second = process_tree(running.process.pid)[1:]
    os.kill(first, signal.SIGKILL)
    # A supervisor sees the failure and restarts the server, instead of it running at half strength.
    assert running.process.wait(timeout=10) == 1
    assert wait_until(lambda: not is_running(second))
    assert "stopping the server" in running.output()


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(found(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024


@linux_only
@pytest.mark.server
def test_memory_settles_over_many_downloads_on_different_threads(tmp_path):
    """Each download runs on whichever worker thread is free; once every thread has served one, memory stays put."""
    size = min(48 * 1024 * 1024, int(os.environ.get("PORTAL_MAX_CONTENT_LENGTH", 4 * 1024**3)))
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_PROCESSES": "1", "PORTAL_THREADS": "16"})
    try:
        data = minimal_mp4(os.urandom(size - len(minimal_mp4(b""))))
        created = running.http.post(running.url + "/api/v1/files?filename=big.mp4", data=data, timeout=60).json()
        # Several connections at once, so that every worker thread serves some downloads.
        def download(_index: int) -> None:
            with requests.get(created["content_url"], headers=running.auth_headers, timeout=60, stream=True) as response:
                assert sum(len(chunk) for chunk in response.iter_content(1024 * 1024)) == len(data)

        # As many connections as worker threads, so that every thread has served a download (and
        # holds its database connection and buffers) before memory is first measured.
        with ThreadPoolExecutor(max_workers=16) as clients:
            list(clients.map(download, range(16)))
            before = rss_mib(running.process.pid)
            list(clients.map(download, range(48)))
        assert rss_mib(running.process.pid) - before < 28
    finally:
        running.stop()

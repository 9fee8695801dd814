"""Metrics and logs of a real ``python wsgi.py``: counts summed over two worker processes, the lines on its output."""

from __future__ import annotations

import json
import os
import re
import sys
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import CHEAP_HASH_WARNING
from tests.support import RunningPortal
from tests.support import minimal_mp4

pytestmark = pytest.mark.server

#: ``2026-12-02T16:09:19.123Z 127.0.0.1 GET /api/v1/files?q 200 512 3.2ms admin``
ACCESS_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) ([A-Z]+) (\S+) (\d{3}) (\d+) (\d+\.\d)ms (\S+)$")
LISTING = "/api/v1/files"
CONTENT_ROUTE = "/api/v1/files/<video_id>/content"


def scrape(portal: RunningPortal) -> dict[tuple[str, frozenset], float]:
    response = requests.get(portal.url + "/metrics", headers=portal.auth_headers, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def wait_for(check, timeout: float = 10):
    """``check()`` once it is true (a counter written by the server's loop just after the last byte went out)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_requests_are_counted_across_two_worker_processes_and_every_line_is_json(tmp_path):
    log = tmp_path / "portal.log"
    portal = RunningPortal(
        [sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_LOG_FORMAT": "json"}, log_path=log, processes=2
    )
    requests_sent = 40
    listing = frozenset({("route", LISTING), ("method", "GET"), ("status", "200")})
    data = minimal_mp4(os.urandom(3 * 1024 * 1024))
    try:
        for _ in range(requests_sent):
            # A new connection each time (no session): the kernel spreads them over both workers.
            assert requests.get(portal.url + LISTING, params={"q": "secret"}, headers=portal.auth_headers, timeout=10).ok
        created = portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=30)
        assert created.status_code == 201, created.text
        content_url = created.json()["content_url"]
        assert requests.get(content_url, headers=portal.auth_headers, timeout=30).content == data
        # A range is handed to waitress as wsgi.file_wrapper, sent from its loop: still counted when sent.
        tail = requests.get(content_url, headers={**portal.auth_headers, "Range": "bytes=1000-"}, timeout=30)
        assert tail.status_code == 206 and tail.content == data[1000:]
        damaged = portal.http.post(portal.url + "/api/v1/files?filename=b.mp4", data=data + b"b", timeout=30).json()
        [path] = (portal.data_dir / "files").rglob(damaged["id"])
        with path.open("r+b") as file:
            file.seek(-1, os.SEEK_END)
            file.write(b"c")
        try:
            broken = requests.get(damaged["content_url"], headers=portal.auth_headers, timeout=30)
            assert broken.content != data + b"b"
        except requests.exceptions.RequestException:
            pass  # cut short before the end, as it must be

        def counted():
            found = scrape(portal)
            sent = found.get(("portal_http_sent_bytes_total", frozenset({("route", CONTENT_ROUTE)})), 0)
            listed = found.get(("portal_http_requests_total", listing), 0)
            cut = found.get(("portal_checksum_failures_total", frozenset({("found_by", "download")})), 0)
            return found if sent >= 2 * len(data) - 1000 and listed >= requests_sent and cut >= 1 else None

        found = wait_for(counted)
        assert found, "the download was never counted"
    finally:
        portal.stop()
    assert found[("portal_http_requests_total", listing)] == requests_sent
    sent = found[("portal_http_sent_bytes_total", frozenset({("route", CONTENT_ROUTE)}))]
    # The whole good one, its tail, and less than the whole damaged one.
    assert 2 * len(data) - 1000 <= sent < 3 * len(data) - 1000
    assert found[("portal_checksum_failures_total", frozenset({("found_by", "download")}))] == 1
    assert found[("portal_uploads_total", frozenset({("outcome", "stored")}))] == 2
    assert found[("portal_library_videos", frozenset({("place", "library")}))] == 2
    # Each worker's queue, added up: nothing waits once every request was answered.
    assert found[("portal_queue_depth", frozenset())] == 0

    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]  # every line is JSON
    assert entries[0]["message"].startswith("portal ") and "(2 x 8 threads)" in entries[0]["message"]
    access = [entry for entry in entries if entry["logger"] == "portal.access"]
    listed = [entry for entry in access if entry["path"] == LISTING + "?q"]
    assert len(listed) == requests_sent
    assert len({entry["process"] for entry in listed}) == 2, "one worker served every request: nothing was summed"
    assert all(entry["user"] == "admin" and entry["status"] == 200 and entry["client"] == "127.0.0.1" for entry in listed)
    whole, ranged, cut = [entry for entry in access if entry["path"].endswith("/content")]
    assert whole["bytes"] == len(data) and whole["status"] == 200
    assert ranged["bytes"] == len(data) - 1000 and ranged["status"] == 206
    assert cut["bytes"] < len(data) + 1
    assert "secret" not in log.read_text()
    # The suite's cheap password hashes are said once, at start-up; the damaged download cut short is
    # one warning, without waitress's traceback of it.
    hash_warning, warning = [entry for entry in entries if entry["level"] == "WARNING"]
    assert hash_warning["message"].startswith(CHEAP_HASH_WARNING)
    assert warning["message"].startswith(f"download of video {damaged['id']} cut short: ")
    assert not [entry for entry in entries if "exception" in entry or entry["level"] == "ERROR"]


def test_text_access_lines_on_standard_output_and_access_log_false(tmp_path):
    log = tmp_path / "portal.log"
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", log_path=log)
    try:
        assert requests.get(portal.url + LISTING + "?q=secret&page=1", headers=portal.auth_headers, timeout=10).ok
        assert requests.get(portal.url + "/no/such/page", timeout=10).status_code == 404
        # A line is written once the server closes the response, just after its last byte went out.
        assert wait_for(lambda: " GET /no/such/page 404 " in log.read_text())
    finally:
        portal.stop()
    lines = log.read_text().splitlines()
    assert lines[0].startswith("portal ")
    access = [match.groups() for line in lines if (match := ACCESS_LINE.match(line))]
    assert ("127.0.0.1", "GET", "/api/v1/files?q&page", "200") in [found[:4] for found in access]
    assert [found[6] for found in access if found[2] == "/api/v1/files?q&page"] == ["admin"]
    assert [found[3] for found in access if found[2] == "/no/such/page"] == ["404"]
    assert "secret" not in log.read_text()

    quiet_log = tmp_path / "quiet.log"
    quiet = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_ACCESS_LOG": "false"}, log_path=quiet_log)
    try:
        assert requests.get(quiet.url + LISTING, headers=quiet.auth_headers, timeout=10).ok
        assert wait_for(lambda: scrape(quiet).get(("portal_http_requests_total", frozenset(
            {("route", LISTING), ("method", "GET"), ("status", "200")}))) == 1)  # finished, and counted
    finally:
        quiet.stop()
    assert quiet_log.read_text().splitlines()[0].startswith("portal ")
    assert not [line for line in quiet_log.read_text().splitlines() if ACCESS_LINE.match(line)]


def test_the_job_consumers_failures_are_counted_with_the_workers(tmp_path):
    """The consumer is a process of its own: its counts reach /metrics through the same folder."""
    portal = RunningPortal([sys.executable, "wsgi.py"], tmp_path / "data", {"PORTAL_JOB_WORKERS": "1"})
    failed = frozenset({("outcome", "failed")})
    try:
        # Recognised as MP4 by its header, but nothing a decoder can read: its probing job fails.
        created = portal.http.post(portal.url + "/api/v1/files?filename=unreadable.mp4", data=minimal_mp4(), timeout=30)
        assert created.status_code == 201, created.text

        def counted():
            found = scrape(portal)
            return found if found.get(("portal_job_failures_total", failed)) else None

        found = wait_for(counted, 30)
    finally:
        portal.stop()
    assert found, "the failed job was never counted"
    assert found[("portal_job_failures_total", failed)] == 1
    assert found[("portal_uploads_total", frozenset({("outcome", "stored")}))] == 1

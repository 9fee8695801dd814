"""The log: one access line per request (no query values, no share-link token), JSON on request, quiet waitress."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from portal import create_app
from portal.library.integrity import CorruptionDetected
from portal.ops import logs
from portal.ops.logs import ACCESS_LOGGER
from portal.ops.logs import JsonFormatter
from portal.ops.logs import WithoutCutShortDownloads
from portal.ops.logs import loggable_path
from tests.helpers import upload


@pytest.fixture
def access_lines(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)

    def lines() -> list[logging.LogRecord]:
        return [record for record in caplog.records if record.name == ACCESS_LOGGER]

    return lines


@pytest.mark.parametrize(
    "path, query, shown",
    [
        ("/api/v1/files", "q=holiday&page=2&per_page=50", "/api/v1/files?q&page&per_page"),
        ("/setup", "code=s3cr3t", "/setup?code"),
        ("/api/v1/files", "", "/api/v1/files"),
        ("/api/v1/files", "flag&q=1&q=2", "/api/v1/files?flag&q"),
        ("/a path\nwith a line", "k y=v", "/a%20path%0Awith%20a%20line?k%20y"),
    ],
)
def test_a_logged_path_keeps_the_query_keys_and_drops_their_values(path, query, shown):
    assert loggable_path(path, query) == shown


def test_one_access_line_per_request_with_the_user_and_without_query_values(app, client, access_lines):
    client.get("/api/v1/files?q=very-secret&page=1", buffered=True)
    app.test_client().get("/login?next=/secret-place", buffered=True)
    first, second = access_lines()
    assert first.getMessage().startswith("127.0.0.1 GET /api/v1/files?q&page 200 ")
    assert first.getMessage().endswith(" tester")
    assert first.access["user"] == "tester" and first.access["status"] == 200
    assert first.access["bytes"] > 0 and first.access["duration_ms"] >= 0
    assert second.getMessage().startswith("127.0.0.1 GET /login?next 200 ") and second.getMessage().endswith(" -")
    assert all("secret" not in record.getMessage() for record in access_lines())


def test_the_bytes_of_an_access_line_are_those_sent(client, access_lines, video_bytes):
    body = upload(client, video_bytes).get_json()
    client.get(body["content_url"], buffered=True)
    [download] = [record for record in access_lines() if record.access["path"].endswith("/content")]
    assert download.access["bytes"] == len(video_bytes)


def test_a_share_links_token_is_not_logged(client, access_lines, video_bytes):
    video_id = upload(client, video_bytes).get_json()["id"]
    share = client.post(f"/api/v1/files/{video_id}/shares", json={}).get_json()
    link = share["url"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    client.get(link, buffered=True)
    assert any(record.access["path"] == "/s/<token>" for record in access_lines())
    assert all(token not in record.getMessage() for record in access_lines())


def test_no_path_under_a_share_link_logs_its_token(client, access_lines, video_bytes):
    """A suffix, a query or no matching route at all: the line shows ``/s/<token>`` (seen: the token in full)."""
    video_id = upload(client, video_bytes).get_json()["id"]
    link = client.post(f"/api/v1/files/{video_id}/shares", json={}).get_json()["url"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    for suffix in ("/", "/poster.jpg", "?t=10", "/no/such/route?k=v", "%2F..%2F"):
        client.get(f"/s/{token}{suffix}", buffered=True)
    client.get("/s/not-a-token-at-all/anything", buffered=True)
    lines = [record for record in access_lines() if record.access["path"].startswith("/s/")]
    assert len(lines) == 6
    assert {record.access["path"] for record in lines} == {"/s/<token>"}
    assert all(token not in record.getMessage() and "not-a-token" not in record.getMessage() for record in access_lines())


def test_access_log_false_writes_no_access_line(tmp_path, access_lines):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test", "ACCESS_LOG": False})
    assert app.test_client().get("/healthz", buffered=True).status_code == 200
    assert access_lines() == []


@pytest.mark.parametrize("setting, value", [("LOG_FORMAT", "xml"), ("ACCESS_LOG", "off")])
def test_a_wrong_log_setting_stops_the_start(tmp_path, setting, value):
    with pytest.raises(ValueError, match=f"PORTAL_{setting}"):
        create_app({"TESTING": True, "DATA_DIR": str(tmp_path), setting: value})


def test_a_json_line_carries_every_field_of_an_access_line_and_any_exception():
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "%s %s", ("GET", "/x"), None)
    access = {"client": "10.0.0.1", "method": "GET", "path": "/x", "status": 200, "bytes": 5, "duration_ms": 1.5, "user": None}
    record.__dict__["access"] = access  # as logger.info(..., extra={"access": access}) sets it
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "GET /x" and entry["logger"] == ACCESS_LOGGER and entry["level"] == "INFO"
    assert entry["time"].endswith("Z") and isinstance(entry["process"], int)
    assert {key: entry[key] for key in access} == access
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = logging.LogRecord("portal", logging.ERROR, __file__, 1, "it failed", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "RuntimeError: boom" in entry["exception"] and "\n" not in JsonFormatter().format(failed)


def test_the_server_logs_no_waitress_queue_warning_and_no_traceback_of_a_download_cut_short(tmp_path, capsys):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path), "SECRET_KEY": "test"})
    waitress_log, queue = logging.getLogger(logs.WAITRESS_LOGGER), logging.getLogger(logs.QUEUE_LOGGER)
    access = logging.getLogger(ACCESS_LOGGER)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, access.handlers[:], access.propagate, access.level, queue.level)
    try:
        logs.configure_logging(app)
        # As waitress's task dispatcher and channel log them.
        queue.warning("Task queue depth is %d", 3)
        waitress_log.handle(raised(CorruptionDetected("some-video")))
        waitress_log.handle(raised(RuntimeError("a real bug")))
        waitress_log.warning("total open connections reached the connection limit")
        logged = capsys.readouterr().err
        assert "Task queue depth" not in logged and "CorruptionDetected" not in logged
        assert "RuntimeError: a real bug" in logged and "connection limit" in logged
        assert access.propagate is False
    finally:
        waitress_log.filters.clear()
        root.handlers[:], root.level = saved[0], saved[1]
        access.handlers[:], access.propagate, access.level = saved[2], saved[3], saved[4]
        queue.setLevel(saved[5])


def raised(error: Exception) -> logging.LogRecord:
    """waitress's record of ``error`` raised while it was sending, as its channel logs it."""
    try:
        raise error
    except Exception:
        return logging.LogRecord("waitress", logging.ERROR, __file__, 1, "Unexpected exception when flushing", None, sys.exc_info())


def test_only_waitress_records_of_a_download_cut_short_for_corruption_are_left_out():
    quiet = WithoutCutShortDownloads()
    assert not quiet.filter(raised(CorruptionDetected("some-video")))
    assert quiet.filter(raised(RuntimeError("a real bug")))
    assert quiet.filter(logging.LogRecord("waitress", logging.WARNING, __file__, 1, "no exception", None, None))

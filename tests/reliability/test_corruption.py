"""Stored bytes corrupted or removed behind the portal's back.

A download never completes successfully (the connection breaks before the
last byte, or the request is refused before the first), the file's JSON says
``"status": "corrupt"`` or ``"missing"``, ``flask --app wsgi verify`` names it
and exits non-zero, and deleting it still works.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import stored_keys
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
SIZE = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def shared_portal(tmp_path_factory):
    """One server for the module: each test stores its own videos, and the next starts from an empty library."""
    folder = tmp_path_factory.mktemp("corruption")
    running = RunningPortal([sys.executable, "wsgi.py"], folder / "data", log_path=folder / "portal.log")
    yield running
    running.stop()


@pytest.fixture
def portal(shared_portal):
    yield shared_portal
    empty_library(shared_portal)


def empty_library(portal) -> None:
    """Delete every video and empty the trash, through the API as a user would, then check nothing is left."""
    for video in portal.http.get(f"{portal.url}/api/v1/files", params={"per_page": 100}, timeout=10).json()["items"]:
        assert portal.http.delete(video["url"], timeout=10).status_code == 204
    assert portal.http.delete(f"{portal.url}/api/v1/trash", timeout=30).status_code == 204
    assert stored_keys(portal.data_dir) == set()
    assert_database_and_folder_agree(portal.data_dir)


def store(portal, name: str) -> tuple[dict, bytes]:
    data = minimal_mp4(os.urandom(SIZE))
    response = portal.http.post(f"{portal.url}/api/v1/files", params={"filename": name}, data=data, timeout=30)
    assert response.status_code == 201, response.text
    return response.json(), data


def stored_path(portal, video_id: str) -> Path:
    [path] = (portal.data_dir / "files").rglob(video_id)
    return path


def flip_a_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))


def download_completes(portal, url: str, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """(status, bytes received) when the whole announced body arrived; raises when it did not."""
    response = portal.http.get(url, headers=headers or {}, timeout=30)
    return response.status_code, len(response.content)


def run_verify(portal) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_DATA_DIR": str(portal.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "verify"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def status_of(portal, video: dict) -> str:
    return portal.http.get(video["url"], timeout=10).json()["status"]


def assert_refused(response: requests.Response, word: str) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "file_unavailable"
    assert word in error["message"]


def assert_deletes_cleanly(portal, video: dict) -> None:
    """Deleted (to the trash), then purged from it: no row, no bytes."""
    assert portal.http.delete(video["url"], timeout=10).status_code == 204
    assert portal.http.get(video["url"], timeout=10).status_code == 404
    assert portal.http.delete(f"{portal.url}/api/v1/trash/{video['id']}", timeout=10).status_code == 204
    assert video["id"] not in stored_keys(portal.data_dir)
    assert_database_and_folder_agree(portal.data_dir)


@pytest.mark.parametrize("offset", [0, SIZE // 2, -1], ids=["first byte", "middle", "last byte"])
def test_flipped_byte_never_downloads_completely_and_is_then_refused(portal, offset):
    video, _data = store(portal, "flipped.mp4")
    path = stored_path(portal, video["id"])
    flip_a_byte(path, offset % path.stat().st_size)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        download_completes(portal, video["content_url"])
    assert status_of(portal, video) == "corrupt"
    assert_refused(portal.http.get(video["content_url"], timeout=10), "does not match its SHA-256")
    assert_refused(portal.http.get(video["content_url"], headers={"Range": "bytes=0-99"}, timeout=10), "SHA-256")
    assert portal.http.head(video["content_url"], timeout=10).status_code == 409
    assert_deletes_cleanly(portal, video)


@pytest.mark.parametrize("range_header", ["bytes=0-", f"bytes=0-{SIZE * 2}", "bytes=-999999999"])
def test_a_range_covering_the_whole_corrupt_file_is_not_a_complete_success(portal, range_header):
    """Players open a video with ``Range: bytes=0-``: that must be checked like a whole download."""
    video, _data = store(portal, "flipped.mp4")
    flip_a_byte(stored_path(portal, video["id"]), SIZE // 2)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        download_completes(portal, video["content_url"], {"Range": range_header})
    assert status_of(portal, video) == "corrupt"
    assert_deletes_cleanly(portal, video)


def test_a_range_covering_the_whole_intact_file_still_works(portal):
    video, data = store(portal, "fine.mp4")
    response = portal.http.get(video["content_url"], headers={"Range": "bytes=0-"}, timeout=30)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert response.content == data
    assert status_of(portal, video) == "ok"


def test_truncated_file_is_refused_before_any_byte_and_reported_corrupt(portal):
    video, _data = store(portal, "short.mp4")
    path = stored_path(portal, video["id"])
    os.truncate(path, path.stat().st_size - 1)
    assert_refused(portal.http.get(video["content_url"], timeout=10), "bytes instead of")
    assert status_of(portal, video) == "corrupt"
    assert_deletes_cleanly(portal, video)


def test_removed_file_is_refused_and_reported_missing(portal):
    video, _data = store(portal, "gone.mp4")
    stored_path(portal, video["id"]).unlink()
    assert_refused(portal.http.get(video["content_url"], timeout=10), "missing")
    assert_refused(portal.http.get(video["content_url"], headers={"Range": "bytes=0-9"}, timeout=10), "missing")
    assert status_of(portal, video) == "missing"
    listed = portal.http.get(portal.url + "/api/v1/files", timeout=10).json()["items"]
    assert [item["status"] for item in listed] == ["missing"]
    assert portal.http.delete(video["url"], timeout=10).status_code == 204
    assert portal.http.get(video["url"], timeout=10).status_code == 404


def test_file_swapped_for_another_of_the_same_size_never_downloads_completely(portal):
    video, _data = store(portal, "swapped.mp4")
    other, other_data = store(portal, "other.mp4")
    stored_path(portal, video["id"]).write_bytes(other_data)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        download_completes(portal, video["content_url"])
    assert status_of(portal, video) == "corrupt"
    assert download_completes(portal, other["content_url"]) == (200, len(other_data))


def test_verify_command_names_corrupt_and_missing_files_and_exits_non_zero(portal):
    corrupt, _ = store(portal, "corrupt.mp4")
    missing, _ = store(portal, "missing.mp4")
    fine, fine_data = store(portal, "fine.mp4")
    assert run_verify(portal).returncode == 0
    flip_a_byte(stored_path(portal, corrupt["id"]), 1000)
    stored_path(portal, missing["id"]).unlink()

    result = run_verify(portal)
    assert result.returncode != 0, result.stdout + result.stderr
    assert f"CORRUPT: {corrupt['id']} corrupt.mp4" in result.stdout
    assert f"MISSING: {missing['id']} missing.mp4" in result.stdout
    assert fine["id"] not in result.stdout
    assert "checked 3 files: 1 ok, 2 corrupt or missing" in result.stdout
    # What the command found is what the running server now reports.
    assert status_of(portal, corrupt) == "corrupt"
    assert status_of(portal, missing) == "missing"
    assert portal.http.get(fine["content_url"], timeout=30).content == fine_data

    assert_deletes_cleanly(portal, missing)
    assert_deletes_cleanly(portal, corrupt)
    result = run_verify(portal)
    assert result.returncode == 0 and "checked 1 files: 1 ok" in result.stdout


def test_verify_endpoint_reports_corruption_found_at_rest(portal):
    video, _data = store(portal, "rest.mp4")
    flip_a_byte(stored_path(portal, video["id"]), 5)
    response = portal.http.post(video["url"] + "/verify", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "corrupt"
    assert status_of(portal, video) == "corrupt"


def test_connection_broken_by_a_corrupt_download_is_short_of_its_content_length(portal):
    """At the HTTP level: the announced length is never reached, so no client can take it as whole."""
    video, data = store(portal, "flipped.mp4")
    flip_a_byte(stored_path(portal, video["id"]), len(data) - 10)
    connection = http.client.HTTPConnection("127.0.0.1", int(portal.url.rsplit(":", 1)[1]), timeout=30)
    connection.request("GET", video["content_url"].split(portal.url, 1)[1], headers=portal.auth_headers)
    response = connection.getresponse()
    assert response.status == 200 and int(response.headers["Content-Length"]) == len(data)
    with pytest.raises(http.client.IncompleteRead) as raised:
        response.read()
    assert len(raised.value.partial) < len(data)
    connection.close()


def test_a_corrupt_download_cut_short_logs_one_warning_naming_the_video_and_no_traceback(portal):
    """The operator reads what happened in one line, not in waitress's traceback of the exception that cut it."""
    logged_before = len(portal.output())
    video, data = store(portal, "flipped.mp4")
    flip_a_byte(stored_path(portal, video["id"]), SIZE // 2)
    content_path = video["content_url"].split(portal.url, 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30)
    connection.request("GET", content_path, headers=portal.auth_headers)
    response = connection.getresponse()
    # The client reads what it is sent until the server breaks the connection off, then hangs up.
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()
    # The access line is written once waitress closed the connection, after anything it logs of the flush.
    assert wait_until(lambda: f"GET {content_path} 200 " in portal.output()[logged_before:]), portal.output()
    output = portal.output()[logged_before:]
    warnings = [line for line in output.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, output
    assert warnings[0].endswith(
        f"download of video {video['id']} cut short: the bytes of {video_key(portal, video['id'])} no longer match their SHA-256"
    ), output
    assert "Traceback" not in output and "Unexpected exception" not in output and " ERROR " not in output, output


def video_key(portal, video_id: str) -> str:
    """The storage key of a video's original: its path under the files folder."""
    return stored_path(portal, video_id).relative_to(portal.data_dir / "files").as_posix()

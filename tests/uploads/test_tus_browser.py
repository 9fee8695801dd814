"""The upload page's tus client (tus-js-client) in Chromium: chunks, a cut connection, a reload that resumes.

The server runs with small chunks (PORTAL_UPLOAD_CHUNK_BYTES) so a file of a few
hundred KiB takes several PATCHes; playwright's routing watches them, and cuts one.
"""

from __future__ import annotations

import hashlib
import os
import re

import pytest
from playwright.sync_api import Route
from playwright.sync_api import expect

from tests.support import minimal_mp4
from tests.web.test_browser import CHROMIUM
from tests.web.test_browser import HAVE_PLAYWRIGHT
from tests.web.test_browser import VIDEO_URL
from tests.web.test_browser import browser  # noqa: F401  (the module's Chromium)
from tests.web.test_browser import open_page
from tests.web.test_browser import record_upload_progress
from tests.web.test_browser import start_portal

CHUNK = 128 * 1024

pytestmark = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="the playwright pip package is missing: pip install -r requirements-dev.txt"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is missing at /usr/bin/chromium: apt-get install chromium (.ci/run does)"),
]


@pytest.fixture
def portal(tmp_path):
    running = start_portal(tmp_path / "data", {"PORTAL_UPLOAD_CHUNK_BYTES": str(CHUNK)})
    yield running
    running.stop()


@pytest.fixture
def page(browser, portal):  # noqa: F811
    page, csp = open_page(browser, portal)
    yield page
    page.context.close()
    assert csp.violations == []


@pytest.fixture
def video_file(tmp_path):
    data = minimal_mp4(os.urandom(6 * CHUNK))
    path = tmp_path / "resumed clip.mp4"
    path.write_bytes(data)
    return path, data


class Patches:
    """The PATCHes the page sends: their offsets, and which to cut (the connection drops, nothing arrives)."""

    def __init__(self, page, cut_at: set[int] | None = None) -> None:
        self.offsets: list[int] = []
        self.cut: list[int] = []
        self.done: list[int] = []
        self._cut_at = set(cut_at or ())
        page.route(re.compile(r".*/api/v1/uploads/[0-9a-f-]{36}$"), self._handle)
        page.on("requestfinished", self._finished)

    def _handle(self, route: Route) -> None:
        request = route.request
        if request.method == "PATCH":
            offset = int(request.headers["upload-offset"])
            self.offsets.append(offset)
            if offset in self._cut_at:
                self._cut_at.discard(offset)
                self.cut.append(offset)
                route.abort("connectionreset")
                return
        route.continue_()

    def _finished(self, request) -> None:
        if request.method == "PATCH":
            self.done.append(int(request.headers["upload-offset"]))


def stored_sha256(portal, page) -> str:
    video_id = page.url.rsplit("/", 1)[1]
    return portal.api.get(f"{portal.url}/api/v1/files/{video_id}", timeout=10).json()["sha256"]


def test_the_page_sends_a_file_in_tus_chunks_with_the_csrf_token(page, portal, video_file):
    path, data = video_file
    headers: list[dict] = []
    page.on("request", lambda request: headers.append(request.headers) if "/api/v1/uploads" in request.url else None)
    patches = Patches(page)
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files(path)
    with page.expect_navigation(url=VIDEO_URL):
        page.locator("[data-upload-submit]").click()
    assert patches.offsets == list(range(0, len(data), CHUNK))
    assert all(header.get("x-csrftoken") and header.get("tus-resumable") == "1.0.0" for header in headers)
    expect(page.get_by_role("heading", level=1)).to_have_text("resumed clip.mp4")
    assert stored_sha256(portal, page) == hashlib.sha256(data).hexdigest()


def test_a_connection_cut_mid_file_is_retried_by_itself(page, portal, video_file):
    path, data = video_file
    patches = Patches(page, cut_at={2 * CHUNK, 4 * CHUNK})
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files(path)
    with page.expect_navigation(url=VIDEO_URL, timeout=30_000):
        page.locator("[data-upload-submit]").click()
    assert patches.cut == [2 * CHUNK, 4 * CHUNK]
    # Each cut chunk was sent again from where the server stood: nothing was sent twice in full.
    assert patches.offsets.count(2 * CHUNK) == 2 and patches.offsets.count(4 * CHUNK) == 2
    assert stored_sha256(portal, page) == hashlib.sha256(data).hexdigest()


def test_a_reload_then_the_same_file_resumes_and_says_where(page, portal, video_file):
    path, data = video_file
    page.goto(portal.url + "/upload")
    first = Patches(page)
    # The fourth chunk never gets through (each try is cut): the person gives up and reloads the page.
    page.route(re.compile(r".*/api/v1/uploads/[0-9a-f-]{36}$"), lambda route: route.abort("connectionreset")
               if route.request.method == "PATCH" and route.request.headers["upload-offset"] == str(3 * CHUNK)
               else route.fallback())
    page.get_by_label("Choose video files").set_input_files(path)
    page.locator("[data-upload-submit]").click()
    for _ in range(300):
        if len(first.done) >= 3:
            break
        page.wait_for_timeout(50)
    assert first.done[:3] == [0, CHUNK, 2 * CHUNK]
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page while uploading?"
    page.reload()
    # Only now let chunks through again: before the reload, a retry would have got past the cut.
    page.unroute_all(behavior="ignoreErrors")
    again = Patches(page)
    seen = record_upload_progress(page)
    page.get_by_label("Choose video files").set_input_files(path)
    with page.expect_navigation(url=VIDEO_URL, timeout=30_000):
        page.locator("[data-upload-submit]").click()
    assert again.offsets[0] == 3 * CHUNK
    percent = 3 * CHUNK * 100 // len(data)
    assert f"Resuming at {percent}%" in [state["state"] for state in seen], seen
    assert stored_sha256(portal, page) == hashlib.sha256(data).hexdigest()


def test_cancel_stops_the_upload_and_removes_what_the_server_kept(page, portal, video_file):
    path, data = video_file
    patches = Patches(page)
    deletes: list[int] = []
    page.on("requestfinished", lambda request: deletes.append(1) if request.method == "DELETE" else None)
    page.goto(portal.url + "/upload")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024},
    )
    page.get_by_label("Choose video files").set_input_files(path)
    page.locator("[data-upload-submit]").click()
    for _ in range(300):
        if len(patches.done) >= 1:
            break
        page.wait_for_timeout(50)
    page.get_by_role("button", name="Cancel upload").click()
    expect(page.locator(".upload-item [data-state]")).to_have_text("Cancelled")
    expect(page.locator("[data-upload-error]")).to_contain_text("Cancelled")
    for _ in range(100):
        if deletes:
            break
        page.wait_for_timeout(50)
    assert deletes, "the page did not cancel the upload on the server"
    assert list((portal.data_dir / "files" / ".resumable").glob("*.part")) == []
    assert portal.api.get(f"{portal.url}/api/v1/files", timeout=10).json()["total"] == 0
    assert page.url.endswith("/upload")

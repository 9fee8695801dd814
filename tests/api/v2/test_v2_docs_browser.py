"""/api/v2/docs in a real browser: Swagger UI renders v2's document offline, "Try it out" lists videos, and
the docs are one page under the portal's header, v2 first with a switch to v1.

The portal is v1's page test's (tests/api/test_v1_docs_browser.py), chromium the suite's (tests/browsing.py): a ``python wsgi.py``
child and Playwright, every request recorded so that nothing is loaded from elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from tests.api.test_v1_docs_browser import RECORD_CSP_VIOLATIONS
from tests.api.test_v1_docs_browser import assert_clean
from tests.api.test_v1_docs_browser import authorize
from tests.api.test_v1_docs_browser import execute
from tests.api.test_v1_docs_browser import operation
from tests.api.test_v1_docs_browser import portal  # noqa: F401  (fixtures)
from tests.api.test_v1_docs_browser import token  # noqa: F401
from tests.browsing import DESKTOP
from tests.browsing import screenshot
from tests.browsing import sign_in
from tests.support import found
from tests.support import minimal_mp4

pytestmark = [pytest.mark.browser, pytest.mark.server]

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the browser fixture skips then
    pass


def test_v2_docs_page_tries_the_listing_with_a_token(browser, portal, token):  # noqa: F811 (portal and token are imported)
    context = browser.new_context()
    page = context.new_page()
    page.requests, page.failures = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("requestfailed", lambda request: page.failures.append(request.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(portal.url + "/api/v2/docs")
    page.wait_for_selector("#operations-videos-listVideos", timeout=30_000)
    authorize(page, token)
    block = operation(page, "listVideos", tag="videos")
    assert execute(block) == "200"
    body = json.loads(block.locator(".live-responses-table .response-col_description pre").first.inner_text())
    assert body == {"items": [], "next_cursor": None, "total": {"value": 0, "relation": "eq"}}
    assert_clean(page, portal)
    context.close()


def test_the_header_leads_to_v2s_docs_whose_switch_goes_to_v1s_and_back(browser, portal):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, portal)
    page.wait_for_url(portal.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs").click()
    page.wait_for_url(portal.url + "/api/v2/docs")
    page.wait_for_selector("#operations-videos-listVideos", timeout=30_000)
    switch = page.get_by_role("navigation", name="API version")
    expect(switch.get_by_role("link")).to_have_text(["v2 current", "v1 first"])
    expect(switch.get_by_role("link", name="v2")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("main")).to_have_count(1)  # Swagger UI's operations are a region inside the portal's

    switch.get_by_role("link", name="v1").click()
    page.wait_for_url(portal.url + "/api/v1/docs")
    page.wait_for_selector("#operations-files-listFiles", timeout=30_000)
    expect(page.get_by_role("navigation", name="API version").get_by_role("link", name="v1")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("region", name="Operations")).to_be_visible()
    screenshot(page, "docs-v1-desktop", full_page=False)
    assert page.evaluate("window.cspViolations") == []

    page.get_by_role("contentinfo").get_by_role("link", name="API docs").click()
    page.wait_for_url(portal.url + "/api/v2/docs")
    page.locator(".site-header").get_by_role("link", name="Library").click()
    page.wait_for_url(portal.url + "/")
    context.close()


@pytest.mark.parametrize(
    ("path", "tag", "upload_id", "download_id", "delete_id"),
    [
        ("/api/v2/docs", "videos", "uploadVideo", "downloadVideo", "deleteVideo"),
        ("/api/v1/docs", "files", "uploadFile", "downloadFile", "deleteFile"),
    ],
    ids=["v2", "v1"],
)
def test_signed_in_try_it_out_uploads_with_only_a_file_then_downloads_and_deletes(
    browser, portal, token, tmp_path, path, tag, upload_id, download_id, delete_id  # noqa: F811 (imported fixtures)
):
    """Nothing filled in but the file: no optional field (a checksum above all) may come prefilled with a value
    that changes the answer, as a sha256 made up from the document's pattern once did (v2's upload: 422)."""
    video = minimal_mp4(f"from {path}".encode() * 200)
    picked = tmp_path / "picked.mp4"
    picked.write_bytes(video)
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, portal)
    page.wait_for_url(portal.url + "/")
    page.goto(portal.url + path)
    page.wait_for_selector(f"#operations-{tag}-{upload_id}", timeout=30_000)

    upload = operation(page, upload_id, tag=tag)
    upload.locator("input[type=file]").first.set_input_files(str(picked))
    status = execute(upload)
    created = upload.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert status == "201", created
    assert hashlib.sha256(video).hexdigest() in created and '"owner": "admin"' in created
    video_id = found(r'"id":\s*"([0-9a-f-]{36})"', created).group(1)

    download = operation(page, download_id, tag=tag)
    download.locator('tr[data-param-name="video_id"] input').fill(video_id)
    assert execute(download) == "200"
    with page.expect_download() as waiting:
        download.locator(".live-responses-table a", has_text="Download file").click()
    assert Path(waiting.value.path()).read_bytes() == video

    delete = operation(page, delete_id, tag=tag)
    delete.locator('tr[data-param-name="video_id"] input').fill(video_id)
    assert execute(delete) == "204"
    delete.locator(".live-responses-table").scroll_into_view_if_needed()
    screenshot(page, f"docs-try-it-out-{path.split('/')[2]}", full_page=False)
    assert page.evaluate("window.cspViolations") == []
    context.close()
    gone = requests.get(f"{portal.url}/api/v2/videos/{video_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert gone.status_code == 404

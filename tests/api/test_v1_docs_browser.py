"""/api/v1/docs in a real browser: Swagger UI renders offline, "Authorize" takes a token, and "Try it out" calls the API.

The portal runs under waitress in a child process (``python wsgi.py``) on
127.0.0.1; Debian's chromium is driven by Playwright. Every request the page
makes is recorded, so the tests also prove it loads nothing from elsewhere and
breaks no rule of its Content-Security-Policy. The page is open to everyone;
the operations are tried with an admin's token pasted into "Authorize", as a
person holding one would.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import ADMIN_PASSWORD
from tests.support import ADMIN_USERNAME
from tests.support import RunningPortal
from tests.support import found
from tests.support import minimal_mp4

pytestmark = [pytest.mark.browser, pytest.mark.server]

#: Records what the Content-Security-Policy blocked, from the page's first script on.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One portal for the module: each test works on videos of its own and looks at nothing else."""
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path_factory.mktemp("docs") / "data")
    yield running
    running.stop()


@pytest.fixture
def token(portal) -> str:
    """The admin's API token of every scope, seeded by RunningPortal before the server started."""
    return portal.token


def authorize(page, token: str) -> None:
    """Press "Authorize", paste the token for the bearer scheme (the first; v2 also names the session's cookie), and close the dialog."""
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill(token)
    dialog.locator("button.modal-btn.auth.authorize").first.click()
    dialog.locator("button.btn-done").first.click()


@pytest.fixture
def docs(browser, portal, token):
    """The docs page, loaded and authorized with ``token``; ``requests`` lists every URL it asked for,
    ``failures`` the page's own files (not the API's answers) that failed or came back with an error status."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.requests = []
    page.failures = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("requestfailed", lambda request: page.failures.append(request.url))
    page.on(
        "response",
        lambda response: page.failures.append(f"{response.status} {response.url}")
        if response.status >= 400 and "/api/v1/files" not in response.url
        else None,
    )
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(portal.url + "/api/v1/docs")
    page.wait_for_selector("#operations-files-listFiles", timeout=30_000)
    authorize(page, token)
    yield page
    context.close()


def operation(page, operation_id: str, tag: str = "files"):
    """Open an operation's panel and press "Try it out"."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def execute(block) -> str:
    """Press Execute and return the status code shown in the live response."""
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=15_000)
    return status.inner_text().strip()


def assert_clean(page, portal) -> None:
    """Nothing fetched from elsewhere, nothing failed or missing, nothing blocked by the policy."""
    assert page.failures == []
    foreign = [url for url in page.requests if not url.startswith(portal.url) and not url.startswith(("blob:", "data:"))]
    assert foreign == [], "the page must work with no internet"
    assert page.evaluate("window.cspViolations") == []


def test_docs_page_lists_every_operation_offline(docs, portal):
    titles = docs.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/files", "/api/v1/files/{video_id}", "/api/v1/files/{video_id}/content"} <= {
        title.replace("\u200b", "") for title in titles
    }
    assert_clean(docs, portal)


def test_authorized_page_says_who_the_token_belongs_to(docs, portal):
    block = operation(docs, "getMe", tag="account")
    assert execute(block) == "200"
    body = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert json.loads(body)["username"] == "admin"
    assert json.loads(body)["scopes"] == ["delete", "read", "upload"]
    assert_clean(docs, portal)


def test_page_without_authorize_gets_the_documented_401(browser, portal):
    """The page itself is open; its calls without a token are refused as the document says."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(portal.url + "/api/v1/docs")
    page.wait_for_selector("#operations-files-listFiles", timeout=30_000)
    assert page.locator(".auth-wrapper button.authorize").is_visible()
    assert execute(operation(page, "getMe", tag="account")) == "401"
    context.close()


def test_try_it_out_lists_files_with_200(docs, portal):
    block = operation(docs, "listFiles")
    assert execute(block) == "200"
    body = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert '"items"' in body and '"total"' in body
    assert_clean(docs, portal)


def test_try_it_out_uploads_downloads_and_deletes(docs, portal, token, tmp_path):
    video = minimal_mp4()
    path = tmp_path / "from-the-docs.mp4"
    path.write_bytes(video)

    upload = operation(docs, "uploadFile")
    upload.locator("input[type=file]").first.set_input_files(str(path))
    assert execute(upload) == "201"
    created = upload.locator(".live-responses-table .response-col_description pre").first.inner_text()
    video_id = found(r'"id":\s*"([0-9a-f-]{36})"', created).group(1)
    assert hashlib.sha256(video).hexdigest() in created

    download = operation(docs, "downloadFile")
    download.locator('tr[data-param-name="video_id"] input').fill(video_id)
    assert execute(download) == "200"
    link = download.locator(".live-responses-table a", has_text="Download file")
    with docs.expect_download() as waiting:
        link.click()
    saved = waiting.value.path()
    assert Path(saved).read_bytes() == video

    delete = operation(docs, "deleteFile")
    delete.locator('tr[data-param-name="video_id"] input').fill(video_id)
    assert execute(delete) == "204"
    listing = urllib.request.Request(f"{portal.url}/api/v1/files?per_page=100", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(listing) as response:
        assert video_id not in {item["id"] for item in json.load(response)["items"]}
    gone = urllib.request.Request(f"{portal.url}/api/v1/files/{video_id}", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(gone)
    assert refused.value.code == 404
    assert_clean(docs, portal)


def test_try_it_out_uploads_the_raw_body(docs, portal, tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(minimal_mp4())

    upload = operation(docs, "uploadFile")
    upload.locator('select[aria-label="Request content type"]').select_option("application/octet-stream")
    upload.locator('tr[data-param-name="filename"] input').fill("named in the query.mp4")
    upload.locator("input[type=file]").first.set_input_files(str(path))
    assert execute(upload) == "201"
    created = upload.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert '"filename": "named in the query.mp4"' in created
    assert_clean(docs, portal)


def test_signed_in_to_the_pages_try_it_out_needs_no_authorize(browser, portal, tmp_path):
    """With the session cookie, the page sends its CSRF token itself: changes work without a token."""
    path = tmp_path / "by-cookie.mp4"
    path.write_bytes(minimal_mp4())
    context = browser.new_context()
    page = context.new_page()
    page.goto(portal.url + "/login")
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal.url + "/")
    page.goto(portal.url + "/api/v1/docs")
    page.wait_for_selector("#operations-files-listFiles", timeout=30_000)
    upload = operation(page, "uploadFile")
    upload.locator("input[type=file]").first.set_input_files(str(path))
    assert execute(upload) == "201"
    created = upload.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert '"owner": "admin"' in created
    context.close()

"""The pages in a real browser: Debian's Chromium driven by playwright, against ``python wsgi.py``.

What a person does: sign in through the form, upload and watch the progress bar,
play and seek the video, download it, delete it, make an API token. Each test
signs in as the admin ``admin`` (made here when the server was not started with
one); the videos it needs are seeded through the API with a token of theirs. Screenshots of every page go to
``test-artifacts/web/`` (not committed) so that a person can look at them.
Without Chromium or playwright these tests skip; ``.ci/run`` makes such a skip a failure.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import requests

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import PHONE
from tests.browsing import VIDEO_URL
from tests.browsing import empty_library
from tests.browsing import open_page
from tests.browsing import record_upload_progress
from tests.browsing import screenshot
from tests.browsing import seed
from tests.browsing import sign_in
from tests.browsing import start_portal
from tests.browsing import submit_sign_in
from tests.support import ADMIN_PASSWORD
from tests.support import ADMIN_USERNAME as ADMIN
from tests.support import minimal_mp4

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped then
    pass

pytestmark = BROWSER_MODULE_MARKS


@pytest.fixture(scope="module")
def shared_portal(tmp_path_factory):
    # Room for the few MiB these tests send, whatever small limit the suite runs with.
    running = start_portal(tmp_path_factory.mktemp("browser") / "data", {"PORTAL_MAX_CONTENT_LENGTH": str(64 * 1024 * 1024)})
    yield running
    running.stop()


@pytest.fixture
def portal(shared_portal):
    """The module's portal as a new one would be: an empty library, and signed in afresh (a test may sign out)."""
    empty_library(shared_portal)
    shared_portal.browser_state = None
    return shared_portal


# --- uploading -----------------------------------------------------------------


def test_upload_through_the_form_fills_the_progress_bar_and_opens_the_video(page, portal, real_mp4, tmp_path):
    path = tmp_path / "Sample clip.mp4"
    path.write_bytes(real_mp4)
    page.goto(portal.url + "/upload")
    expect(page.get_by_role("heading", name="Upload videos")).to_be_visible()
    screenshot(page, "upload")
    seen = record_upload_progress(page)
    page.get_by_label("Choose video files").set_input_files(path)
    expect(page.locator("[data-chosen]")).to_contain_text("Sample clip.mp4")
    with page.expect_navigation(url=VIDEO_URL):
        page.locator("[data-upload-submit]").click()
    assert seen, "the progress list never changed"
    assert max(state["value"] for state in seen) == 100
    assert seen[-1]["state"] == "Uploaded"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sample clip.mp4")
    video_id = page.url.rsplit("/", 1)[1]
    stored = portal.api.get(f"{portal.url}/api/v1/files/{video_id}", timeout=10).json()
    assert stored["sha256"] == hashlib.sha256(real_mp4).hexdigest()


def test_slow_upload_shows_percent_speed_and_time_left(page, portal, tmp_path):
    path = tmp_path / "slow.mp4"
    path.write_bytes(minimal_mp4(bytes(480 * 1024)))
    page.goto(portal.url + "/upload")
    seen = record_upload_progress(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024},
    )
    page.get_by_label("Choose video files").set_input_files(path)
    page.locator("[data-upload-submit]").click()
    page.wait_for_function(
        "() => /% · .* left/.test(document.querySelector('[data-stats]')?.textContent || '')"
    )
    screenshot(page, "upload-progress")
    page.wait_for_url(VIDEO_URL, timeout=60_000)
    during = [state for state in seen if 0 < state["value"] < 100]
    assert during, f"no progress was shown between 0 and 100%: {seen}"
    assert any(re.fullmatch(r"\d+% · [\d.]+ (KiB|MiB) of [\d.]+ KiB · [\d.]+ (bytes|KiB|MiB)/s · .+ s left", state["stats"]) for state in during), during


def test_refused_upload_shows_the_error_on_the_page(page, portal, tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"these are notes, not a video\n" * 20)
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files(path)
    page.locator("[data-upload-submit]").click()
    error = page.locator("[data-upload-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This file is not a video this portal recognises. Accepted formats: MP4")
    expect(page.locator(".upload-item [data-state]")).to_have_text("Not uploaded")
    assert page.url.endswith("/upload")
    assert "{" not in error.inner_text()
    screenshot(page, "upload-error")


def test_several_files_upload_one_after_the_other_then_the_library(page, portal, real_mp4, real_webm, tmp_path):
    mp4 = tmp_path / "first.mp4"
    webm = tmp_path / "second.webm"
    mp4.write_bytes(real_mp4)
    webm.write_bytes(real_webm)
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files([mp4, webm])
    expect(page.locator("[data-chosen]")).to_contain_text("2 files chosen")
    with page.expect_navigation(url=portal.url + "/"):
        page.locator("[data-upload-submit]").click()
    expect(page.locator(".video-card__title")).to_have_text(["second.webm", "first.mp4"])


def test_upload_form_works_without_javascript(browser, portal, real_mp4, tmp_path):
    path = tmp_path / "plain.mp4"
    path.write_bytes(real_mp4)
    page, csp = open_page(browser, portal, java_script_enabled=False)
    try:
        page.goto(portal.url + "/upload")
        page.get_by_label("Choose video files").set_input_files(path)
        with page.expect_navigation(url=VIDEO_URL):
            page.locator("[data-upload-submit]").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("plain.mp4")
    finally:
        page.context.close()
    assert csp.violations == []


# --- watching and downloading ------------------------------------------------------


def test_video_loads_plays_and_seeks_to_the_middle(page, portal, real_mp4):
    video = seed(portal, real_mp4, "clip.mp4")
    statuses = []
    page.on("response", lambda response: statuses.append(response.status) if "/stream" in response.url else None)
    page.goto(f"{portal.url}/videos/{video['id']}")
    player = page.locator("video[data-player]")
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    duration = player.evaluate("video => video.duration")
    assert 1.5 < duration < 2.5
    player.evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    player.evaluate("video => video.pause()")
    middle = duration / 2
    player.evaluate(
        "(video, middle) => new Promise((done) => { video.addEventListener('seeked', done, {once: true}); video.currentTime = middle; })",
        middle,
    )
    assert abs(player.evaluate("video => video.currentTime") - middle) < 0.1
    page.wait_for_function("() => document.querySelector('video').readyState >= 2")
    assert 206 in statuses, statuses
    screenshot(page, "video")


def test_download_gives_the_same_sha256(page, portal, real_mp4):
    video = seed(portal, real_mp4, "keep me.mp4")
    page.goto(f"{portal.url}/videos/{video['id']}")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "keep me.mp4"
    assert hashlib.sha256(Path(download.path()).read_bytes()).hexdigest() == video["sha256"]
    expect(page.locator("[data-sha256]")).to_have_text(video["sha256"])


# --- deleting ------------------------------------------------------------------------


def test_delete_through_the_dialog_moves_the_video_to_the_trash(page, portal, real_mp4):
    video = seed(portal, real_mp4, "unwanted.mp4")
    seed(portal, real_mp4, "wanted.mp4")
    page.goto(f"{portal.url}/videos/{video['id']}")
    page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this video?")
    expect(dialog).to_be_visible()
    screenshot(page, "delete-dialog", full_page=False)  # the backdrop covers the window, not the whole page
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("link", name="Delete").click()
    with page.expect_navigation(url=portal.url + "/"):
        dialog.get_by_role("button", name="Move to trash").click()
    expect(page.locator(".alert--undo > span")).to_have_text("Moved to trash: “unwanted.mp4”.")
    expect(page.locator(".video-card__title")).to_have_text(["wanted.mp4"])
    assert portal.api.get(f"{portal.url}/api/v1/files/{video['id']}", timeout=10).status_code == 404


def test_delete_through_the_confirmation_page_without_javascript(browser, portal, real_mp4):
    video = seed(portal, real_mp4, "unwanted.mp4")
    page, csp = open_page(browser, portal, java_script_enabled=False)
    try:
        page.goto(f"{portal.url}/videos/{video['id']}")
        page.get_by_role("link", name="Delete").click()
        page.wait_for_url(f"{portal.url}/videos/{video['id']}/delete")
        expect(page.get_by_role("heading", name="Delete this video?")).to_be_visible()
        screenshot(page, "delete-confirmation")
        with page.expect_navigation(url=portal.url + "/"):
            page.get_by_role("button", name="Move to trash").click()
        expect(page.locator(".alert--undo > span")).to_have_text("Moved to trash: “unwanted.mp4”.")
        expect(page.get_by_role("heading", name="Your library is empty")).to_be_visible()
    finally:
        page.context.close()
    assert csp.violations == []
    assert portal.api.get(f"{portal.url}/api/v1/files/{video['id']}", timeout=10).status_code == 404


# --- how the pages look ----------------------------------------------------------------


def test_library_pages_on_a_laptop_and_a_phone(browser, page, portal, real_mp4, real_webm):
    page.goto(portal.url + "/")
    expect(page.get_by_role("heading", name="Your library is empty")).to_be_visible()
    screenshot(page, "library-empty")
    seed(portal, real_mp4, "Holiday at the sea – day one.mp4")
    seed(portal, real_webm, "<script>alert(1)</script>.webm")
    seed(portal, minimal_mp4(bytes(3 * 1024 * 1024)), "a-very-long-file-name-without-any-spaces-from-a-phone-camera-20261124.mp4")
    page.goto(portal.url + "/")
    expect(page.locator(".video-card")).to_have_count(3)
    screenshot(page, "library")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    phone, csp = open_page(browser, portal, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        phone.goto(portal.url + "/")
        screenshot(phone, "library-phone")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.goto(portal.url + "/upload")
        screenshot(phone, "upload-phone")
        video_id = portal.api.get(portal.url + "/api/v1/files?sort=-size", timeout=10).json()["items"][0]["id"]
        phone.goto(f"{portal.url}/videos/{video_id}")
        screenshot(phone, "video-phone")
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        phone.context.close()
    assert csp.violations == []


def test_error_pages_match_the_site(page, portal):
    response = page.goto(portal.url + "/videos/0b0c7d4e-1111-4222-8333-444455556666")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot(page, "error-404")
    response = page.goto(portal.url + "/?sort=biggest")
    assert response.status == 400
    screenshot(page, "error-400")


def test_expired_form_says_so_and_stores_nothing(browser, portal, real_mp4, tmp_path):
    path = tmp_path / "late.mp4"
    path.write_bytes(real_mp4)
    page, csp = open_page(browser, portal, java_script_enabled=False)
    try:
        page.goto(portal.url + "/upload")
        # Signing out and in again in another tab starts a new session: the form's token belonged to the old one.
        other = page.context.new_page()
        other.goto(portal.url + "/")
        other.get_by_role("button", name="Sign out").click()
        sign_in(other, portal)
        expect(other.get_by_role("link", name=re.compile(ADMIN))).to_be_visible()
        page.get_by_label("Choose video files").set_input_files(path)
        with page.expect_navigation() as navigation:
            page.locator("[data-upload-submit]").click()
        assert navigation.value.status == 400
        expect(page.locator("[data-error-message]")).to_have_text("Sorry, the form expired, please try again.")
        expect(page.get_by_role("link", name="Back to the form")).to_have_attribute("href", portal.url + "/upload")
        screenshot(page, "error-form-expired")
    finally:
        page.context.close()
    assert csp.violations == []
    assert portal.api.get(portal.url + "/api/v1/files", timeout=10).json()["total"] == 0
    assert [p for p in (portal.data_dir / "files").rglob("*") if p.is_file()] == []


def test_dark_scheme_keeps_the_pages_readable(browser, portal, real_mp4):
    video = seed(portal, real_mp4, "night.mp4")
    page, csp = open_page(browser, portal, color_scheme="dark")
    try:
        page.goto(portal.url + "/")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        text = page.evaluate("getComputedStyle(document.body).color")
        assert background == "rgb(16, 18, 24)" and text == "rgb(236, 238, 245)"
        screenshot(page, "library-dark")
        page.goto(f"{portal.url}/videos/{video['id']}")
        screenshot(page, "video-dark")
    finally:
        page.context.close()
    assert csp.violations == []


def test_delete_dialog_works_from_the_keyboard(page, portal, real_mp4):
    video = seed(portal, real_mp4, "keyboard.mp4")
    page.goto(f"{portal.url}/videos/{video['id']}")
    delete_link = page.get_by_role("link", name="Delete")
    delete_link.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete this video?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete_link).to_be_focused()
    screenshot(page, "video-keyboard-focus", full_page=False)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Move to trash")).to_be_focused()
    with page.expect_navigation(url=portal.url + "/"):
        page.keyboard.press("Enter")
    expect(page.locator(".alert--undo > span")).to_have_text("Moved to trash: “keyboard.mp4”.")


def test_too_large_file_is_refused_saying_the_limit(browser, tmp_path):
    limit = 256 * 1024
    running = start_portal(tmp_path / "data", {"PORTAL_MAX_CONTENT_LENGTH": str(limit)})
    path = tmp_path / "big.mp4"
    path.write_bytes(minimal_mp4(bytes(limit)))
    message = f"The file is larger than the limit of 256.0 KiB ({limit} bytes)."
    scripted, scripted_csp = open_page(browser, running)
    plain, plain_csp = open_page(browser, running, java_script_enabled=False)
    try:
        scripted.goto(running.url + "/upload")
        scripted.get_by_label("Choose video files").set_input_files(path)
        scripted.locator("[data-upload-submit]").click()
        expect(scripted.locator("[data-upload-error]")).to_have_text(message)

        plain.goto(running.url + "/upload")
        plain.get_by_label("Choose video files").set_input_files(path)
        with plain.expect_navigation() as navigation:
            plain.locator("[data-upload-submit]").click()
        assert navigation.value.status == 413
        expect(plain.get_by_role("heading", level=1)).to_have_text("File too large")
        expect(plain.locator("[data-error-message]")).to_have_text(message)
        screenshot(plain, "error-413")
    finally:
        scripted.context.close()
        plain.context.close()
        running.stop()
    assert scripted_csp.violations == [] and plain_csp.violations == []
    assert [p for p in (tmp_path / "data" / "files").rglob("*") if p.is_file()] == []


# --- accounts ------------------------------------------------------------------------


def test_sign_in_through_the_form_then_sign_out(browser, portal):
    page, csp = open_page(browser)
    try:
        page.goto(portal.url + "/")
        page.wait_for_url(re.compile(r"/login\?next=/$"))
        with page.expect_navigation() as navigation:
            submit_sign_in(page, "not-the-password")
        assert navigation.value.status == 401
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password, or the account is disabled.")
        screenshot(page, "login-error")
        with page.expect_navigation(url=portal.url + "/"):
            submit_sign_in(page, ADMIN_PASSWORD)
        account_link = page.get_by_role("link", name="admin (admin)")
        expect(account_link).to_have_attribute("href", "/account")
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
        with page.expect_navigation(url=portal.url + "/login"):
            page.get_by_role("button", name="Sign out").click()
        expect(page.locator(".alert--success")).to_have_text("Signed out.")
        page.goto(portal.url + "/upload")
        page.wait_for_url(re.compile(r"/login\?next=/upload$"))
    finally:
        page.context.close()
    assert csp.violations == []


def test_a_token_made_on_the_account_page_is_shown_once_and_copied(page, portal):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    page.goto(portal.url + "/account")
    page.get_by_label("Label").fill("nightly backup")
    page.get_by_label("upload").check()
    page.get_by_label("Expires after (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    value_field = page.locator("[data-token-value]")
    value = value_field.input_value()
    assert value.startswith("ptl_")
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-label]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == value
    row = page.locator("tr", has_text="nightly backup")
    expect(row).to_contain_text("read upload")
    screenshot(page, "account-token")
    me = requests.get(portal.url + "/api/v1/me", headers={"Authorization": f"Bearer {value}"}, timeout=10)
    assert me.status_code == 200 and me.json()["username"] == ADMIN
    page.goto(portal.url + "/account")
    expect(page.locator("[data-token-value]")).to_have_count(0)
    assert value not in page.content()
    page.goto(portal.url + "/admin/users")
    page.get_by_label("Username", exact=True).fill("ann.editor")
    page.get_by_label("Password", exact=True).fill("a long enough secret")
    page.get_by_label("Role", exact=True).select_option("uploader")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".alert--success")).to_have_text("Added ann.editor (uploader).")
    page.get_by_role("button", name="Disable ann.editor").click()
    expect(page.locator("tr[data-user='ann.editor']")).to_contain_text("Disabled")
    expect(page.locator("tr[data-user='admin']")).to_contain_text("Active")
    screenshot(page, "admin-users")

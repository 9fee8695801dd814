"""The trash in Chromium: Undo right after a delete, then the Trash page's Restore, Delete forever and Empty trash.

Screenshots go to ``test-artifacts/web/`` beside the other pages' (not committed).
"""

from __future__ import annotations

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import screenshot
from tests.browsing import seed
from tests.browsing import start_portal
from tests.support import minimal_mp4

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped then
    pass

pytestmark = BROWSER_MODULE_MARKS


@pytest.fixture
def portal(tmp_path):
    running = start_portal(tmp_path / "data", {})
    yield running
    running.stop()


def delete_through_the_dialog(page, portal, video: dict) -> None:
    page.goto(f"{portal.url}/videos/{video['id']}")
    page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this video?")
    expect(dialog).to_contain_text("moves to the trash, where it can be restored for 30 days")
    with page.expect_navigation(url=portal.url + "/"):
        dialog.get_by_role("button", name="Move to trash").click()


def test_undo_right_after_a_delete_brings_the_video_back(page, portal):
    video = seed(portal, minimal_mp4(b"undo me" * 50), "slip.mp4")
    delete_through_the_dialog(page, portal, video)
    message = page.locator(".alert--undo")
    expect(message).to_contain_text("Moved to trash: “slip.mp4”.")
    expect(page.get_by_role("link", name="1 in the trash", exact=False)).to_be_visible()
    screenshot(page, "trash-undo", full_page=False)
    with page.expect_navigation(url=f"{portal.url}/videos/{video['id']}"):
        message.get_by_role("button", name="Undo").click()
    expect(page.locator(".alert--success")).to_have_text("Restored “slip.mp4”.")
    expect(page.get_by_role("heading", level=1)).to_have_text("slip.mp4")
    restored = portal.api.get(f"{portal.url}/api/v1/files/{video['id']}", timeout=10)
    assert restored.status_code == 200 and restored.json()["sha256"] == video["sha256"]


def test_the_trash_page_restores_deletes_forever_and_empties(page, portal):
    videos = [seed(portal, minimal_mp4(name.encode() * 50), name) for name in ("first.mp4", "second.mp4", "third.mp4")]
    for video in videos:
        assert portal.api.delete(f"{portal.url}/api/v1/files/{video['id']}", timeout=10).status_code == 204
    page.goto(portal.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("[data-time-left]")).to_have_text("30 days")  # rounded: deleted a moment ago
    screenshot(page, "trash-page")

    with page.expect_navigation(url=f"{portal.url}/videos/{videos[0]['id']}"):
        page.locator(f"tr[data-video='{videos[0]['id']}']").get_by_role("button", name="Restore first.mp4").click()
    expect(page.locator(".alert--success")).to_have_text("Restored “first.mp4”.")

    page.goto(portal.url + "/trash")
    page.locator(f"tr[data-video='{videos[1]['id']}']").get_by_role("link", name="Delete forever second.mp4").click()
    expect(page.get_by_role("heading", name="Delete this video forever?")).to_be_visible()
    screenshot(page, "trash-delete-forever")
    with page.expect_navigation(url=portal.url + "/trash"):
        page.get_by_role("button", name="Delete forever").click()
    expect(page.locator(".alert--success")).to_have_text("Deleted “second.mp4” for good.")
    expect(rows).to_have_count(1)

    page.get_by_role("link", name="Empty trash").click()
    with page.expect_navigation(url=portal.url + "/trash"):
        page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_role("heading", name="The trash is empty")).to_be_visible()
    assert portal.api.get(f"{portal.url}/api/v1/trash", timeout=10).json()["total"] == 0
    assert portal.api.get(f"{portal.url}/api/v1/files", timeout=10).json()["total"] == 1

"""The pages against the standard audits, by keyboard, and after each form: axe-core in Chromium.

One portal (with a job consumer, so that the shared video has a poster) and one
browser serve every test of the module. The audit runs axe-core (vendored in
``tests/vendor/axe-core``, injected with ``bypass_csp`` so the pages' own policy
stays as it is) over every kind of page at a laptop's and a phone's width, in the
light and the dark scheme, and fails on any violation of WCAG 2.1 AA or of
axe's best practices, listing them all. Screenshots go to
``test-artifacts/web/a11y-*.png`` (``a11y-docs-*`` for the docs pages).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import DESKTOP
from tests.browsing import PHONE
from tests.browsing import describe
from tests.browsing import open_page
from tests.browsing import processed
from tests.browsing import screenshot
from tests.browsing import seed
from tests.browsing import start_portal
from tests.browsing import submit_sign_in
from tests.support import minimal_mp4

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped then
    pass

pytestmark = BROWSER_MODULE_MARKS

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
#: What the audit holds the pages to: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: Swagger UI's markup, not the portal's: each operation's summary is a button holding the copy-link
#: button (and, signed in, the lock of "Authorize"), one interactive element inside another. It is
#: upstream's to change (swagger-api/swagger-ui); everything else on the docs pages must pass.
DOCS_EXCEPTIONS = {"nested-interactive"}
#: A window no taller than a small laptop's, where a link at the bottom of the page is out of sight.
SHORT_LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = start_portal(tmp_path_factory.mktemp("a11y") / "data", {"PORTAL_JOB_WORKERS": "1"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def library(portal, real_mp4) -> dict[str, Any]:
    """A small library: a described, tagged, processed video with a share link, another one, one in the trash."""
    beach = processed(portal, seed(portal, real_mp4, "beach.mp4"))
    assert beach["processing"]["state"] == "done"
    describe(portal, beach, title="Beach at noon", description="Waves on the sand, seen from the dunes.", tags=["sea", "summer"])
    other = seed(portal, minimal_mp4(b"harbour " * 300), "harbour.mp4")
    describe(portal, other, title="Harbour", tags=["sea"])
    binned = seed(portal, minimal_mp4(b"binned " * 300), "binned.mp4")
    assert portal.api.delete(binned["url"], timeout=10).status_code == 204
    share = portal.api.post(f"{beach['url']}/shares", json={"days": 7}, timeout=10)
    assert share.status_code == 201, share.text
    return {"beach": beach, "other": other, "share_url": share.json()["url"]}


# --- 1. the audit ---------------------------------------------------------------------------


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
          const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
          return results.violations.map((violation) => ({
            id: violation.id, impact: violation.impact, help: violation.help,
            nodes: violation.nodes.slice(0, 12).map((node) => ({target: node.target.join(" "), html: node.html.slice(0, 160),
                                                               summary: node.failureSummary})),
          }));
        }""",
        AXE_TAGS,
    )


def audited_pages(portal, library) -> tuple[list[str], list[str]]:
    """The paths a signed-in admin sees, and those a visitor sees (the sign-in, a share link, a 404)."""
    video = library["beach"]["id"]
    signed_in = [
        "/",
        "/?q=beach",
        "/?tag=sea",
        f"/videos/{video}",
        "/upload",
        "/account",
        "/admin/users",
        "/trash",
        "/no/such/page",
        "/api/v1/docs",
        "/api/v2/docs",
    ]
    visitor = ["/login", library["share_url"].removeprefix(portal.url)]
    return signed_in, visitor


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_page_passes_axe_in_both_schemes_at_both_widths(browser, portal, library, scheme, width):
    viewport = DESKTOP if width == "desktop" else PHONE
    signed_in, visitor = audited_pages(portal, library)
    found: dict[str, list[dict]] = {}
    missing_description: list[str] = []
    for paths, who in ((signed_in, portal), (visitor, None)):
        page, _ = open_page(browser, who, viewport=viewport, color_scheme=scheme, bypass_csp=True)
        try:
            for path in paths:
                page.goto(portal.url + path)
                if "/docs" in path:
                    page.wait_for_selector(".opblock-summary-method")
                violations = run_axe(page)
                if "/docs" in path:
                    violations = [violation for violation in violations if violation["id"] not in DOCS_EXCEPTIONS]
                    screenshot(page, f"a11y-docs-{path.split('/')[2]}-{width}-{scheme}", full_page=False)
                if violations:
                    found[path] = violations
                if not page.evaluate("(document.querySelector('meta[name=description]')?.content || '').trim()"):
                    missing_description.append(path)
            screenshot(page, f"a11y-share-{width}-{scheme}")
        finally:
            page.context.close()
    assert not found, f"axe ({width}, {scheme}):\n" + json.dumps(found, indent=1, ensure_ascii=False)
    assert missing_description == []


# --- 2. sorting by keyboard -------------------------------------------------------------------


def test_the_sort_list_waits_for_apply_so_arrow_keys_choose_without_reloading(page, portal, library):
    page.goto(portal.url + "/")
    select = page.get_by_label("Sort by")
    select.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(select).to_be_focused()  # no reload took the focus away
    expect(select).to_have_value("size")
    assert page.url == portal.url + "/"
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Apply")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]sort=size(&|$)"))
    expect(page.get_by_label("Sort by")).to_have_value("size")


def test_enter_on_the_sort_list_applies_the_order_the_arrow_keys_chose(page, portal, library):
    page.goto(portal.url + "/")
    select = page.get_by_label("Sort by")
    select.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(select).to_be_focused()
    assert page.url == portal.url + "/"
    with page.expect_navigation(url=re.compile(r"[?&]sort=size(&|$)")):
        page.keyboard.press("Enter")
    expect(page.get_by_label("Sort by")).to_have_value("size")
    # The cards are in the order chosen: largest first.
    videos = portal.api.get(portal.url + "/api/v1/files?per_page=100", timeout=10).json()["items"]
    largest = max(videos, key=lambda video: video["size"])
    expect(page.locator(".video-card").first.locator(f"a[href='/videos/{largest['id']}']")).to_have_count(1)


# --- 3. focus after a form ----------------------------------------------------------------------


def test_after_a_search_or_a_tag_the_heading_names_the_results_and_has_the_focus(page, portal, library):
    page.goto(portal.url + "/")
    page.get_by_label("Search titles, descriptions and tags").fill("beach")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=beach"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Library: 1 video matching “beach”")
    expect(heading).to_be_focused()

    page.goto(f"{portal.url}/videos/{library['other']['id']}")
    page.locator("main > .chips").get_by_role("link", name="sea").click()
    expect(page).to_have_url(re.compile(r"\?tag=sea$"))
    expect(heading).to_have_text("Library: 2 videos tagged “sea”")
    expect(heading).to_be_focused()
    screenshot(page, "a11y-tag-focus", full_page=False)


def test_after_saving_details_focus_is_on_the_message_that_says_so(page, portal, library):
    page.goto(f"{portal.url}/videos/{library['other']['id']}")
    page.get_by_role("button", name="Save details").click()
    message = page.get_by_role("status").filter(has_text="Saved the details of “Harbour”.")
    expect(message).to_be_focused()
    expect(message).to_be_in_viewport()


def test_after_a_failed_sign_in_focus_is_on_the_alert(browser, portal):
    visitor, csp = open_page(browser)
    try:
        visitor.goto(portal.url + "/login")
        submit_sign_in(visitor, "not the password")
        alert = visitor.locator("main .alert[role=alert]")
        expect(alert).to_contain_text("Wrong username or password")
        expect(alert).to_be_focused()
    finally:
        visitor.context.close()
    assert csp.violations == []


# --- 4. the one-time share link in sight ----------------------------------------------------------


@pytest.mark.parametrize("viewport", [SHORT_LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_new_share_link_has_the_focus_and_is_in_view(browser, portal, library, viewport):
    page, csp = open_page(browser, portal, viewport=viewport)
    try:
        page.goto(f"{portal.url}/videos/{library['other']['id']}")
        page.get_by_role("button", name="Create share link").click()
        link = page.get_by_role("textbox", name="New share link")
        expect(link).to_be_focused()
        expect(link).to_be_in_viewport(ratio=1)
        assert link.evaluate("input => input.selectionEnd - input.selectionStart") == len(link.input_value())
        screenshot(page, f"a11y-new-share-{'phone' if viewport is PHONE else 'laptop'}", full_page=False)
    finally:
        page.context.close()
    assert csp.violations == []


# --- 5. link previews ------------------------------------------------------------------------------


def test_a_share_page_previews_with_open_graph_tags_that_reach_only_that_video(browser, portal, library):
    visitor, csp = open_page(browser)
    try:
        visitor.goto(library["share_url"])
        meta = visitor.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("meta[property^='og:'], meta[name=description]")]
                 .map((tag) => [tag.getAttribute("property") || tag.getAttribute("name"), tag.content]))"""
        )
    finally:
        visitor.context.close()
    assert csp.violations == []
    share_url = library["share_url"]
    assert meta["og:title"] == "Beach at noon"
    assert meta["og:description"] == meta["description"] == "Waves on the sand, seen from the dunes."
    assert meta["og:type"] == "video.other"
    assert meta["og:url"] == share_url
    assert meta["og:image"] == share_url + "/poster"
    assert meta["og:video"] == share_url + "/stream"
    # A preview fetcher holds the link and nothing else: no cookie, no token.
    poster = requests.get(meta["og:image"], timeout=10)
    assert poster.status_code == 200 and poster.headers["Content-Type"] == "image/jpeg"
    stream = requests.get(meta["og:video"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert stream.status_code == 206 and len(stream.content) == 100
    assert meta["og:video:type"] == stream.headers["Content-Type"].split(";")[0]


# --- 6. "Uploaded" after the upload page's script ----------------------------------------------------


def test_the_page_an_upload_opens_says_uploaded_for_one_file_and_for_a_batch(page, portal, tmp_path):
    one = tmp_path / "one.mp4"
    one.write_bytes(minimal_mp4(b"one " * 400))
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files(one)
    with page.expect_navigation(url=re.compile(r"/videos/[0-9a-f-]{36}$")):
        page.locator("[data-upload-submit]").click()
    status = page.get_by_role("status").filter(has_text="Uploaded “one.mp4”.")
    expect(status).to_be_visible()
    expect(status).to_be_focused()
    page.reload()  # said once
    expect(page.get_by_role("status").filter(has_text="Uploaded")).to_have_count(0)

    batch = [tmp_path / "two.mp4", tmp_path / "three.mp4"]
    for path in batch:
        path.write_bytes(minimal_mp4(path.name.encode() * 400))
    page.goto(portal.url + "/upload")
    page.get_by_label("Choose video files").set_input_files(batch)
    with page.expect_navigation(url=portal.url + "/"):
        page.locator("[data-upload-submit]").click()
    expect(page.get_by_role("status").filter(has_text="Uploaded 2 videos: “two.mp4”, “three.mp4”.")).to_be_visible()
    screenshot(page, "a11y-uploaded-batch", full_page=False)


# --- 7. the player's controls seen ---------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_player_shows_the_focus_ring_while_its_controls_have_the_keyboard(browser, portal, library, scheme):
    page, csp = open_page(browser, portal, color_scheme=scheme)
    try:
        page.goto(f"{portal.url}/videos/{library['beach']['id']}")
        video = page.locator("video")
        page.locator("main > .chips a").last.focus()
        # Tab on into the player, then through its own controls (play, the timeline, volume, ...): at each
        # stop inside it, the ring shows round the player.
        seen: list[dict] = []
        for _ in range(12):
            page.keyboard.press("Tab")
            stop = video.evaluate(
                """video => ({inside: video.matches(':focus-within'), self: document.activeElement === video,
                             style: [getComputedStyle(video).outlineStyle, getComputedStyle(video).outlineWidth]})"""
            )
            if not stop["inside"]:
                if seen:
                    break
                continue
            seen.append(stop)
            if len(seen) == 2:
                screenshot(page, f"a11y-player-focus-{scheme}", full_page=False)
        assert len(seen) >= 2, f"Tab reached no control of the player: {seen}"
        assert all(stop["style"] == ["solid", "3px"] for stop in seen), seen
    finally:
        page.context.close()
    assert csp.violations == []

"""The pages as people use them, in Chromium: clicks at what they see, on a laptop and on a phone.

One portal (with a job consumer, so that posters are made and a broken file
fails its processing) and one browser serve every test of the module; each
test seeds the videos it needs and looks only at those. Screenshots at
1280x800 and 390x844 go to ``test-artifacts/web/first-visit-*.png``.
"""

from __future__ import annotations

import re

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import PHONE
from tests.browsing import VIDEO_URL
from tests.browsing import describe
from tests.browsing import open_page
from tests.browsing import processed
from tests.browsing import screenshot
from tests.browsing import seed
from tests.browsing import start_portal
from tests.support import ADMIN_PASSWORD
from tests.support import ADMIN_USERNAME
from tests.support import minimal_mp4

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped then
    pass

pytestmark = BROWSER_MODULE_MARKS

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = start_portal(tmp_path_factory.mktemp("first-visit") / "data", {"PORTAL_JOB_WORKERS": "1"})
    yield running
    running.stop()


def click_centre(page, locator) -> None:
    """A click where a person's pointer lands: the middle of what they see, whatever lies on top of it."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, "not on the screen"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def card_of(page, title: str):
    return page.locator(".video-card").filter(has=page.get_by_role("link", name=title, exact=True))


# --- the library's cards --------------------------------------------------------------


def test_a_chip_on_a_card_filters_by_its_tag_and_the_rest_of_the_card_opens_the_video(page, portal):
    video = seed(portal, minimal_mp4(b"chip card " * 200), "chip-card.mp4")
    describe(portal, video, title="Chip card", tags=["cardtag"])
    page.goto(portal.url + "/")
    card = card_of(page, "Chip card")
    click_centre(page, card.get_by_role("link", name="cardtag"))
    expect(page).to_have_url(re.compile(r"/\?tag=cardtag$"))
    expect(page.locator(".video-card")).to_have_count(1)

    click_centre(page, card_of(page, "Chip card").locator(".video-card__poster"))
    expect(page).to_have_url(f"{portal.url}/videos/{video['id']}")
    page.go_back()
    click_centre(page, card_of(page, "Chip card").locator(".video-card__meta"))
    expect(page).to_have_url(f"{portal.url}/videos/{video['id']}")


def test_a_card_whose_processing_failed_says_so_and_the_filter_lists_it(page, portal, real_mp4):
    broken = processed(portal, seed(portal, minimal_mp4(b"not a picture " * 300), "broken-clip.mp4"))
    assert broken["processing"]["state"] == "failed"
    fine = processed(portal, seed(portal, real_mp4, "plays-fine.mp4"))
    assert fine["processing"]["state"] == "done"
    page.goto(portal.url + "/")
    card = card_of(page, "broken-clip.mp4")
    expect(card).to_contain_text("Processing failed")
    expect(card.locator(".badge").filter(has_text="Verified")).to_be_visible()  # the bytes are as uploaded
    expect(card_of(page, "plays-fine.mp4")).not_to_contain_text("Processing failed")

    click_centre(page, card.get_by_role("link", name="broken-clip.mp4"))
    expect(page).to_have_url(VIDEO_URL)
    click_centre(page, page.get_by_role("link", name="Every video whose processing failed"))
    expect(page).to_have_url(re.compile(r"/\?processing=failed$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Library: \d+ videos? whose processing failed$"))
    titles = page.locator(".video-card__title").all_inner_texts()
    assert "broken-clip.mp4" in titles and fine["filename"] not in titles
    expect(page.get_by_text("whose processing failed", exact=False).first).to_be_visible()


# --- share links ------------------------------------------------------------------------


def test_a_new_share_link_survives_a_reload_shown_once_and_opens_the_title_description_and_poster(
    browser, page, portal, real_mp4
):
    video = processed(portal, seed(portal, real_mp4, "VID_20261207_0930.mp4"))
    assert video["processing"]["state"] == "done"
    describe(portal, video, title="Harbour at dawn", description="Fishing boats coming in, before the market opens.")
    page.goto(f"{portal.url}/videos/{video['id']}")
    click_centre(page, page.get_by_role("button", name="Create share link"))
    link = page.get_by_role("textbox", name="New share link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert re.fullmatch(re.escape(portal.url) + r"/s/[A-Za-z0-9_-]+", url), url
    expect(page).to_have_url(f"{portal.url}/videos/{video['id']}")  # the page was fetched anew, not a POST's answer

    answer = page.reload()
    assert answer is not None and answer.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Harbour at dawn")
    expect(page.get_by_role("textbox", name="New share link")).to_have_count(0)
    assert url.rsplit("/", 1)[1] not in page.content()

    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        stranger, csp = open_page(browser, viewport=viewport)
        try:
            stranger.goto(url)
            expect(stranger.get_by_role("heading", level=1)).to_have_text("Harbour at dawn")
            expect(stranger.get_by_text("Fishing boats coming in, before the market opens.")).to_be_visible()
            assert (stranger.locator("video").get_attribute("poster") or "").endswith("/poster")
            expect(stranger.get_by_role("navigation", name="Main")).to_have_count(0)
            expect(stranger.get_by_text(ADMIN_USERNAME, exact=True)).to_have_count(0)
            screenshot(stranger, f"first-visit-share-{name}")
        finally:
            stranger.context.close()
        assert csp.violations == []


# --- the trash ------------------------------------------------------------------------


def test_a_fresh_delete_shows_the_full_trash_days_and_both_sizes_in_words(browser, portal):
    video = seed(portal, minimal_mp4(bytes(300 * 1024)), "to-the-trash.mp4")
    page, csp = open_page(browser, portal, viewport=LAPTOP)
    try:
        page.goto(f"{portal.url}/videos/{video['id']}")
        page.get_by_role("link", name="Delete").click()
        with page.expect_navigation(url=portal.url + "/"):
            page.get_by_role("dialog").get_by_role("button", name="Move to trash").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Trash").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Trash")
        row = page.locator(f'tr[data-video="{video["id"]}"]')
        expect(row.locator("[data-time-left]")).to_have_text("30 days")
        expect(row).to_contain_text("original 300.0 KiB")
        expect(page.locator("[data-trash-usage]")).to_contain_text("in all, with their browser-playable copies")
        screenshot(page, "first-visit-trash-laptop")
    finally:
        page.context.close()
    assert csp.violations == []


# --- the account and /metrics ------------------------------------------------------------


def test_the_account_names_the_role_once_and_metrics_signed_out_offers_to_sign_in(browser, page, portal):
    page.goto(portal.url + "/")
    click_centre(page, page.get_by_role("link", name=re.compile(r"^admin")))
    expect(page.locator(".page-head__lead")).to_contain_text("Signed in as admin (administrator).")

    visitor, csp = open_page(browser)
    try:
        answer = visitor.goto(portal.url + "/metrics")
        assert answer is not None and answer.status == 401
        expect(visitor.get_by_role("heading", level=1)).to_have_text("Sign in to see this")
        assert "Something went wrong" not in visitor.title()
        click_centre(visitor, visitor.locator("main").get_by_role("link", name="Sign in"))
        visitor.get_by_label("Username").fill(ADMIN_USERNAME)
        visitor.get_by_label("Password").fill(ADMIN_PASSWORD)
        with visitor.expect_navigation(url=portal.url + "/metrics"):
            visitor.get_by_role("button", name="Sign in").click()
        assert "portal_" in visitor.content()
    finally:
        visitor.context.close()
    assert csp.violations == []


# --- layout: spacing, aligned cards, a phone's header ---------------------------------------


def test_chips_keep_clear_of_the_player_and_the_cards_footers_line_up(page, portal):
    tagged = seed(portal, minimal_mp4(b"row tagged " * 200), "row-tagged.mp4")
    describe(portal, tagged, title="Row tagged", tags=["one", "two", "three", "a-longer-tag", "and-more-tags", "last"])
    for name in ("row-a.mp4", "row-b.mp4", "row-c.mp4"):
        seed(portal, minimal_mp4(name.encode() * 300), name)
    page.goto(portal.url + "/")
    rows: dict[float, list[float]] = {}
    for index in range(4):  # the newest four: the tagged card and three without tags, one row on a laptop
        card = page.locator(".video-card").nth(index).bounding_box()
        foot = page.locator(".video-card__foot").nth(index).bounding_box()
        assert card is not None and foot is not None
        rows.setdefault(card["y"], []).append(foot["y"] + foot["height"])
    [bottoms] = rows.values()
    assert max(bottoms) - min(bottoms) <= 1, bottoms

    page.goto(f"{portal.url}/videos/{tagged['id']}")
    chips = page.locator("main > .chips").bounding_box()
    player = page.locator(".player").bounding_box()
    assert chips is not None and player is not None
    assert player["y"] - (chips["y"] + chips["height"]) >= 12, (chips, player)


def test_on_a_phone_the_header_is_one_row_with_a_menu_that_works_by_touch_and_keyboard(browser, portal):
    video = seed(portal, minimal_mp4(b"phone " * 300), "phone.mp4")
    for name, viewport, options in (("laptop", LAPTOP, {}), ("phone", PHONE, {"is_mobile": True, "has_touch": True})):
        page, csp = open_page(browser, portal, viewport=viewport, **options)
        try:
            for path, shot in (("/", "library"), (f"/videos/{video['id']}", "video"), ("/upload", "upload")):
                page.goto(portal.url + path)
                screenshot(page, f"first-visit-{shot}-{name}")
            header = page.locator(".site-header").bounding_box()
            assert header is not None
            menu = page.get_by_role("button", name="Menu")
            if name == "laptop":
                expect(menu).to_be_hidden()
                expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API docs")).to_be_visible()
                continue
            assert header["height"] <= 72, header
            nav = page.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link", name="Library")).to_be_hidden()
            expect(menu).to_have_attribute("aria-expanded", "false")
            menu.tap()
            expect(menu).to_have_attribute("aria-expanded", "true")
            docs = nav.get_by_role("link", name="API docs")
            expect(docs).to_be_visible()
            box = docs.bounding_box()
            assert box is not None and box["height"] <= 48, box  # one line
            screenshot(page, "first-visit-menu-phone", full_page=False)
            nav.get_by_role("link", name="Trash").tap()
            expect(page.get_by_role("heading", level=1)).to_have_text("Trash")
            screenshot(page, "first-visit-trash-phone")
            wrap = page.locator(".table-wrap")
            if wrap.count():  # the trash's rows fit the phone: nothing to scroll sideways for
                assert wrap.evaluate("element => element.scrollWidth <= element.clientWidth")

            # The keyboard: Tab reaches the button, Enter opens, Tab goes on into the links, Escape closes.
            page.goto(portal.url + "/")
            page.keyboard.press("Tab")  # the skip link
            page.keyboard.press("Tab")  # the brand
            page.keyboard.press("Tab")
            expect(menu).to_be_focused()
            page.keyboard.press("Enter")
            expect(menu).to_have_attribute("aria-expanded", "true")
            page.keyboard.press("Tab")
            expect(nav.get_by_role("link", name="Library")).to_be_focused()
            page.keyboard.press("Escape")
            expect(menu).to_have_attribute("aria-expanded", "false")
            expect(menu).to_be_focused()
            expect(nav.get_by_role("link", name="Library")).to_be_hidden()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            page.context.close()
        assert csp.violations == []

"""Editing a video's details in Chromium: the form, the chips that filter, and two editors of one version.

The portal is :mod:`tests.web.test_browser`'s (a real ``python wsgi.py``), the browser
:mod:`tests.browsing`'s (Debian's Chromium through playwright); screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import HAVE_PLAYWRIGHT
from tests.browsing import open_page
from tests.browsing import screenshot
from tests.browsing import seed
from tests.support import minimal_mp4
from tests.web.test_browser import portal  # noqa: F401
from tests.web.test_browser import shared_portal  # noqa: F401  (the module's portal, which `portal` empties)

if HAVE_PLAYWRIGHT:
    from playwright.sync_api import expect

pytestmark = BROWSER_MODULE_MARKS


def test_details_are_edited_shown_as_chips_and_a_later_save_of_an_old_version_shows_the_newer(browser, portal):  # noqa: F811 (portal is imported)
    video = seed(portal, minimal_mp4(bytes(2048)), "VID_20261202_0001.mp4")
    seed(portal, minimal_mp4(bytes(1024)), "other.mp4")
    first, csp = open_page(browser, portal)
    second, second_csp = open_page(browser, portal)
    try:
        path = f"{portal.url}/videos/{video['id']}"
        first.goto(path)
        second.goto(path)  # both editors start from the same version
        expect(first.get_by_role("textbox", name="Title", exact=True)).to_have_value("VID_20261202_0001")
        first.get_by_role("textbox", name="Title", exact=True).fill("Sunset over Lisbon")
        first.get_by_role("textbox", name="Description", exact=True).fill("From the castle, a windy evening.")
        first.get_by_role("textbox", name="Tags", exact=True).fill("travel, Portugal")
        first.get_by_role("button", name="Save details").click()
        expect(first.get_by_role("heading", level=1)).to_have_text("Sunset over Lisbon")
        expect(first.locator(".flash, .alert").filter(has_text="Saved the details")).to_be_visible()
        expect(first.get_by_role("link", name="Portugal")).to_be_visible()
        screenshot(first, "details-saved")

        second.get_by_role("textbox", name="Title", exact=True).fill("Old name, edited late")
        second.get_by_role("button", name="Save details").click()
        expect(second.get_by_text("Someone else saved changes to this video while you were editing")).to_be_visible()
        expect(second.get_by_role("textbox", name="Title", exact=True)).to_have_value("Sunset over Lisbon")
        expect(second.get_by_role("textbox", name="Tags", exact=True)).to_have_value("travel, Portugal")
        screenshot(second, "details-someone-else-saved-first")

        first.get_by_role("link", name="travel").click()
        expect(first).to_have_url(re.compile(r"/\?tag=travel$"))
        expect(first.locator(".video-card")).to_have_count(1)
        expect(first.locator(".video-card__title")).to_have_text("Sunset over Lisbon")
        screenshot(first, "library-tag-filter")

        first.get_by_role("link", name="Stop filtering by tag “travel”").click()
        first.get_by_label("Search titles, descriptions and tags").fill("windy")
        first.get_by_role("button", name="Apply").click()
        expect(first.locator(".video-card__title")).to_have_text(["Sunset over Lisbon"])
        screenshot(first, "library-search-description")
    finally:
        first.context.close()
        second.context.close()
    assert csp.violations == [] and second_csp.violations == []

"""Pages that hold still while they load: the cumulative layout shift of the library and a video's page on a phone.

One portal (with a job consumer, so that the video has its poster and its
size) and one browser serve the module. Chromium reports each shift as a
``layout-shift`` performance entry, buffered from the page's start; the sum of
those not caused by input is the page's CLS, which Lighthouse counts as good
under 0.1. A failure names the elements that moved.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import PHONE
from tests.browsing import open_page
from tests.browsing import processed
from tests.browsing import seed
from tests.browsing import start_portal

pytestmark = BROWSER_MODULE_MARKS

#: Lighthouse's threshold of a good CLS.
GOOD_CLS = 0.1
#: The page's shifts so far, with the elements that moved (their tag, class and id, or "?" once gone).
LAYOUT_SHIFTS = """() => new Promise((resolve) => {
    const shifts = [];
    const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            if (entry.hadRecentInput) continue;
            shifts.push({
                value: entry.value,
                sources: entry.sources.map((source) => {
                    const node = source.node;
                    if (!node || !node.tagName) return "?";
                    return node.tagName.toLowerCase() + (node.id ? "#" + node.id : "")
                        + (node.className && typeof node.className === "string" ? "." + node.className.split(" ").join(".") : "");
                }),
            });
        }
    });
    observer.observe({type: "layout-shift", buffered: true});
    requestAnimationFrame(() => requestAnimationFrame(() => { observer.disconnect(); resolve(shifts); }));
})"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = start_portal(tmp_path_factory.mktemp("layout-shift") / "data", {"PORTAL_JOB_WORKERS": "1"})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def video(portal, real_mp4) -> dict[str, Any]:
    body = processed(portal, seed(portal, real_mp4, "beach.mp4"))
    assert body["processing"]["state"] == "done", body["processing"]
    return body


def layout_shifts(browser, portal, path: str) -> list[dict[str, Any]]:
    """The shifts of ``path`` opened in a new phone-sized context (an empty cache, as a first visit), once it has loaded."""
    page, csp = open_page(browser, portal, viewport=PHONE)
    try:
        page.goto(portal.url + path, wait_until="load")
        # Posters and lazy images land after "load" on a slow link: wait until every image has settled.
        page.wait_for_function(
            "() => [...document.images].every((image) => image.complete)"
            " && [...document.querySelectorAll('video')].every((video) => video.readyState >= 1)"
        )
        shifts: list[dict[str, Any]] = page.evaluate(LAYOUT_SHIFTS)
    finally:
        page.context.close()
    assert csp.violations == []
    return shifts


@pytest.mark.parametrize("page_of", ["library", "video"])
def test_the_signed_in_pages_hold_still_on_a_phone(browser, portal, video, page_of):
    path = "/" if page_of == "library" else f"/videos/{video['id']}"
    shifts = layout_shifts(browser, portal, path)
    total = sum(shift["value"] for shift in shifts)
    assert total < GOOD_CLS, shifts

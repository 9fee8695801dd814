"""Chromium shows a caption's cue at its time, in the browser's language, and never as HTML."""

from __future__ import annotations

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import open_page
from tests.browsing import seed
from tests.browsing import start_portal

pytestmark = BROWSER_MODULE_MARKS

ENGLISH = b"1\n00:00:00,300 --> 00:00:01,800\nHello\n"
GERMAN = b"WEBVTT\n\n00:00.300 --> 00:01.800\nHallo <img src=x data-injected>\n"


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = start_portal(tmp_path_factory.mktemp("captions") / "data", {})
    yield running
    running.stop()


def add_caption(portal, video: dict, language: str, label: str, body: bytes) -> None:
    url = f"{portal.url}/api/v2/videos/{video['id']}/captions/{language}"
    response = portal.api.put(url, params={"label": label}, data=body, timeout=10)
    assert response.status_code == 201, response.text


def test_the_cue_in_the_browsers_language_shows_at_its_time_as_text(browser, portal, real_mp4):
    video = seed(portal, real_mp4, "talk.mp4")
    add_caption(portal, video, "en", "English", ENGLISH)
    add_caption(portal, video, "de", "Deutsch", GERMAN)
    page, csp = open_page(browser, portal, locale="de-DE")
    try:
        page.goto(f"{portal.url}/videos/{video['id']}")
        assert page.locator("track[default]").get_attribute("srclang") == "de"
        page.wait_for_function("() => document.querySelector('video').readyState >= 1")
        page.locator("video[data-player]").evaluate("video => { video.muted = true; return video.play(); }")
        page.wait_for_function(
            "() => { const track = [...document.querySelector('video').textTracks].find((t) => t.mode === 'showing');"
            " return track && track.activeCues && track.activeCues.length > 0; }"
        )
        shown = page.evaluate(
            "() => { const video = document.querySelector('video');"
            " const track = [...video.textTracks].find((t) => t.mode === 'showing');"
            " const cue = track.activeCues[0];"
            " return {language: track.language, text: cue.text, start: cue.startTime, end: cue.endTime, now: video.currentTime}; }"
        )
        assert shown["language"] == "de" and shown["text"].startswith("Hallo")
        assert shown["start"] <= shown["now"] <= shown["end"] and (shown["start"], shown["end"]) == (0.3, 1.8)
        # The cue's markup is the track's text, never the page's HTML.
        assert page.locator("[data-injected]").count() == 0
    finally:
        page.context.close()
    assert csp.violations == []

"""In Chromium: an AVI (MPEG-4 Part 2, which no browser plays) plays and seeks on its page, from its transcoded copy.

Against ``python wsgi.py`` with its own job consumer, as a person runs it.
"""

from __future__ import annotations

import time

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import open_page
from tests.browsing import screenshot
from tests.browsing import start_portal
from tests.media.conftest import make_clip

pytestmark = BROWSER_MODULE_MARKS
SECONDS = 4.0


@pytest.fixture
def portal(tmp_path):
    running = start_portal(tmp_path / "data", {"PORTAL_JOB_WORKERS": "1"})
    yield running
    running.stop()


def wait_until_processed(portal, url: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = portal.api.get(url, timeout=10).json()
        if body["processing"]["state"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_an_avi_plays_and_seeks_on_its_page(browser, portal, tmp_path):
    clip = make_clip(tmp_path / "holiday.avi", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", seconds=SECONDS)
    created = portal.api.post(portal.url + "/api/v1/files?filename=holiday.avi", data=clip.read_bytes(), timeout=30)
    assert created.status_code == 201, created.text
    body = wait_until_processed(portal, created.json()["url"])
    assert body["processing"] == {"state": "done", "error": None}
    assert body["playback"]["source"] == "copy"

    page, csp = open_page(browser, portal)
    page.goto(f"{portal.url}/videos/{body['id']}")
    player = page.locator("video[data-player]")
    player.evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('video[data-player]').readyState >= 3")
    assert player.evaluate("video => video.error") is None
    assert abs(player.evaluate("video => video.duration") - body["media"]["duration"]) <= 0.2
    assert abs(body["media"]["duration"] - SECONDS) <= 0.2
    page.wait_for_function("() => document.querySelector('video[data-player]').currentTime > 0.2")
    target = SECONDS * 0.75
    # Where the seek landed, read when it lands: the video plays on afterwards, further on a busy machine.
    landed = player.evaluate(
        "(video, target) => new Promise((done) => {"
        " video.addEventListener('seeked', () => done(video.currentTime), {once: true}); video.currentTime = target; })",
        target,
    )
    assert abs(landed - target) < 0.2
    page.wait_for_function("() => document.querySelector('video[data-player]').readyState >= 2")
    assert page.get_by_text("cannot play").is_hidden()
    screenshot(page, "avi-playing", full_page=False)
    page.context.close()
    assert csp.violations == []

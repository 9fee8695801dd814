"""In Chromium: an AVI (MPEG-4 Part 2, which no browser plays) plays and seeks on its page, from its transcoded copy;
an HEVC MKV's page waits for its copy with a notice and puts the player in when it is made.

Against ``python wsgi.py`` with its own job consumer, as a person runs it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.browsing import BROWSER_MODULE_MARKS
from tests.browsing import open_page
from tests.browsing import screenshot
from tests.browsing import start_portal
from tests.media.conftest import make_clip
from tests.support import ROOT
from tests.support import portal_environment
from tests.support import start_process

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


def test_the_player_appears_without_a_reload_once_the_copy_is_made(browser, tmp_path):
    """An HEVC MKV probed but not copied yet: its poster and a notice, then the player, on the same page."""
    portal = start_portal(tmp_path / "waiting", {})  # no job consumer: the steps run below, one at a time
    consumer = None
    try:
        clip = make_clip(
            tmp_path / "phone.mkv", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
            "-c:a", "libopus", seconds=2,
        )
        created = portal.api.post(portal.url + "/api/v1/files?filename=phone.mkv", data=clip.read_bytes(), timeout=30)
        assert created.status_code == 201, created.text
        video_id = created.json()["id"]
        environment = portal_environment(portal.data_dir, 0)
        probe_only = (
            "import sys; from portal import create_app; from portal.media.processing import probe_video\n"
            "with create_app().app_context(): probe_video(sys.argv[1])"
        )
        subprocess.run([sys.executable, "-c", probe_only, video_id], cwd=ROOT, env=environment, check=True, timeout=60)
        assert portal.api.get(created.json()["url"], timeout=10).json()["playback"] is None

        page, csp = open_page(browser, portal)
        page.goto(f"{portal.url}/videos/{video_id}")
        page.evaluate("() => { window.stillTheSamePage = true; }")
        notice = page.get_by_role("status").filter(has_text="a copy they can play is being made")
        assert notice.is_visible()
        assert page.locator("video").count() == 0
        assert page.locator("img.player__poster").evaluate("img => img.complete && img.naturalWidth > 0")
        screenshot(page, "player-waiting-for-copy", full_page=False)

        consumer = start_process(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker"], environment, tmp_path / "consumer.log"
        )
        player = page.locator("video[data-player]")
        player.wait_for(state="visible", timeout=90_000)
        assert page.evaluate("() => window.stillTheSamePage") is True
        assert notice.count() == 0
        player.evaluate("video => { video.muted = true; return video.play(); }")
        page.wait_for_function("() => document.querySelector('video[data-player]').currentTime > 0.2")
        assert player.evaluate("video => video.videoWidth") > 0
        page.context.close()
        assert csp.violations == []
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(timeout=20)
        portal.stop()

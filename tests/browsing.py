"""What every browser test shares: Debian's Chromium driven by playwright, and a signed-in page on a running portal.

The fixtures ``browser`` (one Chromium per test module) and ``page`` (a new
context signed in as the admin of the module's ``portal`` fixture, checked for
Content-Security-Policy refusals when the test ends) are registered for the
whole suite by ``tests/conftest.py``; each browser module defines its own
``portal``, started with the settings it tests. Without Chromium or
playwright the fixtures skip; ``.ci/run`` makes such a skip a failure.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_PASSWORD
from tests.support import ADMIN_USERNAME
from tests.support import RunningPortal

try:
    from playwright.sync_api import Browser
    from playwright.sync_api import ConsoleMessage
    from playwright.sync_api import Page
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PLAYWRIGHT = False
else:
    HAVE_PLAYWRIGHT = True

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
VIDEO_URL = re.compile(r"/videos/[0-9a-f-]{36}$")

#: The marks of a module whose tests all drive Chromium against ``python wsgi.py``.
BROWSER_MODULE_MARKS = [
    pytest.mark.browser,
    pytest.mark.server,
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="the playwright pip package is missing: pip install -r requirements-dev.txt"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is missing at /usr/bin/chromium: apt-get install chromium (.ci/run does)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: starting it costs about a second, a new context almost nothing."""
    if not HAVE_PLAYWRIGHT:
        pytest.skip("the playwright pip package is missing: pip install -r requirements-dev.txt")
    if not CHROMIUM.exists():
        pytest.skip("Chromium is missing at /usr/bin/chromium: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Portal:
    """A running portal as the tests use it: ``api`` calls it as the admin; ``browser_state`` is their signed-in cookie."""

    def __init__(self, running: RunningPortal) -> None:
        self.running = running
        self.url = running.url
        self.data_dir = running.data_dir
        # RunningPortal seeded the admin and a token of theirs before the server started.
        self.api = running.http
        self.browser_state: Any = None

    def stop(self) -> None:
        self.running.stop()


def start_portal(data_dir: Path, env: dict[str, str]) -> Portal:
    return Portal(RunningPortal([sys.executable, "wsgi.py"], data_dir, env))


class CspWatch:
    """Collects what the browser refused under the Content-Security-Policy."""

    def __init__(self, page: Page) -> None:
        self.violations: list[str] = []
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


def sign_in(page: Page, portal: Portal) -> None:
    """Sign in as the admin through the form, as a person does."""
    page.goto(portal.url + "/login")
    submit_sign_in(page, ADMIN_PASSWORD)


def submit_sign_in(page: Page, password: str) -> None:
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_page(browser: Browser, portal: Portal | None = None, **options: Any) -> tuple[Page, CspWatch]:
    """A page in a new browser context; with ``portal``, signed in as its admin.

    The first context of a portal signs in through the form; the later ones
    start from its cookies, so that a test pays for one sign-in.
    """
    state = portal.browser_state if portal else None
    context = browser.new_context(viewport=options.pop("viewport", DESKTOP), storage_state=state, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    csp = CspWatch(page)
    if portal is not None and state is None:
        with page.expect_navigation(url=portal.url + "/"):
            sign_in(page, portal)
        portal.browser_state = context.storage_state()
    return page, csp


@pytest.fixture
def page(browser: Browser, portal: Portal) -> Iterator[Page]:
    """A desktop-sized page signed in as the admin of the module's ``portal``; no CSP refusal may happen on it."""
    opened, csp = open_page(browser, portal, accept_downloads=True)
    yield opened
    opened.context.close()
    assert csp.violations == []


def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def seed(portal: Portal, content: bytes, filename: str) -> dict:
    response = portal.api.post(portal.url + "/api/v1/files", files={"file": (filename, content)}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def describe(portal: Portal, video: dict, **details: Any) -> None:
    """Give a seeded video a title, description or tags, through v2's merge patch."""
    url = f"{portal.url}/api/v2/videos/{video['id']}"
    etag = portal.api.get(url, timeout=10).headers["ETag"]
    response = portal.api.patch(
        url, json=details, headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"}, timeout=10
    )
    assert response.status_code == 200, response.text


def processed(portal: Portal, video: dict, timeout: float = 90) -> dict:
    """The video's JSON once its processing is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        body = portal.api.get(video["url"], timeout=10).json()
        if body["processing"]["state"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, body["processing"]
        time.sleep(0.2)


def empty_library(portal: Portal) -> None:
    """Every video moved to the trash and the trash emptied: a portal shared by a module's tests then
    shows each test a library as empty as a new portal's (its accounts and tokens stay)."""
    listing = portal.url + "/api/v1/files?per_page=100"
    while items := portal.api.get(listing, timeout=10).json()["items"]:
        for item in items:
            response = portal.api.delete(f"{portal.url}/api/v1/files/{item['id']}", timeout=10)
            assert response.status_code == 204, response.text
    response = portal.api.delete(portal.url + "/api/v1/trash", timeout=30)
    assert response.status_code == 204, response.text


def record_upload_progress(page: Page) -> list[dict]:
    """Every state the upload list shows, reported from the page as it changes (kept across navigation)."""
    seen: list[dict] = []
    page.expose_function("reportUploadProgress", lambda state: seen.append(state))
    page.evaluate(
        """() => {
          const list = document.querySelector("[data-upload-list]");
          const report = () => list.querySelectorAll(".upload-item").forEach((item) => window.reportUploadProgress({
            value: item.querySelector("progress").value,
            state: item.querySelector("[data-state]").textContent,
            stats: item.querySelector("[data-stats]").textContent,
          }));
          new MutationObserver(report).observe(list, {subtree: true, childList: true, attributes: true, characterData: true});
        }"""
    )
    return seen

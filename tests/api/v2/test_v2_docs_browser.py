"""/api/v2/docs in a real browser: Swagger UI renders v2's document offline, and "Try it out" lists videos.

The portal is v1's page test's (tests/api/test_v1_docs_browser.py), chromium the suite's (tests/browsing.py): a ``python wsgi.py``
child and Playwright, every request recorded so that nothing is loaded from elsewhere.
"""

from __future__ import annotations

import json

import pytest

from tests.api.test_v1_docs_browser import RECORD_CSP_VIOLATIONS
from tests.api.test_v1_docs_browser import assert_clean
from tests.api.test_v1_docs_browser import authorize
from tests.api.test_v1_docs_browser import execute
from tests.api.test_v1_docs_browser import operation
from tests.api.test_v1_docs_browser import portal  # noqa: F401  (fixtures)
from tests.api.test_v1_docs_browser import token  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_v2_docs_page_tries_the_listing_with_a_token(browser, portal, token):  # noqa: F811 (portal and token are imported)
    context = browser.new_context()
    page = context.new_page()
    page.requests, page.failures = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("requestfailed", lambda request: page.failures.append(request.url))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(portal.url + "/api/v2/docs")
    page.wait_for_selector("#operations-videos-listVideos", timeout=30_000)
    authorize(page, token)
    block = operation(page, "listVideos", tag="videos")
    assert execute(block) == "200"
    body = json.loads(block.locator(".live-responses-table .response-col_description pre").first.inner_text())
    assert body == {"items": [], "next_cursor": None, "total": {"value": 0, "relation": "eq"}}
    assert_clean(page, portal)
    context.close()

"""What the pages say on a first visit, without a browser: failed processing, the trash's time left, the account, /metrics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.extensions import db
from portal.library.models import Video
from portal.library.models import utcnow
from portal.web.trash import time_left
from tests.helpers import signed_in_client
from tests.support import minimal_mp4
from tests.web.conftest import add_video


def titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="video-card__title"><a href="/videos/[^"]+">([^<]+)</a>', html)


def fail_processing(app, *video_ids: str) -> None:
    with app.app_context():
        db.session.execute(
            db.update(Video).where(Video.id.in_(video_ids)).values(processing_state="failed", processing_error="it broke")
        )
        db.session.commit()


def test_failed_processing_is_said_on_the_card_and_listed_for_the_owner_and_admins(app, client):
    uma = signed_in_client(app, "uma", role="uploader")
    umas = add_video(uma, minimal_mp4(bytes(1000)), "umas-broken.mp4")
    admins = add_video(client, minimal_mp4(bytes(2000)), "admins-broken.mp4")
    add_video(client, minimal_mp4(bytes(3000)), "fine.mp4")
    fail_processing(app, umas["id"], admins["id"])

    library = client.get("/").get_data(as_text=True)
    assert library.count("data-processing-failed") == 2
    assert library.count("Verified") == 3  # the bytes are fine, whatever processing made of them

    assert sorted(titles(client.get("/?processing=failed").get_data(as_text=True))) == ["admins-broken.mp4", "umas-broken.mp4"]
    assert titles(uma.without_token().get("/?processing=failed").get_data(as_text=True)) == ["umas-broken.mp4"]
    narrowed = client.get("/?processing=failed&q=umas").get_data(as_text=True)
    assert titles(narrowed) == ["umas-broken.mp4"]
    assert 'name="processing" value="failed"' in narrowed  # the search form keeps the filter


def test_the_processing_filter_refuses_other_values_and_visitors(app, client):
    refused = client.get("/?processing=done")
    assert refused.status_code == 400
    assert "processing must be &#39;failed&#39;" in refused.get_data(as_text=True)
    app.config["PUBLIC_VIEWING"] = True
    visitor = app.test_client()
    assert visitor.get("/").status_code == 200
    signed_out = visitor.get("/?processing=failed")
    assert signed_out.status_code == 401
    html = signed_out.get_data(as_text=True)
    assert "Sign in to list the videos whose processing failed" in html
    assert 'class="button button--primary" href="/login?next=/?processing%3Dfailed"' in html


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (timedelta(days=30) - timedelta(seconds=5), "30 days"),
        (timedelta(days=29, hours=13), "30 days"),
        (timedelta(days=29, hours=11), "29 days"),
        (timedelta(days=1, hours=1), "1 day"),
        (timedelta(hours=5, minutes=20), "5 hours"),
        (timedelta(minutes=59), "less than an hour"),
    ],
)
def test_time_left_rounds_to_the_nearest_day_or_hour(left, said):
    assert time_left(utcnow() + left) == said


def test_the_account_page_names_the_role_in_words(client):
    page = client.get("/account").get_data(as_text=True)
    assert "Signed in as <strong>tester</strong> (administrator)." in page


def test_metrics_signed_out_answers_401_with_a_sign_in_link_for_a_browser(app):
    browser = app.test_client()
    response = browser.get("/metrics", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    html = response.get_data(as_text=True)
    assert "<title>Sign in to see this · Portal</title>" in html
    assert 'href="/login?next=/metrics"' in html
    assert "Metrics need an admin" in html


def test_the_old_docs_address_opens_the_interactive_docs_for_anyone(app):
    visitor = app.test_client()
    response = visitor.get("/docs")
    assert response.status_code == 302
    assert response.headers["Location"] == "/api/v2/docs"
    page = visitor.get("/docs", follow_redirects=True)
    assert page.status_code == 200 and b"/api/v2/openapi.json" in page.data


@pytest.mark.parametrize(("path", "current", "other"), [("/api/v2/docs", "v2", "v1"), ("/api/v1/docs", "v1", "v2")])
def test_the_docs_pages_are_one_page_under_the_portals_header_with_v2_first(client, path, current, other):
    html = client.get(path).get_data(as_text=True)
    assert '<header class="site-header">' in html and '<main id="main"' in html
    # The nav's and the footer's "API docs" lead to v2's, marked as the page the reader is on.
    assert re.search(r'<a href="/api/v2/docs" aria-current="page">.*?<span>API docs</span></a>', html)
    assert '· <a href="/api/v2/docs">API docs</a>' in html
    assert "/api/v1/docs" in html and "/api/v2/docs" in html
    switch = re.search(r'<nav class="version-switch" aria-label="API version">(.*?)</nav>', html, re.S)
    assert switch, html
    links = re.findall(r'<a href="/api/(v\d)/docs"( aria-current="page")?>', switch.group(1))
    assert links == [(current, ' aria-current="page"'), (other, "")] if current == "v2" else [(other, ""), (current, ' aria-current="page"')]
    assert f'data-spec-url="/api/{current}/openapi.json"' in html
    assert "<h1>API documentation</h1>" in html

"""What keeps the pages safe: CSRF on every form, escaped names, security headers, no inline script."""

from __future__ import annotations

import io
import re

import pytest
from werkzeug.test import TestResponse

from tests.helpers import incoming_files
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.web.conftest import add_video
from tests.web.conftest import csrf_token
from tests.web.conftest import post_upload

FORM_EXPIRED = "the form expired, please try again"
WRONG_TOKEN = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"


def assert_form_expired(response) -> None:
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert FORM_EXPIRED in html
    assert 'data-code="form_expired"' in html


@pytest.mark.parametrize("token", [None, "", WRONG_TOKEN], ids=["missing", "empty", "wrong"])
def test_upload_without_a_valid_token_is_refused_and_leaves_no_file(app, client, data_dir, video_bytes, token):
    client.get("/upload")  # a session exists, as in a browser that opened the form
    response = post_upload(client, [(video_bytes, "clip.mp4")], token=token)
    assert_form_expired(response)
    assert row_count(app) == 0
    assert stored_files(data_dir) == []
    assert incoming_files(data_dir) == []


def test_upload_token_from_another_session_is_refused(app, client, data_dir, video_bytes):
    other = signed_in_client(app)
    response = post_upload(client, [(video_bytes, "clip.mp4")], token=csrf_token(other))
    assert_form_expired(response)
    assert stored_files(data_dir) == []


@pytest.mark.parametrize("action", ["delete", "verify"])
@pytest.mark.parametrize("token", [None, WRONG_TOKEN], ids=["missing", "wrong"])
def test_video_forms_without_a_valid_token_change_nothing(app, client, data_dir, stored, action, token):
    client.get(f"/videos/{stored['id']}")
    response = client.post(f"/videos/{stored['id']}/{action}", data={} if token is None else {"csrf_token": token})
    assert_form_expired(response)
    assert row_count(app) == 1 and len(stored_files(data_dir)) == 1


def test_form_expired_page_leads_back_to_the_form(client, stored):
    page = f"http://localhost/videos/{stored['id']}"
    response = client.post(f"/videos/{stored['id']}/delete", headers={"Referer": page})
    assert f'href="{page}"' in response.get_data(as_text=True)


def test_token_in_the_x_csrftoken_header_is_accepted(client, video_bytes):
    token = csrf_token(client)
    response = post_upload(client, [(video_bytes, "clip.mp4")], token=None, headers={"X-CSRFToken": token})
    assert response.status_code == 303


def upload_named(client, video_bytes, name: str) -> tuple[str, list[str]]:
    """Upload through the form; the pages that show the name: video (with the flash), library, confirmation."""
    response = post_upload(client, [(video_bytes, name)])
    assert response.status_code == 303
    video_page = client.get(response.headers["Location"]).get_data(as_text=True)
    video_id = response.headers["Location"].rsplit("/", 1)[1]
    return video_id, [
        video_page,
        client.get("/").get_data(as_text=True),
        client.get(f"/videos/{video_id}/delete").get_data(as_text=True),
    ]


def test_script_tag_filename_never_reaches_a_page_as_markup(client, video_bytes):
    video_id, pages = upload_named(client, video_bytes, "<script>alert(1)</script>.mp4")
    # The service keeps the part after the last "/" (names lose any folder part); what is left is text too.
    assert client.get(f"/api/v1/files/{video_id}").get_json()["filename"] == "script>.mp4"
    for html in pages:
        assert "<script>alert" not in html
        assert "script&gt;.mp4" in html
    assert "Uploaded “script&gt;.mp4”." in pages[0]


def test_html_in_a_filename_is_shown_as_text_everywhere(client, video_bytes):
    _, pages = upload_named(client, video_bytes, "<img src=x onerror=alert(1)><b>bold.mp4")
    escaped = "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;bold.mp4"
    for html in pages:
        assert escaped in html
        assert "<img src=x" not in html and "<b>bold" not in html
    assert f"Uploaded “{escaped}”." in pages[0]


def test_html_in_the_search_text_is_escaped(client):
    html = client.get('/?q="><img src=x onerror=alert(1)>').get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


# --- headers and markup of every page ----------------------------------------


def every_page(client, video_bytes) -> dict[str, TestResponse]:
    video = add_video(client, video_bytes, "clip.mp4")
    return {
        "library": client.get("/"),
        "library search": client.get("/?q=clip&sort=name"),
        "upload": client.get("/upload"),
        "video": client.get(f"/videos/{video['id']}"),
        "delete confirmation": client.get(f"/videos/{video['id']}/delete"),
        "404 page": client.get("/no/such/page"),
        "404 video": client.get("/videos/nope"),
        "405 page": client.get(f"/videos/{video['id']}/verify"),
        "400 page": client.get("/?page=0"),
        "400 csrf page": client.post("/upload"),
        "415 page": post_upload(client, [(b"text", "a.mp4")]),
        "v2 docs": client.get("/api/v2/docs"),
        "v1 docs": client.get("/api/v1/docs"),
    }


def test_every_page_sends_the_security_headers(client, video_bytes):
    for name, response in every_page(client, video_bytes).items():
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
        assert directives["script-src"] == "'self'", name
        assert "unsafe-inline" not in csp, name
        assert directives["frame-ancestors"] == "'none'", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"], name


def test_pages_have_no_inline_script_style_or_event_handler_and_no_outside_assets(client, video_bytes):
    for name, response in every_page(client, video_bytes).items():
        html = response.get_data(as_text=True)
        assert response.mimetype == "text/html", name
        for script in re.findall(r"<script\b[^>]*>", html):
            # The portal's own scripts, or a library vendored beside them (static/vendor/<name>/).
            assert re.search(r'src="/static/(?:js|vendor/[\w.-]+)/[\w.-]+\.js"', script), (name, script)
        assert not re.search(r"<script\b[^>]*>[^<]+</script>", html), name
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert not re.search(r"<style\b|\sstyle\s*=", html), name
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), name


def test_every_page_has_the_navigation_and_the_footer_version(client, video_bytes):
    from portal import __version__

    for name, response in every_page(client, video_bytes).items():
        html = response.get_data(as_text=True)
        assert '<nav class="site-nav" aria-label="Main">' in html, name
        assert 'href="/"' in html and 'href="/upload"' in html and 'href="/api/v2/docs"' in html, name
        assert f"Portal {__version__}" in html, name
        assert '<html lang="en">' in html and 'name="viewport"' in html, name


def test_static_assets_are_served_by_the_portal(client):
    for path in ("/static/css/portal.css", "/static/js/portal.js", "/static/js/upload.js", "/static/img/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- error pages ---------------------------------------------------------------


def test_unknown_page_is_a_404_page_in_the_site_style(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<section class="error-page card" data-status="404"' in html
    assert "Nothing here" in html
    assert re.search(r'href="/static/css/portal\.[0-9a-f]{12}\.css"', html)
    assert "Back to the library" in html


def test_wrong_method_is_a_405_page_with_allow(client, stored):
    response = client.get(f"/videos/{stored['id']}/verify")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert 'data-status="405"' in response.get_data(as_text=True)


def test_server_error_is_a_500_page(app, client):
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/explode", view_func=explode)
    response = client.get("/explode")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html
    assert "boom" not in html
    assert 'data-status="500"' in html


def test_api_errors_stay_json(client):
    response = client.get("/api/v1/files/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_csrf_is_not_asked_of_the_api(client, video_bytes):
    response = client.post("/api/v1/files", data={"file": (io.BytesIO(video_bytes), "a.mp4")}, content_type="multipart/form-data")
    assert response.status_code == 201

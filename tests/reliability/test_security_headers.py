"""Security headers on every kind of response, and stored files that can never run as a page.

The site-wide headers come from :mod:`portal.http.security`; downloads carry their
own ``Content-Security-Policy: default-src 'none'; sandbox`` and take their
type only from the server's list of video types, so even a file that is half
HTML, or a row whose type was tampered with, is never served as ``text/html``.
"""

from __future__ import annotations

import pytest
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.library import formats
from portal.library.models import Video
from tests.helpers import stored_files
from tests.helpers import upload
from tests.support import found
from tests.support import minimal_mp4

DOWNLOAD_CSP = "default-src 'none'; sandbox"
SITE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_site_headers(response) -> None:
    for name, value in SITE_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src" in policy


def assert_download_headers(response) -> None:
    assert_site_headers(response)
    assert response.headers["Content-Security-Policy"] == DOWNLOAD_CSP
    content_type = response.headers.get("Content-Type")
    if content_type is not None and response.status_code != 416:
        assert content_type in formats.VIDEO_TYPES or content_type == "application/octet-stream"


@pytest.fixture
def stored(client, video_bytes):
    return upload(client, video_bytes, "clip.mp4").get_json()


def every_kind_of_response(client, stored, video_bytes) -> dict[str, TestResponse]:
    content = stored["content_url"]
    return {
        "list (JSON 200)": client.get("/api/v1/files"),
        "upload (JSON 201)": upload(client, video_bytes, "second.mp4"),
        "file (JSON 200)": client.get(stored["url"]),
        "verify (JSON 200)": client.post(stored["url"] + "/verify"),
        "bad parameter (JSON 400)": client.get("/api/v1/files?page=0"),
        "unknown id (JSON 404)": client.get("/api/v1/files/nope"),
        "unknown API URL (JSON 404)": client.get("/api/v1/nothing"),
        "wrong method (JSON 405)": client.put("/api/v1/files"),
        "not a video (JSON 415)": upload(client, b"<html></html>", "page.mp4"),
        "unknown page (HTML 404)": client.get("/no/such/page"),
        "health (200)": client.get("/healthz"),
        "download (200)": client.get(content),
        "download (HEAD)": client.head(content),
        "not modified (304)": client.get(content, headers={"If-None-Match": f'"{stored["sha256"]}"'}),
        "partial (206)": client.get(content, headers={"Range": "bytes=0-99"}),
        "unsatisfiable (416)": client.get(content, headers={"Range": "bytes=999999-"}),
        "delete (204)": client.delete(upload(client, video_bytes, "third.mp4").get_json()["url"]),
    }


def test_every_kind_of_response_carries_the_security_headers(client, stored, video_bytes):
    responses = every_kind_of_response(client, stored, video_bytes)
    # Every response's exact status: the status in its label, or 200 for the HEAD download.
    expected = {label: int(found(r"\b(\d{3})\)$", label).group(1)) if label != "download (HEAD)" else 200 for label in responses}
    for label, response in responses.items():
        status = expected[label]
        assert response.status_code == status, label
        assert_site_headers(response)


@pytest.mark.parametrize(
    "headers, status",
    [({}, 200), ({"Range": "bytes=0-99"}, 206), ({"Range": "bytes=0-"}, 206), ({"Range": "bytes=999999-"}, 416)],
)
def test_downloads_carry_the_sandbox_policy_and_nosniff(client, stored, headers, status):
    for method in ("GET", "HEAD"):
        response = client.open(stored["content_url"], method=method, headers=headers)
        assert response.status_code == status
        assert_download_headers(response)
        if status != 416:
            assert response.headers["Content-Disposition"].startswith("attachment;")


def test_not_modified_download_keeps_the_sandbox_policy(client, stored):
    response = client.get(stored["content_url"], headers={"If-None-Match": f'"{stored["sha256"]}"'})
    assert response.status_code == 304
    assert_download_headers(response)


def test_corrupt_download_refusal_carries_the_headers(client, data_dir, stored):
    [path] = [path for path in stored_files(data_dir) if path.name == stored["id"]]
    path.write_bytes(b"x")
    response = client.get(stored["content_url"])
    assert response.status_code == 409
    assert_site_headers(response)


def test_a_video_that_is_half_html_is_served_as_video_in_a_sandbox(client):
    """Recognised as MP4 by its first bytes; the HTML after them must never be rendered."""
    polyglot = minimal_mp4(b"<html><script>alert(document.domain)</script></html>" * 20)
    created = upload(client, polyglot, "page.html").get_json()
    assert created["content_type"] == "video/mp4"
    response = client.get(created["content_url"])
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_download_headers(response)


@pytest.mark.parametrize(
    "tampered",
    ["text/html", "text/html; charset=utf-8", "application/javascript", "image/svg+xml", "application/xhtml+xml", "video/mp4; x=<script>"],
)
def test_a_tampered_content_type_is_served_as_octet_stream(app, client, stored, tampered):
    with app.app_context():
        db.session.execute(db.update(Video).where(Video.id == stored["id"]).values(content_type=tampered))
        db.session.commit()
    for headers in ({}, {"Range": "bytes=0-9"}):
        response = client.get(stored["content_url"], headers=headers)
        assert response.status_code in (200, 206)
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert_download_headers(response)


def test_headers_survive_the_real_server(start_portal):
    """waitress's file_wrapper and its own framing must not lose a header."""
    portal = start_portal()
    data = minimal_mp4(b"\0" * 300_000)
    created = portal.http.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, timeout=30).json()
    content = created["content_url"]
    for headers, status in (
        ({}, 200),
        ({"Range": "bytes=1000-"}, 206),
        ({"Range": "bytes=10-20"}, 206),
        ({"If-None-Match": f'"{created["sha256"]}"'}, 304),
        ({"Range": "bytes=999999-"}, 416),
    ):
        response = portal.http.get(content, headers=headers, timeout=30)
        assert response.status_code == status
        assert_download_headers(response)
    for url in ("/healthz", "/api/v1/files", "/api/v1/files/nope", "/nowhere"):
        assert_site_headers(portal.http.get(portal.url + url, timeout=10))

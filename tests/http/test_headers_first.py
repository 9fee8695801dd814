"""What a request's headers alone decide, asked of the application as the server does before reading a body.

The server (portal.ops.screening) runs the application on the headers, marked
with HEADERS_ONLY and an empty body; these ask it the same way in process.
"""

from __future__ import annotations

import flask
import pytest

from portal.http.headers_first import BODY_LIMIT
from portal.http.headers_first import BODY_OVER_LIMIT
from portal.http.headers_first import GO_AHEAD
from portal.http.headers_first import HEADERS_ONLY
from portal.uploads.request import SMALL_BODY_LIMIT
from tests.helpers import signed_in_client

MIB = 1024 * 1024
SMALL_LIMIT_SHOWN = "1.0 MiB (1048576 bytes)"


def headers_only(client, method: str, path: str, length: int | None = 256 * MIB, over_limit: bool = False, **kwargs):
    """``method path`` with its headers alone: a ``Content-Length`` of ``length``, and no body at all."""
    environ: dict[str, object] = {HEADERS_ONLY: True, **({BODY_OVER_LIMIT: True} if over_limit else {})}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    headers = kwargs.pop("headers", {})
    with client:  # keeps the request's context, and so the environment the application saw
        response = client.open(path, method=method, headers=headers, environ_overrides=environ, **kwargs)
        return response, dict(flask.request.environ)


def test_an_anonymous_upload_is_401_from_its_headers(app):
    response, environ = headers_only(app.test_client(), "POST", "/api/v1/files?filename=a.mp4",
                                     headers={"Content-Type": "video/mp4"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not environ.get(GO_AHEAD)


def test_a_bad_token_is_401_from_its_headers_on_v2(app):
    response, _ = headers_only(app.test_client(), "POST", "/api/v2/videos", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_a_token_without_the_upload_scope_is_403_from_its_headers(app):
    reader = signed_in_client(app, "reader", role="admin", scopes=["read"])
    response, environ = headers_only(reader, "POST", "/api/v1/files?filename=a.mp4")
    assert response.status_code == 403, response.json
    assert not environ.get(GO_AHEAD)


def test_a_viewer_is_403_from_the_headers_of_a_tus_patch(app):
    viewer = signed_in_client(app, "viewer", role="viewer")
    response, _ = headers_only(viewer, "PATCH", "/api/v1/uploads/abc", length=MIB,
                               headers={"Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 403


def test_an_anonymous_web_upload_is_sent_to_sign_in_from_its_headers(app):
    response, _ = headers_only(app.test_client(), "POST", "/upload")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_an_authorized_upload_may_send_its_body_up_to_the_upload_limit(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response, environ = headers_only(client, "POST", "/api/v1/files?filename=a.mp4", length=limit)
    assert environ[GO_AHEAD] is True
    assert environ[BODY_LIMIT] == limit
    multipart, environ = headers_only(client, "POST", "/api/v1/files", length=limit,
                                      headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert environ[BODY_LIMIT] == limit + app.config["MULTIPART_ALLOWANCE"]


@pytest.mark.parametrize("path", ["/api/v1/files?filename=a.mp4", "/api/v2/videos?filename=a.mp4"])
def test_an_authorized_upload_over_the_limit_is_413_naming_it_from_its_headers(client, app, path):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response, environ = headers_only(client, "POST", path, length=limit + 1)
    assert response.status_code == 413
    assert f"({limit} bytes)" in response.get_data(as_text=True)
    assert not environ.get(GO_AHEAD)


def test_a_tus_chunk_takes_the_upload_limit(client, app):
    _, environ = headers_only(client, "PATCH", "/api/v1/uploads/abc", length=app.config["MAX_CONTENT_LENGTH"])
    assert environ[GO_AHEAD] is True


def test_any_other_route_takes_one_mib_and_names_it_over_that(client):
    _, environ = headers_only(client, "POST", "/login", length=SMALL_BODY_LIMIT)
    assert environ[BODY_LIMIT] == SMALL_BODY_LIMIT
    page, _ = headers_only(client, "POST", "/login", length=SMALL_BODY_LIMIT + 1)
    assert page.status_code == 413
    assert SMALL_LIMIT_SHOWN in page.get_data(as_text=True)
    api, _ = headers_only(client, "PATCH", "/api/v2/videos/1", length=2 * MIB,
                          headers={"Content-Type": "application/merge-patch+json"})
    assert api.status_code == 413
    assert SMALL_LIMIT_SHOWN in api.get_data(as_text=True)


def test_a_chunked_body_past_its_limit_is_413_naming_it(client):
    page, _ = headers_only(client, "POST", "/login", length=None, over_limit=True)
    assert page.status_code == 413
    assert SMALL_LIMIT_SHOWN in page.get_data(as_text=True)


def test_an_unknown_path_is_404_from_its_headers(client):
    response, _ = headers_only(client, "POST", "/api/v1/nothing-here", length=2 * MIB)
    assert response.status_code == 404


def test_without_the_server_s_mark_nothing_changes_but_the_small_limit(client):
    """In process (no HEADERS_ONLY) the request goes on as ever, and a body over a route's limit is still 413."""
    response = client.post("/login", data={"username": "x" * SMALL_BODY_LIMIT, "password": "y"})
    assert response.status_code == 413
    assert SMALL_LIMIT_SHOWN in response.get_data(as_text=True)

"""Who may do what, edge by edge: role x action x owner, token scopes, dead tokens, visitors, the pages.

Every case goes through the test client, as a browser's script (the session
cookie, with the page's CSRF token on changes) or a script (a bearer token)
would. The users of a test are made once, cheaply (:func:`tests.helpers.add_user`).
"""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from portal import create_app
from portal.accounts import service as accounts
from portal.accounts.models import ApiToken
from portal.accounts.models import utcnow
from portal.extensions import db
from portal.http.errors import BEARER_CHALLENGE
from tests.helpers import add_user
from tests.helpers import incoming_files
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.web.conftest import csrf_token

ROLES = ["viewer", "uploader", "admin"]
#: What each API action needs: the scope, and whether an uploader may do it to someone else's video.
VIDEO_ACTIONS = ["list", "get", "content", "verify", "delete"]
SCOPE_OF = {"list": "read", "get": "read", "content": "read", "verify": "read", "upload": "upload", "delete": "delete"}
SUCCESS = {"list": 200, "get": 200, "content": 200, "verify": 200, "upload": 201, "delete": 204}


def call(client, action: str, video_id: str, video_bytes: bytes, headers: dict[str, str] | None = None):
    """The API request of ``action`` (on ``video_id``), with ``headers`` (a CSRF token for cookie callers)."""
    headers = headers or {}
    files = f"/api/v1/files/{video_id}"
    if action == "list":
        return client.get("/api/v1/files", headers=headers)
    if action == "get":
        return client.get(files, headers=headers)
    if action == "content":
        return client.get(files + "/content", headers=headers)
    if action == "verify":
        return client.post(files + "/verify", headers=headers)
    if action == "upload":
        return client.post("/api/v1/files?filename=new.mp4", data=video_bytes, content_type="video/mp4", headers=headers)
    if action == "delete":
        return client.delete(files, headers=headers)
    raise AssertionError(action)


def api_client(client, credential: str):
    """``client`` as a script (``bearer``) or as a page's script (``cookie``: no token, the CSRF header)."""
    if credential == "bearer":
        return client, {}
    token = csrf_token(client, "/")
    return client.without_token(), {"X-CSRFToken": token}


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def library(app, video_bytes):
    """Two uploaders' videos: ``own`` is uma's, ``other`` is otto's."""
    add_user(app, "uma", "uploader")
    add_user(app, "otto", "uploader")
    own = upload(signed_in_client(app, "uma"), video_bytes, "own.mp4").get_json()["id"]
    other = upload(signed_in_client(app, "otto"), video_bytes, "other.mp4").get_json()["id"]
    return {"own": own, "other": other}


def caller_with_role(app, role: str):
    """uma herself as an uploader; a viewer or an admin of that name's kind otherwise."""
    if role == "uploader":
        return signed_in_client(app, "uma")
    name = {"viewer": "vera", "admin": "ada"}[role]
    add_user(app, name, role)
    return signed_in_client(app, name)


def expected_status(role: str, action: str, whose: str) -> int:
    if SCOPE_OF[action] == "read":
        return SUCCESS[action]
    if role == "viewer" or (role == "uploader" and whose == "other"):
        return 403
    return SUCCESS[action]


# --- role x action x owner ---------------------------------------------------------


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
@pytest.mark.parametrize("role", ROLES)
def test_role_action_owner_table(app, library, video_bytes, role, credential):
    client, headers = api_client(caller_with_role(app, role), credential)
    for whose in ("own", "other"):
        for action in VIDEO_ACTIONS:
            expected = expected_status(role, action, whose)
            response = call(client, action, library[whose], video_bytes, headers)
            assert response.status_code == expected, (role, credential, action, whose, response.get_json())
            if expected == 403:
                message = assert_refused(response, 403, "forbidden")["message"]
                if role == "viewer" and credential == "bearer":
                    # A viewer's token cannot even carry the scope.
                    assert f"lacks the '{SCOPE_OF[action]}' scope" in message
                elif role == "viewer":
                    assert "uploader or admin role" in message and "vera is a viewer" in message
                else:
                    assert "owner (otto)" in message


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
@pytest.mark.parametrize("role", ROLES)
def test_only_uploaders_and_admins_upload(app, library, video_bytes, role, credential):
    client, headers = api_client(caller_with_role(app, role), credential)
    response = call(client, "upload", "", video_bytes, headers)
    if role == "viewer":
        message = assert_refused(response, 403, "forbidden")["message"]
        assert message == {
            "cookie": "Uploading needs the uploader or admin role; vera is a viewer.",
            "bearer": "This token lacks the 'upload' scope, needed for uploading.",
        }[credential]
    else:
        assert response.status_code == 201
        assert response.get_json()["owner"] == client.username


# --- token scope x operation ---------------------------------------------------------

SCOPE_SETS = [set(chosen) for size in (1, 2, 3) for chosen in combinations(["read", "upload", "delete"], size)]


@pytest.mark.parametrize("scopes", SCOPE_SETS, ids=lambda scopes: "+".join(sorted(scopes)))
def test_token_scope_decides_each_operation(app, library, video_bytes, scopes):
    client = signed_in_client(app, "uma", scopes=sorted(scopes))
    for action in ["list", "get", "content", "verify", "upload", "delete"]:
        response = call(client, action, library["own"], video_bytes)
        needed = SCOPE_OF[action]
        if needed in scopes:
            assert response.status_code == SUCCESS[action], (scopes, action, response.get_json())
        else:
            message = assert_refused(response, 403, "forbidden")["message"]
            assert f"lacks the '{needed}' scope" in message, (scopes, action)


def test_me_answers_any_token_whatever_its_scopes(app, library):
    client = signed_in_client(app, "uma", scopes=["upload"])
    assert client.get("/api/v1/me").get_json() == {
        "username": "uma", "role": "uploader", "scopes": ["upload"], "token_id": token_id(app, client),
        "trash": {"count": 0, "bytes": 0},
    }


def token_id(app, client) -> int:
    """The id of the token ``client`` sends."""
    with app.app_context():
        return db.session.scalar(db.select(ApiToken.id).where(ApiToken.token_hash == accounts.token_hash(client.token)))


# --- tokens that no longer work --------------------------------------------------------


def revoke(app, client) -> None:
    with app.app_context():
        accounts.revoke_token(token_id(app, client))


def expire(app, client) -> None:
    with app.app_context():
        past = utcnow() - timedelta(minutes=1)
        db.session.execute(db.update(ApiToken).where(ApiToken.id == token_id(app, client)).values(expires_at=past))
        db.session.commit()


def disable(app, client) -> None:
    with app.app_context():
        accounts.disable_user(client.username)


@pytest.mark.parametrize("end", [revoke, expire, disable], ids=["revoked", "expired", "disabled owner"])
def test_dead_token_gets_401_with_the_bearer_challenge(app, library, video_bytes, end):
    client = signed_in_client(app, "uma")
    assert client.get("/api/v1/files").status_code == 200
    end(app, client)
    for action in ["list", "get", "upload", "delete"]:
        response = call(client, action, library["own"], video_bytes)
        assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE
        assert response.get_json() == {
            "error": {"code": "unauthorized", "message": "The API token is unknown, expired or revoked, or its owner is disabled."}
        }
        assert response.status_code == 401


def test_token_never_exceeds_its_owners_role(app, library, video_bytes):
    """uma's token carries delete; once she is a viewer her role, not the token, decides."""
    client = signed_in_client(app, "uma")
    with app.app_context():
        accounts.set_role("uma", "viewer")
    for action in ("delete", "upload"):
        message = assert_refused(call(client, action, library["own"], video_bytes), 403, "forbidden")["message"]
        assert "uploader or admin role; uma is a viewer" in message
    assert call(client, "get", library["own"], video_bytes).status_code == 200


@pytest.mark.parametrize("credential", ["cookie", "bearer"])
@pytest.mark.parametrize("role", ROLES)
def test_unknown_id_stays_404_for_every_reader(app, library, video_bytes, role, credential):
    client, headers = api_client(caller_with_role(app, role), credential)
    for action in ("get", "content", "verify"):
        assert_refused(call(client, action, "no-such-id", video_bytes, headers), 404, "not_found")
    if role != "viewer":
        assert_refused(call(client, "delete", "no-such-id", video_bytes, headers), 404, "not_found")


# --- visitors -----------------------------------------------------------------------

OPEN_API = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v2/openapi.json", "/api/v2/docs"}


def api_routes(app, video_id: str):
    """(method, path) of every route of the API, with a real id where one is asked for."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:int|row_id):[^>]+>", "1", rule.rule)
            path = re.sub(r"<[^>]+>", video_id, path)
            for method in sorted(rule.methods - {"OPTIONS"}):
                yield method, path


def test_visitor_gets_401_on_every_api_route_but_the_documentation(app, library):
    visitor = app.test_client()
    routes = list(api_routes(app, library["own"]))
    assert len(routes) >= 8
    for method, path in routes:
        response = visitor.open(path, method=method)
        if path in OPEN_API:
            assert response.status_code == 200, path
            continue
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE
        if method != "HEAD":
            body = response.get_json(force=True)
            # v1's {"error": {...}}; v2's problem details carry the same code at the top.
            assert (body["code"] if path.startswith("/api/v2/") else body["error"]["code"]) == "unauthorized"


def test_wrong_method_and_unknown_path_answer_the_same_to_everyone(app, library):
    """No view runs, so nothing an account guards: 405 with Allow, and 404, in the API's JSON."""
    for client in (app.test_client(), signed_in_client(app, "uma")):
        wrong = client.put("/api/v1/openapi.json")
        assert wrong.status_code == 405
        assert set(wrong.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
        assert client.get("/api/v1/no-such-thing").get_json()["error"]["code"] == "not_found"
    page = signed_in_client(app, "uma").get("/no/such/page")
    assert page.status_code == 404 and "uma" in page.get_data(as_text=True), "the page still says who is signed in"


def test_visitor_is_sent_to_sign_in_from_every_page(app, library):
    visitor = app.test_client()
    video = f"/videos/{library['own']}"
    for path in ["/", "/?q=own", "/upload", video, f"{video}/stream", f"{video}/download", f"{video}/delete"]:
        response = visitor.get(path)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert (location.path, parse_qs(location.query)) == ("/login", {"next": [path]}), path
    for path in [f"{video}/verify", f"{video}/delete", "/upload"]:
        response = visitor.post(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/login"


def test_open_to_every_visitor(app):
    visitor = app.test_client()
    for path in ["/healthz", "/login", "/api/v1/openapi.json", "/api/v1/docs", "/static/css/portal.css"]:
        assert visitor.get(path).status_code == 200, path


@pytest.fixture
def public_app(tmp_path, database_url):
    app = create_app(
        {
            "TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url, "PUBLIC_VIEWING": True,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_public_viewing_lets_visitors_watch_but_never_change(public_app, video_bytes):
    add_user(public_app, "uma", "uploader")
    video_id = upload(signed_in_client(public_app, "uma"), video_bytes).get_json()["id"]
    visitor = public_app.test_client()
    for action in ("list", "get", "content"):
        assert call(visitor, action, video_id, video_bytes).status_code == 200, action
    for action in ("verify", "upload", "delete"):
        assert_refused(call(visitor, action, video_id, video_bytes), 401, "unauthorized")
    assert visitor.get("/api/v1/me").status_code == 401
    video = f"/videos/{video_id}"
    for path in ["/", video, f"{video}/stream", f"{video}/download"]:
        assert visitor.get(path).status_code == 200, path
    assert visitor.get(video, headers={"Accept": "text/html"}).get_data(as_text=True).count(f"{video}/delete") == 0
    for path in ["/upload", f"{video}/delete"]:
        assert visitor.get(path).headers["Location"].startswith("/login"), path
    for path in [f"{video}/verify", f"{video}/delete", "/upload"]:
        assert visitor.post(path).headers["Location"] == "/login", path
    assert signed_in_client(public_app, "uma").get(f"/api/v1/files/{video_id}").get_json()["owner"] == "uma"


# --- the pages ---------------------------------------------------------------------------


def delete_link(video_id: str) -> str:
    return f'href="/videos/{video_id}/delete"'


@pytest.mark.parametrize(
    "role, whose, shown",
    [("viewer", "own", False), ("uploader", "own", True), ("uploader", "other", False), ("admin", "other", True)],
)
def test_video_page_shows_delete_only_to_who_may(app, library, role, whose, shown):
    page = caller_with_role(app, role).get(f"/videos/{library[whose]}").get_data(as_text=True)
    assert (delete_link(library[whose]) in page) is shown
    assert ("Move to trash" in page) is shown


@pytest.mark.parametrize("role, shown", [("viewer", False), ("uploader", True), ("admin", True)])
def test_library_shows_upload_only_to_who_may(app, library, role, shown):
    page = caller_with_role(app, role).get("/").get_data(as_text=True)
    assert ('href="/upload"' in page) is shown


@pytest.mark.parametrize("role, whose", [("viewer", "own"), ("uploader", "other")])
def test_pages_refuse_a_delete_they_do_not_show(app, library, role, whose):
    client = caller_with_role(app, role).without_token()
    video_id = library[whose]
    token = csrf_token(client, f"/videos/{video_id}")
    for response in (
        client.get(f"/videos/{video_id}/delete"),
        client.post(f"/videos/{video_id}/delete", data={"csrf_token": token}),
    ):
        assert response.status_code == 403
        assert response.mimetype == "text/html"
    assert client.get(f"/videos/{video_id}").status_code == 200


def test_pages_refuse_an_upload_to_a_viewer(app, library, video_bytes):
    client = caller_with_role(app, "viewer").without_token()
    token = csrf_token(client, "/")
    assert client.get("/upload").status_code == 403
    response = client.post(
        "/upload", data={"csrf_token": token, "file": (io.BytesIO(video_bytes), "clip.mp4")}, content_type="multipart/form-data"
    )
    assert response.status_code == 403
    assert "Uploading needs the uploader or admin role" in response.get_data(as_text=True)
    assert row_count(app) == 2
    assert incoming_files(Path(app.config["DATA_DIR"])) == []


def test_uploader_deletes_own_video_from_the_page(app, library):
    client = caller_with_role(app, "uploader").without_token()
    token = csrf_token(client, f"/videos/{library['own']}")
    response = client.post(f"/videos/{library['own']}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get(f"/videos/{library['own']}").status_code == 404


# --- CSRF with the cookie on the API ---------------------------------------------------


def test_cookie_changes_need_the_csrf_header_bearer_ones_do_not(app, library, video_bytes):
    bearer = signed_in_client(app, "uma")
    cookie, headers = api_client(signed_in_client(app, "uma"), "cookie")
    for action in ("verify", "upload", "delete"):
        assert_refused(call(cookie, action, library["own"], video_bytes), 400, "csrf_failed")
        assert_refused(call(cookie, action, library["own"], video_bytes, {"X-CSRFToken": "forged"}), 400, "csrf_failed")
    assert call(cookie, "get", library["own"], video_bytes).status_code == 200
    assert call(cookie, "verify", library["own"], video_bytes, headers).status_code == 200
    assert call(cookie, "upload", "", video_bytes, headers).status_code == 201
    assert call(bearer, "upload", "", video_bytes).status_code == 201
    assert call(cookie, "delete", library["own"], video_bytes, headers).status_code == 204


# --- audit ------------------------------------------------------------------------------


def test_a_delete_is_logged_with_who_and_which_video(app, library, video_bytes, caplog):
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        assert call(signed_in_client(app, "uma"), "delete", library["own"], video_bytes).status_code == 204
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.audit" and "moved to trash" in record.getMessage()]
    assert len(lines) == 1
    assert library["own"] in lines[0] and "own.mp4" in lines[0] and "by=uma" in lines[0]

"""Every web form refuses a missing, wrong or reused CSRF token, and changes nothing.

The forms: ``POST /upload`` (multipart field ``file``, token field
``csrf_token``) and ``POST /videos/<id>/delete``. A token is only good with
the session it was issued to. Each refusal is checked against a control: the
same request with a valid token does what the form is for, so the refusals
are the token's doing and nothing else's.
"""

from __future__ import annotations

import io
import secrets

import pytest
from flask import session
from flask_wtf.csrf import generate_csrf

from portal import create_app
from portal.extensions import db
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import upload


@pytest.fixture
def web_app(tmp_path):
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True}
    )
    if "web" not in app.blueprints:
        pytest.skip("this build has no 'web' blueprint (the HTML pages): no web forms to attack yet")
    yield app
    with app.app_context():
        db.engine.dispose()


def issue_token(app, client) -> str:
    """A valid token for ``client``'s session, as the form pages would embed it."""
    with app.test_request_context():
        token = generate_csrf()
        raw_token = session["csrf_token"]
    with client.session_transaction() as client_session:
        client_session["csrf_token"] = raw_token
    return token


def token_of_another_key(app) -> str:
    other = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "another key"})
    with other.test_request_context():
        token = generate_csrf()
    with other.app_context():
        db.engine.dispose()
    return token


def post_upload(client, video_bytes: bytes, **fields):
    return client.post("/upload", data={"file": (io.BytesIO(video_bytes), "clip.mp4"), **fields}, content_type="multipart/form-data")


def bad_tokens(app, client, other_client) -> dict[str, dict]:
    """Ways to send a form without the token of this client's session: keyword arguments for the form."""
    issue_token(app, client)
    return {
        "missing": {},
        "empty": {"csrf_token": ""},
        "wrong": {"csrf_token": secrets.token_urlsafe(40)},
        "signed with another key": {"csrf_token": token_of_another_key(app)},
        "reused from another session": {"csrf_token": issue_token(app, other_client)},
    }


def assert_refused(response) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "the form expired, please try again" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["missing", "empty", "wrong", "signed with another key", "reused from another session"])
def test_upload_form_refuses_a_bad_token_and_stores_nothing(web_app, video_bytes, kind):
    client, other_client = signed_in_client(web_app), signed_in_client(web_app)
    fields = bad_tokens(web_app, client, other_client)[kind]
    assert_refused(post_upload(client, video_bytes, **fields))
    assert row_count(web_app) == 0

    control = post_upload(client, video_bytes, csrf_token=issue_token(web_app, client))
    assert control.status_code != 400
    assert row_count(web_app) == 1


def test_upload_form_refuses_a_token_sent_without_its_session(web_app, video_bytes):
    issuer = signed_in_client(web_app)
    token = issue_token(web_app, issuer)
    stranger = signed_in_client(web_app)
    assert_refused(post_upload(stranger, video_bytes, csrf_token=token))
    assert row_count(web_app) == 0


@pytest.mark.parametrize("kind", ["missing", "empty", "wrong", "signed with another key", "reused from another session"])
def test_delete_form_refuses_a_bad_token_and_keeps_the_video(web_app, video_bytes, kind):
    client, other_client = signed_in_client(web_app), signed_in_client(web_app)
    created = upload(client, video_bytes).get_json()
    fields = bad_tokens(web_app, client, other_client)[kind]
    assert_refused(client.post(f"/videos/{created['id']}/delete", data=fields))
    assert client.get(created["url"]).status_code == 200

    control = client.post(f"/videos/{created['id']}/delete", data={"csrf_token": issue_token(web_app, client)})
    assert control.status_code != 400
    assert client.get(created["url"]).status_code == 404


def test_delete_form_refuses_a_token_sent_without_its_session(web_app, video_bytes):
    issuer = signed_in_client(web_app)
    created = upload(issuer, video_bytes).get_json()
    token = issue_token(web_app, issuer)
    stranger = signed_in_client(web_app)
    assert_refused(stranger.post(f"/videos/{created['id']}/delete", data={"csrf_token": token}))
    assert issuer.get(created["url"]).status_code == 200

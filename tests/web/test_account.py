"""/account: a user's own password and API tokens."""

from __future__ import annotations

import html
import logging
import re

from portal.accounts import service
from portal.web.views import when
from tests.helpers import TEST_PASSWORD
from tests.helpers import signed_in_client
from tests.web.conftest import csrf_token

NEW_PASSWORD = "a brand new secret"


def change_password(client, current: str, new: str = NEW_PASSWORD, confirm: str | None = None):
    data = {"csrf_token": csrf_token(client, "/account"), "current": current, "new": new, "confirm": confirm or new}
    return client.post("/account/password", data=data)


def create_token(client, label: str = "backup script", scopes=("read",), days: str = ""):
    data = {"csrf_token": csrf_token(client, "/account"), "label": label, "scopes": list(scopes), "days": days}
    return client.post("/account/tokens", data=data)


def shown_token(response) -> str | None:
    match = re.search(r'value="(ptl_[A-Za-z0-9_-]+)"', response.get_data(as_text=True))
    return match.group(1) if match else None


def text(response) -> str:
    """The page as a person reads it (entities such as &#39; turned back into characters)."""
    return html.unescape(response.get_data(as_text=True))


def me(app, token: str):
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def test_the_account_page_needs_a_signed_in_user(app):
    response = app.test_client().get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"


def test_the_account_page_is_for_every_role(app):
    client = signed_in_client(app, "vera", "viewer")
    page = client.get("/account").get_data(as_text=True)
    assert "Change password" in page and "New API token" in page
    assert 'href="/account"' in page  # the name in the header leads here


def test_a_password_change_needs_the_current_password(app):
    client = signed_in_client(app, "alice", "uploader")
    response = change_password(client, "not my password")
    assert response.status_code == 400
    assert "The current password is wrong" in text(response)
    with app.app_context():
        assert service.verify_password("alice", TEST_PASSWORD) is not None
        assert service.verify_password("alice", NEW_PASSWORD) is None


def test_a_new_password_too_short_or_typed_differently_changes_nothing(app):
    client = signed_in_client(app, "alice", "uploader")
    short = change_password(client, TEST_PASSWORD, new="short")
    assert short.status_code == 400 and "at least 10 characters" in short.get_data(as_text=True)
    differ = change_password(client, TEST_PASSWORD, confirm="something else entirely")
    assert differ.status_code == 400 and "The two new passwords differ." in differ.get_data(as_text=True)
    with app.app_context():
        assert service.verify_password("alice", TEST_PASSWORD) is not None


def test_a_password_change_signs_out_every_other_session_and_keeps_this_one(app, caplog):
    caplog.set_level(logging.INFO, logger="portal.audit")
    here = signed_in_client(app, "alice", "uploader")
    elsewhere = signed_in_client(app, "alice")  # the same user, signed in on another device
    assert elsewhere.get("/account").status_code == 200
    response = change_password(here, TEST_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "every other place you were signed in has been signed out" in here.get("/account").get_data(as_text=True).lower()
    gone = elsewhere.get("/account")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    with app.app_context():
        assert service.verify_password("alice", NEW_PASSWORD) is not None
    assert "user password changed: alice" in caplog.messages


def test_the_current_password_is_checked_within_the_sign_in_limits(app):
    client = signed_in_client(app, "alice", "uploader")
    for index in range(5):
        assert change_password(client, f"not my password {index}").status_code == 400
    refused = change_password(client, TEST_PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in text(refused)
    with app.app_context():
        assert service.verify_password("alice", TEST_PASSWORD) is not None
        assert service.verify_password("alice", NEW_PASSWORD) is None


def token_row(page: str, token_id: int) -> str:
    match = re.search(rf'<tr data-token-id="{token_id}".*?</tr>', page, re.S)
    assert match, f"token {token_id} is not listed"
    return match.group(0)


def test_a_token_made_on_the_page_is_shown_once_works_and_is_listed(app):
    client = signed_in_client(app, "alice", "uploader")
    response = create_token(client, "nightly backup", ["read", "upload"], days="30")
    assert response.status_code == 200
    value = shown_token(response)
    assert value is not None and value.startswith("ptl_")
    answer = me(app, value).get_json()
    assert (answer["username"], answer["scopes"]) == ("alice", ["read", "upload"])
    page = client.get("/account").get_data(as_text=True)
    assert value not in page  # shown once, never again
    row = token_row(page, answer["token_id"])
    assert "nightly backup" in row and ">read<" in row and ">upload<" in row and ">delete<" not in row
    assert "Revoke" in row
    with app.app_context():
        token = next(token for token in service.list_tokens("alice") if token.id == answer["token_id"])
        assert token.scopes == "read upload"
        shown = [when(token.created_at), when(token.last_used_at), when(token.expires_at)]
    assert all(moment in row for moment in shown), (shown, row)
    assert "never" not in row  # used (by the call above) and expiring


def test_revoking_a_token_on_the_page_stops_it_at_once(app, caplog):
    caplog.set_level(logging.INFO, logger="portal.audit")
    client = signed_in_client(app, "alice", "uploader")
    value = shown_token(create_token(client, "laptop"))
    assert value is not None
    assert me(app, value).status_code == 200
    with app.app_context():
        token_id = next(token.id for token in service.list_tokens("alice") if token.label == "laptop")
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "Token “laptop” revoked" in page and "Revoked" in page
    refused = me(app, value)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="portal"'
    assert any(message.startswith(f"token revoked: id={token_id} ") for message in caplog.messages)


def test_scopes_above_the_role_are_neither_offered_nor_accepted(app):
    client = signed_in_client(app, "vera", "viewer")
    page = client.get("/account").get_data(as_text=True)
    assert 'value="read"' in page and 'value="upload"' not in page and 'value="delete"' not in page
    response = create_token(client, "sneaky", ["read", "delete"])
    assert response.status_code == 400
    assert "'vera' is a viewer, whose tokens may carry only: read" in text(response)
    assert shown_token(response) is None
    with app.app_context():
        assert [token.label for token in service.list_tokens("vera")] == ["tests"]


def test_a_token_needs_a_label_a_scope_and_whole_days(app):
    client = signed_in_client(app, "alice", "uploader")
    cases = {
        "Name the token": create_token(client, label=""),
        "Unknown or missing scope": create_token(client, scopes=()),
        "A token lives a whole number of days, at least 1": create_token(client, days="0"),
        "Not a valid integer value": create_token(client, days="soon"),
    }
    for message, response in cases.items():
        assert response.status_code == 400, message
        assert message in text(response)
    with app.app_context():
        assert [token.label for token in service.list_tokens("alice")] == ["tests"]


def test_days_past_any_calendar_get_the_forms_error_not_a_500(app):
    """Days that would overflow the expiry date (seen: 500 OverflowError) are a bad input like 0."""
    client = signed_in_client(app, "alice", "uploader")
    for days in ("3000000", "99999999999", "36501"):
        response = create_token(client, days=days)
        assert response.status_code == 400, days
        assert "A token lives a whole number of days, at least 1 and at most 36500" in text(response)
    assert create_token(client, label="a century", days="36500").status_code == 200
    with app.app_context():
        assert [token.label for token in service.list_tokens("alice")] == ["tests", "a century"]


def test_another_users_token_cannot_be_revoked_from_the_account_page(app):
    admin = signed_in_client(app, "root", "admin")
    bob = signed_in_client(app, "bob", "viewer")
    with app.app_context():
        bobs_token = service.list_tokens("bob")[0].id
    response = admin.post(f"/account/tokens/{bobs_token}/revoke", data={"csrf_token": csrf_token(admin, "/account")})
    assert response.status_code == 404
    assert me(app, bob.token).status_code == 200

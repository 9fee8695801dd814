"""/admin/users: admins add users, set roles, disable and enable them, reset passwords."""

from __future__ import annotations

import html
import logging
import re

import pytest

from portal.accounts import service
from tests.helpers import TEST_PASSWORD
from tests.helpers import add_user
from tests.helpers import signed_in_client
from tests.web.conftest import csrf_token

PASSWORD = "a long enough secret"


@pytest.fixture
def admin(app):
    return signed_in_client(app, "root", "admin")


@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="portal.audit")
    return caplog


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account"), **data})


def user_row(page: str, username: str) -> str:
    match = re.search(rf'<tr data-user="{re.escape(username)}".*?</tr>', page, re.S)
    assert match, f"{username} is not listed"
    return match.group(0)


def users(app) -> dict[str, tuple[str, bool]]:
    with app.app_context():
        return {user.username: (user.role, user.disabled) for user in service.list_users()}


ADMIN_REQUESTS = [
    ("GET", "/admin/users", {}),
    ("POST", "/admin/users", {"username": "mallory", "password": PASSWORD, "role": "admin"}),
    ("POST", "/admin/users/bob/role", {"role": "admin"}),
    ("POST", "/admin/users/bob/disable", {}),
    ("POST", "/admin/users/bob/enable", {}),
    ("POST", "/admin/users/bob/password", {"password": PASSWORD}),
    ("POST", "/admin/tokens/1/revoke", {}),
]


@pytest.mark.parametrize("role", ["viewer", "uploader"])
@pytest.mark.parametrize(("method", "path", "data"), ADMIN_REQUESTS)
def test_only_admins_manage_users(app, role, method, path, data):
    signed_in_client(app, "bob", "viewer")  # token 1 is bob's
    client = signed_in_client(app, "carol", role)
    if method == "GET":
        response = client.get(path)
    else:
        response = post(client, path, **data)
    assert response.status_code == 403
    assert f"Managing users needs the admin role; carol is a{'n' if role == 'uploader' else ''} {role}." in text(response)
    assert users(app) == {"bob": ("viewer", False), "carol": (role, False)}
    with app.app_context():
        assert service.verify_password("bob", TEST_PASSWORD) is not None
        assert [token.revoked_at for token in service.list_tokens()] == [None, None]


def test_the_users_nav_item_is_for_admins_only(app, admin):
    assert 'href="/admin/users"' in admin.get("/account").get_data(as_text=True)
    viewer = signed_in_client(app, "vera", "viewer")
    assert 'href="/admin/users"' not in viewer.get("/account").get_data(as_text=True)


def test_the_list_shows_each_users_role_state_and_tokens(app, admin):
    add_user(app, "bob", "uploader")
    with app.app_context():
        service.create_token("bob", ["read"])
        revoked, _ = service.create_token("bob", ["read"])
        service.revoke_token(revoked.id)
        service.disable_user("bob")
    page = admin.get("/admin/users").get_data(as_text=True)
    bob = user_row(page, "bob")
    assert '<option value="uploader" selected>' in bob and "Disabled" in bob and "Enable" in bob
    assert re.search(r"<td data-label=\"Tokens\">1</td>", bob)  # the revoked token is not counted
    root = user_row(page, "root")
    assert "(you)" in root and "Active" in root and "Disable" in root


def test_adding_a_user(app, admin, audit):
    response = post(admin, "/admin/users", username="Bob", password=PASSWORD, role="uploader")
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users"
    assert "Added Bob (uploader)." in text(admin.get("/admin/users"))
    assert users(app)["Bob"] == ("uploader", False)
    with app.app_context():
        assert service.verify_password("bob", PASSWORD) is not None
    assert "user created: Bob role=uploader" in audit.messages


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "with space"}, "A username is 1 to 64 characters"),
        ({"password": "short"}, "at least 10 characters"),
        ({"username": "ROOT"}, "A user called 'ROOT' exists already"),
        ({"role": "owner"}, "Unknown role: choose viewer, uploader or admin."),
        ({"username": ""}, "Choose a username."),
    ],
)
def test_a_refused_new_user_is_not_made_and_the_page_says_why(app, admin, fields, message):
    response = post(admin, "/admin/users", **{"username": "bob", "password": PASSWORD, "role": "viewer", **fields})
    assert response.status_code == 400
    assert message in text(response)
    assert list(users(app)) == ["root"]


def test_setting_a_role(app, admin, audit):
    add_user(app, "bob", "viewer")
    response = post(admin, "/admin/users/bob/role", role="uploader")
    assert response.status_code == 303
    assert "bob is now an uploader." in text(admin.get("/admin/users"))
    assert users(app)["bob"] == ("uploader", False)
    assert "user role changed: bob viewer -> uploader" in audit.messages


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/admin/users/bob/role", {"role": "owner"}, "Unknown role"),
        ("/admin/users/nobody/role", {"role": "admin"}, "No user is called 'nobody'"),
        ("/admin/users/nobody/disable", {}, "No user is called 'nobody'"),
        ("/admin/users/bob/password", {"password": "short"}, "at least 10 characters"),
        ("/admin/users/bob/password", {"password": ""}, "Type the new password."),
    ],
)
def test_a_refused_change_changes_nothing_and_says_why(app, admin, path, data, message):
    add_user(app, "bob", "viewer")
    response = post(admin, path, **data)
    assert response.status_code == 400
    assert message in text(response)
    assert users(app) == {"bob": ("viewer", False), "root": ("admin", False)}
    with app.app_context():
        assert service.verify_password("bob", TEST_PASSWORD) is not None


def test_a_disabled_user_is_signed_out_at_once_and_their_tokens_stop(app, admin, audit):
    bob = signed_in_client(app, "bob", "uploader")
    assert bob.get("/account").status_code == 200
    response = post(admin, "/admin/users/bob/disable")
    assert response.status_code == 303
    assert "Disabled bob" in text(admin.get("/admin/users"))
    signed_out = bob.get("/account")
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/login")
    assert bob.get("/api/v1/me").status_code == 401
    assert "user disabled: bob" in audit.messages
    assert post(admin, "/admin/users/bob/enable").status_code == 303
    assert users(app)["bob"] == ("uploader", False)
    assert "user enabled: bob" in audit.messages
    with app.app_context():
        assert service.verify_password("bob", TEST_PASSWORD) is not None


def test_the_last_enabled_admin_can_neither_disable_nor_demote_themself(app, admin):
    for path, data in (("/admin/users/root/disable", {}), ("/admin/users/root/role", {"role": "viewer"})):
        response = post(admin, path, **data)
        assert response.status_code == 400
        assert "'root' is the last enabled admin: make another user an admin first" in text(response)
    assert users(app) == {"root": ("admin", False)}
    assert admin.get("/admin/users").status_code == 200  # still signed in, still an admin


def test_with_another_admin_an_admin_may_step_down(app, admin):
    add_user(app, "deputy", "admin")
    assert post(admin, "/admin/users/root/role", role="uploader").status_code == 303
    assert users(app)["root"] == ("uploader", False)
    assert admin.get("/admin/users").status_code == 403


def test_a_password_reset_ends_the_users_sessions(app, admin, audit):
    bob = signed_in_client(app, "bob", "viewer")
    response = post(admin, "/admin/users/bob/password", password=PASSWORD)
    assert response.status_code == 303
    assert "New password set for bob" in text(admin.get("/admin/users"))
    assert bob.get("/account").status_code == 302
    with app.app_context():
        assert service.verify_password("bob", PASSWORD) is not None
        assert service.verify_password("bob", TEST_PASSWORD) is None
    assert "user password reset: bob" in audit.messages
    assert PASSWORD not in audit.text


def test_an_admin_revokes_any_users_token(app, admin, audit):
    bob = signed_in_client(app, "bob", "uploader")
    with app.app_context():
        bobs_token = service.list_tokens("bob")[0].id
    assert f'data-token-id="{bobs_token}"' in admin.get("/admin/users").get_data(as_text=True)
    response = post(admin, f"/admin/tokens/{bobs_token}/revoke")
    assert response.status_code == 303
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Token “tests” of bob revoked" in page and f'data-token-id="{bobs_token}"' not in page
    assert bob.get("/api/v1/me").status_code == 401
    assert any(message.startswith(f"token revoked: id={bobs_token} user=bob") for message in audit.messages)
    missing = post(admin, "/admin/tokens/999/revoke")
    assert missing.status_code == 400 and "No token has the id 999" in text(missing)

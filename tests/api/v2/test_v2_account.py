"""/api/v2/me, /api/v2/tokens and /api/v2/users: the account service's rules, over the API.

Runs on SQLite, and on PostgreSQL under ``PORTAL_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from portal.accounts import service
from tests.api.v2.test_v2_videos import assert_problem
from tests.helpers import signed_in_client
from tests.web.conftest import csrf_token

MERGE_PATCH = "application/merge-patch+json"


def cookie_client(app, username: str = "tester", role: str = "admin"):
    """Signed in by the session alone, with the CSRF header a page's script sends."""
    client = signed_in_client(app, username, role).without_token()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/")
    return client


def post_json(client, path: str, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- me --------------------------------------------------------------------------


def test_me_gives_a_tokens_scopes_and_null_for_the_session(app):
    alice = signed_in_client(app, "alice", "uploader", scopes=["read", "upload"])
    assert alice.get("/api/v2/me").get_json()["scopes"] == ["read", "upload"]
    body = cookie_client(app, "alice", "uploader").get("/api/v2/me").get_json()
    assert body["scopes"] is None and body["name"] == "alice" and body["role"] == "uploader"


def test_me_gives_the_scopes_the_role_allows_now(app):
    alice = signed_in_client(app, "alice", "uploader")
    with app.app_context():
        service.set_role("alice", "viewer")
    assert alice.get("/api/v2/me").get_json()["scopes"] == ["read"]


# --- tokens ----------------------------------------------------------------------


def test_a_token_is_made_shown_once_listed_and_revoked(app):
    alice = signed_in_client(app, "alice", "uploader")
    made = post_json(alice, "/api/v2/tokens", {"label": "backup", "scopes": ["read"], "days": 30})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["token"].startswith("ptl_") and body["scopes"] == ["read"] and body["label"] == "backup"
    assert made.headers["Location"] == body["links"]["self"] and made.headers["Cache-Control"] == "no-store"
    assert body["active"] is True and body["owner"] == "alice"
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=29) < expires - datetime.now(timezone.utc) <= timedelta(days=30)
    # The new token works, and is never shown again.
    assert app.test_client().get("/api/v2/me", headers=bearer(body["token"])).status_code == 200
    again = alice.get(body["links"]["self"]).get_json()
    assert "token" not in again and again["id"] == body["id"]
    listed = alice.get("/api/v2/tokens").get_json()["items"]
    assert body["id"] in [token["id"] for token in listed] and all("token" not in token for token in listed)
    assert alice.delete(f"/api/v2/tokens/{body['id']}").status_code == 204
    assert app.test_client().get("/api/v2/me", headers=bearer(body["token"])).status_code == 401
    revoked = alice.get(body["links"]["self"]).get_json()
    assert revoked["active"] is False and revoked["revoked_at"] is not None


def test_a_token_cannot_make_one_with_more_scopes_or_a_longer_life(app):
    with app.app_context():
        service.create_user("alice", "a-long-password", "uploader")
        _, short = service.create_token("alice", ["read"], "short", days=3)
    refused = post_json(app.test_client(), "/api/v2/tokens", {"scopes": ["read", "upload"]}, **bearer(short))
    assert "carries only: read" in assert_problem(refused, 400, "invalid_scope")["detail"]
    made = post_json(app.test_client(), "/api/v2/tokens", {"scopes": ["read"], "days": 90}, **bearer(short))
    assert made.status_code == 201
    expires = datetime.fromisoformat(made.get_json()["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(timezone.utc) <= timedelta(days=3), "no longer than the token that made it"


def test_the_session_makes_any_scope_the_role_allows_and_no_more(app):
    alice = cookie_client(app, "alice", "uploader")
    made = post_json(alice, "/api/v2/tokens", {"scopes": ["read", "upload", "delete"]})
    assert made.status_code == 201 and made.get_json()["expires_at"] is None
    assert_problem(post_json(alice, "/api/v2/tokens", {"scopes": ["metrics"]}), 400, "invalid_scope")


def test_token_bodies_are_checked(client):
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": "read"}), 400, "invalid_scope")
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": []}), 400, "invalid_scope")
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": ["read"], "admin": True}), 400, "bad_request")
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": ["read"], "days": 0}), 400, "invalid_expiry")
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": ["read"], "label": "x" * 256}), 400, "bad_request")
    assert_problem(post_json(client, "/api/v2/tokens", {"scopes": ["read"], "label": "a\x00b"}), 400, "bad_request")
    form = client.post("/api/v2/tokens", data="scopes=read", content_type="application/x-www-form-urlencoded")
    assert_problem(form, 415, "unsupported_body_type")


def test_a_metrics_token_manages_no_tokens(app):
    admin = signed_in_client(app, "boss", "admin", scopes=["metrics"])
    assert_problem(admin.get("/api/v2/tokens"), 403, "forbidden")


def test_another_users_tokens_are_an_admins_with_the_session(app):
    alice = signed_in_client(app, "alice", "uploader")
    alices = post_json(alice, "/api/v2/tokens", {"scopes": ["read"]}).get_json()
    bob = signed_in_client(app, "bob", "uploader")
    assert_problem(bob.get(alices["links"]["self"]), 404, "token_not_found")
    assert_problem(bob.delete(f"/api/v2/tokens/{alices['id']}"), 404, "token_not_found")
    assert_problem(bob.get("/api/v2/tokens?user=alice"), 403, "forbidden")
    # An admin's token manages only its owner's tokens, as the admins' page needs the session.
    admin_token = signed_in_client(app, "boss", "admin")
    assert "cannot be used for managing users" in assert_problem(admin_token.get("/api/v2/tokens?user=alice"), 403, "forbidden")["detail"]
    assert_problem(admin_token.delete(f"/api/v2/tokens/{alices['id']}"), 404, "token_not_found")
    admin = cookie_client(app, "boss", "admin")
    listed = admin.get("/api/v2/tokens?user=ALICE").get_json()["items"]
    assert alices["id"] in [token["id"] for token in listed] and {token["owner"] for token in listed} == {"alice"}
    assert_problem(admin.get("/api/v2/tokens?user=nobody"), 404, "user_not_found")
    assert admin.delete(f"/api/v2/tokens/{alices['id']}").status_code == 204
    assert alice.get(alices["links"]["self"]).get_json()["active"] is False


def test_a_change_by_the_session_needs_the_csrf_header(app):
    alice = signed_in_client(app, "alice", "uploader").without_token()
    assert_problem(post_json(alice, "/api/v2/tokens", {"scopes": ["read"]}), 400, "csrf_failed")


# --- users -----------------------------------------------------------------------


def test_an_admin_adds_lists_and_changes_users(app, video_bytes):
    admin = cookie_client(app)
    made = post_json(admin, "/api/v2/users", {"name": "carol", "password": "a-long-password", "role": "uploader"})
    assert made.status_code == 201, made.get_json()
    carol = made.get_json()
    assert made.headers["Location"] == carol["links"]["self"]
    assert (carol["name"], carol["role"], carol["disabled"], carol["usage_bytes"], carol["video_count"]) == (
        "carol", "uploader", False, 0, 0)
    users = admin.get("/api/v2/users").get_json()["items"]
    assert {user["name"] for user in users} == {"tester", "carol"}
    assert_problem(post_json(admin, "/api/v2/users", {"name": "CAROL", "password": "a-long-password"}), 409, "user_exists")
    assert_problem(post_json(admin, "/api/v2/users", {"name": "dave", "password": "short"}), 400, "invalid_password")
    assert_problem(post_json(admin, "/api/v2/users", {"name": "dave", "password": "a-long-password", "role": "god"}),
                   400, "invalid_role")

    changed = admin.patch(carol["links"]["self"], data=json.dumps({"role": "viewer", "quota": "5GiB"}), content_type=MERGE_PATCH)
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["role"], changed.get_json()["quota_bytes"]) == ("viewer", 5 * 1024**3)
    disabled = admin.patch(carol["links"]["self"], data=json.dumps({"disabled": True, "quota": None}), content_type=MERGE_PATCH)
    assert disabled.get_json()["disabled"] is True and disabled.get_json()["quota_bytes"] is None
    with app.app_context():
        assert service.verify_password("carol", "a-long-password") is None, "a disabled user signs in no more"


def test_a_refused_change_changes_nothing(app):
    admin = cookie_client(app)
    carol = post_json(admin, "/api/v2/users", {"name": "carol", "password": "a-long-password"}).get_json()
    bad = admin.patch(carol["links"]["self"], data=json.dumps({"role": "admin", "quota": "lots"}), content_type=MERGE_PATCH)
    assert_problem(bad, 400, "invalid_quota")
    bad = admin.patch(carol["links"]["self"], data=json.dumps({"role": "admin", "disabled": "yes"}), content_type=MERGE_PATCH)
    assert_problem(bad, 400, "bad_request")
    assert admin.get(carol["links"]["self"]).get_json()["role"] == "viewer"
    assert_problem(admin.patch(carol["links"]["self"], data="{}", content_type="application/json"), 415, "unsupported_body_type")
    assert_problem(admin.patch("/api/v2/users/999999", data="{}", content_type=MERGE_PATCH), 404, "user_not_found")


def test_the_last_admin_is_never_demoted_or_disabled(app):
    admin = cookie_client(app)
    me = admin.get("/api/v2/me").get_json()
    for change in ({"role": "uploader"}, {"disabled": True}):
        refused = admin.patch(f"/api/v2/users/{me['id']}", data=json.dumps(change), content_type=MERGE_PATCH)
        assert "last enabled admin" in assert_problem(refused, 409, "last_admin")["detail"]
    assert admin.get(f"/api/v2/users/{me['id']}").get_json()["role"] == "admin"
    other = post_json(admin, "/api/v2/users", {"name": "root2", "password": "a-long-password", "role": "admin"}).get_json()
    demoted = admin.patch(f"/api/v2/users/{me['id']}", data=json.dumps({"role": "uploader"}), content_type=MERGE_PATCH)
    assert demoted.status_code == 200 and demoted.get_json()["role"] == "uploader"
    assert other["role"] == "admin"


def test_users_are_an_admins_signed_in_only(app):
    assert_problem(cookie_client(app, "alice", "uploader").get("/api/v2/users"), 403, "forbidden")
    admin_token = signed_in_client(app, "boss", "admin")
    assert "cannot be used for managing users" in assert_problem(admin_token.get("/api/v2/users"), 403, "forbidden")["detail"]
    assert_problem(app.test_client().get("/api/v2/users"), 401, "unauthorized")


def test_the_users_list_counts_usage_and_videos(app, video_bytes):
    import io

    alice = signed_in_client(app, "alice", "uploader")
    assert alice.post("/api/v2/videos", data={"file": (io.BytesIO(video_bytes), "a.mp4")},
                      content_type="multipart/form-data").status_code == 201
    users = {user["name"]: user for user in cookie_client(app).get("/api/v2/users").get_json()["items"]}
    assert (users["alice"]["usage_bytes"], users["alice"]["video_count"]) == (len(video_bytes), 1)
    assert list(users)[0] == "alice", "the largest usage first, as on the admins' page"

"""``flask --app wsgi move-database``: the rows of a library move to another database, resumably."""

from __future__ import annotations

import os

from portal import create_app
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4


def listing(client) -> list[dict]:
    return client.get("/api/v1/files?per_page=100&sort=filename").get_json()["items"]


def test_rows_move_to_another_database_and_the_library_is_the_same_there(app, client, empty_database, tmp_path):
    for name in ("Émile.mp4", "b.mp4", "c.mp4"):
        upload(client, minimal_mp4(os.urandom(100)), name)
    before = listing(client)
    share = client.post(f"/api/v1/files/{before[0]['id']}/shares", json={"days": 3}).get_json()
    result = app.test_cli_runner().invoke(args=["move-database", "--to", empty_database])
    assert result.exit_code == 0, result.output
    # The tester, their token and their session, the three videos, their three originals and the share link.
    assert "copied 10 rows, 0 already there" in result.output

    moved = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test",
                        "SQLALCHEMY_DATABASE_URI": empty_database})
    # The same token and the same session cookie sign the same user in there.
    by_token = moved.test_client()
    assert by_token.get("/api/v1/me", headers={"Authorization": f"Bearer {client.token}"}).get_json()["username"] == "tester"
    by_cookie = moved.test_client()
    with by_cookie.session_transaction() as session:
        session["_user_id"] = client.session_key
    assert by_cookie.get("/").status_code == 200
    assert moved.test_client().get(share["url"]).status_code == 200
    # New users and tokens get ids past the copied ones (PostgreSQL's sequences were moved on).
    moved_client = signed_in_client(moved, "newcomer", "viewer")
    assert listing(moved_client) == before
    assert all(item["owner"] == "tester" for item in before)
    assert moved_client.get(before[0]["content_url"]).status_code == 200
    assert moved_client.get("/api/v1/files?q=émile").get_json()["total"] == 1

    upload(client, minimal_mp4(), "added meanwhile.mp4")
    again = app.test_cli_runner().invoke(args=["move-database", "--to", empty_database])
    assert "copied 2 rows, 10 already there" in again.output, "the video and its original"
    assert len(listing(moved_client)) == 4
    with moved.app_context():
        db.engine.dispose()

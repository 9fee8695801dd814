"""``flask --app wsgi move-database``: the rows of a library move to another database, resumably."""

from __future__ import annotations

import os

import pytest

from portal import create_app
from portal.extensions import db
from tests.conftest import minimal_mp4
from tests.databases import POSTGRES_URL
from tests.databases import postgres_schema
from tests.databases import sqlite_url
from tests.helpers import upload


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path):
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    with postgres_schema(POSTGRES_URL) as url:
        yield url


def listing(client) -> list[dict]:
    return client.get("/api/v1/files?per_page=100&sort=filename").get_json()["items"]


def test_rows_move_to_another_database_and_the_library_is_the_same_there(app, client, target_url, tmp_path):
    for name in ("Émile.mp4", "b.mp4", "c.mp4"):
        upload(client, minimal_mp4(os.urandom(100)), name)
    before = listing(client)
    result = app.test_cli_runner().invoke(args=["move-database", "--to", target_url])
    assert result.exit_code == 0, result.output
    assert "copied 3 rows, 0 already there" in result.output

    moved = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test",
                        "SQLALCHEMY_DATABASE_URI": target_url})
    moved_client = moved.test_client()
    assert listing(moved_client) == before
    assert moved_client.get(before[0]["content_url"]).status_code == 200
    assert moved_client.get("/api/v1/files?q=émile").get_json()["total"] == 1

    upload(client, minimal_mp4(), "added meanwhile.mp4")
    again = app.test_cli_runner().invoke(args=["move-database", "--to", target_url])
    assert "copied 1 rows, 3 already there" in again.output
    assert len(listing(moved_client)) == 4
    with moved.app_context():
        db.engine.dispose()

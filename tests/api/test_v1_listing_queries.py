"""``GET /api/v1/files`` costs the same few SQL statements whatever the page size."""

from __future__ import annotations

import hashlib
import uuid
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.library.models import Video


@pytest.fixture
def many_videos(app):
    now = datetime.now(timezone.utc)
    rows = []
    for index in range(250):
        name = f"clip {index:03d}.mp4"
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "filename": name,
                "search_name": name,
                "content_type": "video/mp4",
                "size": 1000 + index,
                "sha256": hashlib.sha256(name.encode()).hexdigest(),
                "status": "ok",
                "created_at": now - timedelta(minutes=index),
                "verified_at": now,
            }
        )
    with app.app_context():
        db.session.execute(db.insert(Video), rows)
        db.session.commit()
    return rows


@contextmanager
def counted_statements(app):
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_for(app, client, url: str) -> list[str]:
    client.get(url)  # warm up: connection set-up is not the listing's cost
    with counted_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert sum("api_tokens" in statement for statement in statements) == 1, statements
    return [statement for statement in statements if "videos" in statement]


@pytest.mark.parametrize("extra", ["", "&q=clip", "&sort=filename", "&sort=-size&page=2"])
def test_listing_runs_the_same_statements_for_one_item_and_a_hundred(app, client, many_videos, extra):
    one = statements_for(app, client, "/api/v1/files?per_page=1" + extra)
    hundred = statements_for(app, client, "/api/v1/files?per_page=100" + extra)
    # Finding the caller costs the same on every request: what the listing itself adds is counted.
    caller = statements_for(app, client, "/api/v1/me")
    assert len(client.get("/api/v1/files?per_page=100" + extra).get_json()["items"]) == 100
    assert len(hundred) == len(one)
    assert len(hundred) - len(caller) <= 2, hundred

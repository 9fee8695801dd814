"""The metadata database: migrations on SQLite and PostgreSQL, upgrades that keep rows, concurrent start-up."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import datetime
from datetime import timezone
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from portal import MIGRATIONS
from portal import create_app
from portal.extensions import db
from portal.extensions import migrate
from tests.databases import POSTGRES_URL
from tests.databases import insert_video_rows
from tests.databases import postgres_schema
from tests.helpers import signed_in_client
from tests.helpers import upload

#: The newest schema revision: what every start-up upgrades to.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def migrate_to(url: str, revision: str) -> None:
    """Run the portal's migrations up to ``revision`` only, as an older portal would have."""
    app = Flask("older-portal")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS), revision=revision)
        db.engine.dispose()


def portal_on(url: str, data_dir: Path):
    return create_app({"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url})


def test_migrations_create_the_schema_on_an_empty_database(empty_database, tmp_path):
    app = portal_on(empty_database, tmp_path / "data")
    with app.app_context():
        assert "videos" in sa.inspect(db.engine).get_table_names()
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
        db.engine.dispose()


def test_upgrade_from_the_first_schema_keeps_every_row(empty_database, tmp_path):
    migrate_to(empty_database, "0001")
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    rows = [
        {"id": f"00000000-0000-4000-8000-00000000000{n}", "filename": f"Clip {n}.mp4", "search_name": f"clip {n}.mp4",
         "content_type": "video/mp4", "size": 1000 + n, "sha256": f"{n}" * 64, "status": "ok", "created_at": created}
        for n in range(3)
    ]
    insert_video_rows(empty_database, rows)

    app = portal_on(empty_database, tmp_path / "data")
    client = signed_in_client(app)
    listing = client.get("/api/v1/files?sort=filename").get_json()
    assert listing["total"] == 3
    assert [item["filename"] for item in listing["items"]] == ["Clip 0.mp4", "Clip 1.mp4", "Clip 2.mp4"]
    assert [item["size"] for item in listing["items"]] == [1000, 1001, 1002]
    assert client.get(f"/api/v1/files/{rows[1]['id']}").get_json()["sha256"] == "1" * 64
    assert client.get("/api/v1/files?q=CLIP 2").get_json()["total"] == 1
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
        db.engine.dispose()


def test_a_name_that_grows_when_case_folded_is_stored_and_found(client, video_bytes):
    name = "ß" * 251 + ".mp4"
    response = upload(client, video_bytes, name)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["filename"] == name
    found = client.get("/api/v1/files", query_string={"q": "SS" * 100}).get_json()
    assert [item["filename"] for item in found["items"]] == [name]


def test_search_and_sort_by_name_are_case_insensitive_for_every_script(client, video_bytes):
    for name in ("Émile.mp4", "ÉCOLE.mp4", "straße.mp4", "Ωmega.mp4", "alpha.mp4"):
        upload(client, video_bytes, name)
    assert [i["filename"] for i in client.get("/api/v1/files?q=éCOLE").get_json()["items"]] == ["ÉCOLE.mp4"]
    assert [i["filename"] for i in client.get("/api/v1/files?q=STRASSE").get_json()["items"]] == ["straße.mp4"]
    assert [i["filename"] for i in client.get("/api/v1/files?q=ωMEGA").get_json()["items"]] == ["Ωmega.mp4"]
    by_name = [i["filename"] for i in client.get("/api/v1/files?sort=filename").get_json()["items"]]
    # Code point order of the case-folded names, the same on SQLite and PostgreSQL.
    assert by_name == ["alpha.mp4", "straße.mp4", "ÉCOLE.mp4", "Émile.mp4", "Ωmega.mp4"]


@pytest.mark.postgres
def test_processes_starting_together_on_postgresql_upgrade_the_schema_once(tmp_path):
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    # Each process imports everything, says it is ready, then waits for one signal to start,
    # so that their upgrades truly run at the same moment.
    script = """
import sys, time
from pathlib import Path
from portal import create_app
folder = Path(sys.argv[1])
(folder / ("ready-" + sys.argv[3])).touch()
deadline = time.monotonic() + 30
while not (folder / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.005)
create_app({"DATA_DIR": str(folder / ("data" + sys.argv[3])), "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": sys.argv[2]})
"""
    root = Path(__file__).resolve().parent.parent
    count = 3
    with ExitStack() as stack:
        url = stack.enter_context(postgres_schema(POSTGRES_URL))
        processes = [
            subprocess.Popen([sys.executable, "-c", script, str(tmp_path), url, str(n)], cwd=root,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for n in range(count)
        ]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp_path / "go").touch()
        outputs = [process.communicate(timeout=60)[0].decode(errors="replace") for process in processes]
        assert [process.returncode for process in processes] == [0] * count, "\n".join(outputs)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
        engine.dispose()

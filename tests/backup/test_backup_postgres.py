"""``flask --app wsgi backup`` on PostgreSQL: pg_dump in the object list's snapshot, restore, drill, local and S3."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.backup.postgres import throwaway_database
from portal.extensions import db
from tests.backup.test_backup import assert_drill_passes_then_fails_on_a_damaged_object
from tests.backup.test_backup import dispose
from tests.backup.test_backup import run
from tests.databases import POSTGRES_URL
from tests.databases import postgres_schema
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4

pytestmark = pytest.mark.postgres


def portal(folder: Path, database_url: str):
    return create_app({"TESTING": True, "DATA_DIR": str(folder), "SECRET_KEY": f"key-of-{folder.name}",
                       "SQLALCHEMY_DATABASE_URI": database_url})


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A portal on a PostgreSQL schema with three videos (one in the trash, one shared, one tagged) and its first backup."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    folder = tmp_path_factory.mktemp("pg-library")
    with postgres_schema(POSTGRES_URL) as url:
        app = portal(folder / "data", url)
        client = signed_in_client(app)
        files = [upload(client, minimal_mp4(os.urandom(size)), f"clip{size}.mp4").get_json() for size in (10, 5000, 300_000)]
        assert client.delete(f"/api/v1/files/{files[0]['id']}").status_code in (200, 204)
        assert client.post(f"/api/v2/videos/{files[1]['id']}/shares", json={"days": 3}).status_code == 201
        etag = client.get(f"/api/v2/videos/{files[2]['id']}").headers["ETag"]
        tagged = client.patch(f"/api/v2/videos/{files[2]['id']}", data=json.dumps({"tags": ["sea", "drone"]}),
                              content_type="application/merge-patch+json", headers={"If-Match": etag})
        assert tagged.status_code == 200, tagged.get_json()
        dest = folder / "dest"
        first = run(app, "create", str(dest))
        assert first.exit_code == 0, first.output
        yield app, dest, files
        dispose(app)


def latest_manifest(dest: Path) -> dict:
    return json.loads(max((dest / "backups").glob("*/manifest.json")).read_text())


def test_create_dumps_postgresql_with_every_object_and_verifies(library):
    app, dest, files = library
    manifest = latest_manifest(dest)
    assert manifest["database"]["dialect"] == "postgresql"
    assert manifest["database"]["file"] == "database.pgdump"
    assert {entry["sha256"] for entry in manifest["objects"]} >= {file["sha256"] for file in files}
    assert [row[2] for row in manifest["contents"]["tags"]] == [0, 1]
    assert len(manifest["contents"]["share_links"]) == 1
    checked = run(app, "verify", str(dest))
    assert checked.exit_code == 0 and "0 problems" in checked.output, checked.output
    again = run(app, "create", str(dest))
    assert again.exit_code == 0 and "0 copied" in again.output, again.output


def test_a_damaged_postgresql_dump_fails_verify(library):
    app, dest, _files = library
    dump = max((dest / "backups").glob("*/database.pgdump"))
    kept = dump.read_bytes()
    manifest_path = dump.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    garbled = b"not a dump" + kept[10:]
    manifest["database"]["sha256"] = hashlib.sha256(garbled).hexdigest()
    kept_manifest = manifest_path.read_text()
    dump.write_bytes(garbled)
    manifest_path.write_text(json.dumps(manifest))
    try:
        checked = run(app, "verify", str(dest), "--backup", manifest["id"])
    finally:
        dump.write_bytes(kept)
        manifest_path.write_text(kept_manifest)
    assert checked.exit_code == 1
    assert "unreadable: the database dump" in checked.output


def test_the_drill_passes_on_postgresql_and_leaves_no_database_behind(library):
    app, dest, files = library
    admin = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    query = sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'portal_drill_%' ORDER BY datname")
    with admin.connect() as connection:
        before = connection.execute(query).scalars().all()
    assert_drill_passes_then_fails_on_a_damaged_object(app, dest, files)
    with admin.connect() as connection:
        assert connection.execute(query).scalars().all() == before
    admin.dispose()


def test_restore_onto_an_empty_postgresql_database_brings_everything_back(library, tmp_path):
    app, dest, files = library
    # Another schema name than the source's: the restored schema is renamed to the target's.
    with throwaway_database(POSTGRES_URL, "restored_here") as url:
        target = portal(tmp_path / "restored", url)
        try:
            restored = run(target, "restore", str(dest))
            assert restored.exit_code == 0, restored.output
            client = signed_in_client(target, "someone-else")
            listed = client.get("/api/v2/videos?limit=10").get_json()["items"]
            assert {video["id"] for video in listed} == {file["id"] for file in files[1:]}
            for file in files[1:]:
                assert client.get(f"/api/v1/files/{file['id']}/content").data == (
                    Path(app.config["DATA_DIR"]) / "files" / file_key(app, file["id"])).read_bytes()
            tagged = client.get(f"/api/v2/videos/{files[2]['id']}").get_json()
            assert tagged["tags"] == ["sea", "drone"]
            with target.app_context():
                revision = db.session.execute(sa.text("SELECT version_num FROM restored_here.alembic_version")).scalar_one()
            assert revision == latest_manifest(dest)["schema_revision"]
        finally:
            dispose(target)


def file_key(app, video_id: str) -> str:
    with app.app_context():
        from portal.library.models import Video

        video = db.session.get(Video, video_id)
        assert video is not None
        return video.storage_key


def test_restore_onto_a_postgresql_database_in_use_is_refused_and_changes_nothing(library, tmp_path):
    _app, dest, _files = library
    with throwaway_database(POSTGRES_URL, "busy") as url:
        target = portal(tmp_path / "busy", url)
        try:
            mine = upload(signed_in_client(target), minimal_mp4(b"mine"), "mine.mp4").get_json()
            refused = run(target, "restore", str(dest))
            assert refused.exit_code == 1
            assert "refusing to restore" in refused.output and "database is not empty" in refused.output
            with target.app_context():
                from portal.library.models import Video

                assert [video.id for video in db.session.scalars(db.select(Video))] == [mine["id"]]
        finally:
            dispose(target)


def test_a_postgresql_backup_to_s3_passes_the_drill(library, s3_url):
    app, _dest, _files = library
    created = run(app, "create", s3_url)
    assert created.exit_code == 0, created.output
    checked = run(app, "verify", s3_url)
    assert checked.exit_code == 0 and "0 problems" in checked.output, checked.output
    drilled = run(app, "drill", s3_url)
    assert drilled.exit_code == 0, drilled.output

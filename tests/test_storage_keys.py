"""Storage keys namespaced by kind, and libraries stored before the kinds (``ab/cd/<id>``) that keep working."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from datetime import timezone
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from portal import MIGRATIONS
from portal import create_app
from portal.extensions import db
from portal.extensions import migrate
from portal.library.models import StorageKind
from portal.library.models import Video
from portal.library.models import parse_storage_key
from portal.library.models import storage_key_for
from portal.storage.s3 import S3Storage
from tests.databases import insert_video_rows
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import minimal_mp4

VIDEO_ID = "0123abcd-0000-4000-8000-000000000000"


def old_key(video_id: str) -> str:
    """The only layout before the kinds."""
    return f"{video_id[:2]}/{video_id[2:4]}/{video_id}"


def test_keys_are_namespaced_by_kind_and_sharded_by_id():
    assert storage_key_for(VIDEO_ID) == f"original/01/23/{VIDEO_ID}"
    assert storage_key_for(VIDEO_ID, StorageKind.POSTER) == f"poster/01/23/{VIDEO_ID}"
    assert parse_storage_key(f"playable/01/23/{VIDEO_ID}") == (StorageKind.PLAYABLE, VIDEO_ID)


@pytest.mark.parametrize(
    "key",
    [old_key(VIDEO_ID), f"thumbnail/01/23/{VIDEO_ID}", f"poster/99/23/{VIDEO_ID}", f"poster/{VIDEO_ID}", "original"],
)
def test_a_key_of_no_known_kind_and_shape_parses_to_nothing(key):
    assert parse_storage_key(key) is None


def make_old_library(url: str, data_dir: Path, count: int = 3) -> list[dict]:
    """A library as the portal before the kinds made it: schema 0003, bytes under ``ab/cd/<id>``."""
    older = Flask("older-portal")
    older.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(older)
    migrate.init_app(older, db, directory=str(MIGRATIONS), render_as_batch=True)
    with older.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS), revision="0003")
        db.engine.dispose()
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    rows = []
    for n in range(count):
        data = minimal_mp4(os.urandom(1000 + n))
        video_id = f"{n:02d}ab{n:02d}cd-0000-4000-8000-00000000000{n}"
        path = data_dir / "files" / old_key(video_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows.append(
            {"id": video_id, "filename": f"Old {n}.mp4", "search_name": f"old {n}.mp4", "content_type": "video/mp4",
             "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "status": "ok", "created_at": created,
             "data": data}
        )
    insert_video_rows(url, rows)
    return rows


@pytest.fixture
def old_library(empty_database, tmp_path):
    """The current portal started on a library made before the kinds, on SQLite and PostgreSQL."""
    data_dir = tmp_path / "data"
    rows = make_old_library(empty_database, data_dir)
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(data_dir), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database}
    )
    yield app, rows, data_dir / "files"
    with app.app_context():
        db.engine.dispose()


def stored_keys(app) -> dict[str, str]:
    with app.app_context():
        return {video_id: key for video_id, key in db.session.execute(sa.text("SELECT id, storage_key FROM videos"))}


def cleanup_report(app) -> list[str]:
    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    return [line.split(" stored file ", 1)[1].split(":")[0] for line in result.output.splitlines() if "no row" in line]


def test_the_upgrade_names_each_old_videos_bytes_where_they_are(old_library):
    app, rows, _ = old_library
    assert stored_keys(app) == {row["id"]: old_key(row["id"]) for row in rows}


def test_an_old_library_is_listed_downloaded_and_verified_from_its_old_keys(old_library):
    app, rows, _ = old_library
    client = signed_in_client(app)
    listing = client.get("/api/v1/files?sort=filename").get_json()
    assert [item["filename"] for item in listing["items"]] == ["Old 0.mp4", "Old 1.mp4", "Old 2.mp4"]
    content_url = listing["items"][1]["content_url"]
    whole = client.get(content_url)
    assert whole.status_code == 200 and whole.get_data() == rows[1]["data"]
    part = client.get(content_url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.get_data() == rows[1]["data"][10:20]
    result = app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "checked 3 files: 3 ok" in result.output


def test_purging_an_old_video_removes_its_bytes_under_the_old_key(old_library):
    app, rows, files = old_library
    client = signed_in_client(app)
    assert client.delete(f"/api/v1/files/{rows[0]['id']}").status_code == 204
    assert (files / old_key(rows[0]["id"])).exists()  # in the trash
    assert client.delete(f"/api/v1/trash/{rows[0]['id']}").status_code == 204
    assert not (files / old_key(rows[0]["id"])).exists()
    assert (files / old_key(rows[1]["id"])).exists()
    assert client.get(f"/api/v1/files/{rows[0]['id']}").status_code == 404


def test_a_new_upload_beside_an_old_library_goes_under_its_namespaced_key(old_library, video_bytes):
    app, _, files = old_library
    client = signed_in_client(app)
    body = upload(client, video_bytes).get_json()
    assert stored_keys(app)[body["id"]] == storage_key_for(body["id"], StorageKind.ORIGINAL)
    assert (files / "original" / body["id"][:2] / body["id"][2:4] / body["id"]).read_bytes() == video_bytes
    assert client.get(body["content_url"]).get_data() == video_bytes
    assert client.get("/api/v1/files").get_json()["total"] == 4


def put(files: Path, key: str, data: bytes = b"x") -> str:
    path = files / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def test_cleanup_names_strays_of_both_layouts_and_never_a_live_videos_bytes(old_library, video_bytes):
    app, rows, files = old_library
    client = signed_in_client(app)
    new = upload(client, video_bytes).get_json()
    gone = upload(client, video_bytes).get_json()
    assert client.delete(gone["url"]).status_code == 204
    assert client.delete(f"/api/v1/trash/{gone['id']}").status_code == 204
    live_old = rows[0]["id"]
    orphan_id = "ffee0000-0000-4000-8000-000000000000"
    strays = {
        put(files, old_key(orphan_id)),  # an old-layout file whose row is gone
        put(files, storage_key_for(gone["id"])),  # a namespaced original whose row is gone
        put(files, storage_key_for(gone["id"], StorageKind.POSTER)),  # a poster of a deleted video
        put(files, f"thumbnail/{live_old[:2]}/{live_old[2:4]}/{live_old}"),  # a kind the portal does not know
        put(files, storage_key_for(live_old)),  # a second original beside the one the row names
        put(files, f"poster/zz/zz/{new['id']}"),  # a poster of a live video under the wrong shards
        put(files, "notes.txt"),
    }
    kept = {
        put(files, storage_key_for(new["id"], StorageKind.POSTER)),
        put(files, storage_key_for(live_old, StorageKind.PLAYABLE)),
    }
    reported = cleanup_report(app)
    assert sorted(reported) == reported
    assert set(reported) == strays
    assert not kept & set(reported)
    for key in strays | kept:
        assert (files / key).exists(), "strays are reported, never removed"


def test_cleanup_reports_nothing_for_a_healthy_mixed_library(old_library, video_bytes):
    app, _, _ = old_library
    upload(signed_in_client(app), video_bytes)
    assert cleanup_report(app) == []


def test_two_rows_can_never_name_the_same_bytes(old_library):
    app, rows, _ = old_library
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(
                sa.text("UPDATE videos SET storage_key = :key WHERE id = :id"),
                {"key": old_key(rows[0]["id"]), "id": rows[1]["id"]},
            )
        db.session.rollback()


def test_downgrade_is_refused_while_a_video_is_under_a_namespaced_key(old_library, video_bytes, caplog):
    app, rows, _ = old_library
    with app.app_context():
        flask_migrate.downgrade(directory=str(MIGRATIONS), revision="0003")
        columns = {column["name"] for column in sa.inspect(db.engine).get_columns("videos")}
        assert "storage_key" not in columns
        flask_migrate.upgrade(directory=str(MIGRATIONS))
        db.session.remove()
    upload(signed_in_client(app), video_bytes)
    with app.app_context():
        with pytest.raises(SystemExit):  # flask_migrate logs the migration's error, then exits
            flask_migrate.downgrade(directory=str(MIGRATIONS), revision="0003")
        assert "1 videos are stored under namespaced keys" in caplog.text
        db.session.remove()
        db.engine.dispose()
    assert len(stored_keys(app)) == len(rows) + 1


def test_move_storage_gives_each_video_the_key_its_row_names(old_library, video_bytes, s3_url):
    app, rows, _ = old_library
    new = upload(signed_in_client(app), video_bytes).get_json()
    result = app.test_cli_runner().invoke(args=["move-storage", "--to", s3_url])
    assert result.exit_code == 0, result.output
    assert "copied 4 files, 0 already there, 0 not copied" in result.output
    bucket, _, prefix = s3_url.removeprefix("s3://").partition("/")
    target = S3Storage(bucket, prefix)
    assert set(target.keys()) == set(stored_keys(app).values())
    assert storage_key_for(new["id"]) in set(target.keys()) and old_key(rows[0]["id"]) in set(target.keys())

    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        db.engine.dispose()
    on_s3 = create_app(
        {"TESTING": True, "DATA_DIR": app.config["DATA_DIR"], "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
         "STORAGE_URL": s3_url}
    )
    client = signed_in_client(on_s3)
    assert client.get(f"/api/v1/files/{rows[2]['id']}/content").get_data() == rows[2]["data"]
    assert client.get(new["content_url"]).get_data() == video_bytes
    assert cleanup_report(on_s3) == []
    with on_s3.app_context():
        db.engine.dispose()


def test_a_row_inserted_without_a_key_names_the_namespaced_original(app):
    with app.app_context():
        db.session.execute(
            sa.insert(Video),
            [{"id": VIDEO_ID, "filename": "a.mp4", "search_name": "a.mp4", "content_type": "video/mp4", "size": 1,
              "sha256": "0" * 64}],
        )
        db.session.commit()
        assert db.session.get_one(Video, VIDEO_ID).storage_key == f"original/01/23/{VIDEO_ID}"

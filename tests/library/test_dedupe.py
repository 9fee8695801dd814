"""Identical bytes stored once: one original per SHA-256, shared by every video with those bytes, counted by reference."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from portal import create_app
from portal.accounts.models import User
from portal.extensions import db
from portal.library import trash as trash_service
from portal.library.models import Original
from portal.library.models import StorageKind
from portal.library.models import Video
from portal.storage import storage_of
from portal.uploads.quota import usage_of
from tests.helpers import json_body
from tests.helpers import local_storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.reliability.conftest import start_portal  # noqa: F401
from tests.support import minimal_mp4
from tests.test_database import migrate_to
from tests.test_database import portal_on
from tests.trash.conftest import trash


def originals_of(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return [(row.sha256, row.storage_key, row.refs) for row in db.session.scalars(sa.select(Original))]


def original_keys(app) -> set[str]:
    prefix = f"{StorageKind.ORIGINAL.value}/"
    return {key for key in storage_of(app).keys() if key.startswith(prefix)}


def test_identical_uploads_are_two_videos_over_one_stored_object(storage_app, video_bytes):
    client = signed_in_client(storage_app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    second_response = upload(client, video_bytes, "second.mp4", title="ignored")
    assert second_response.status_code == 201
    second = json_body(second_response)
    assert first["id"] != second["id"] and second["filename"] == "second.mp4"
    assert "duplicate_of" not in first
    assert second["duplicate_of"] == first["id"]
    sha256 = hashlib.sha256(video_bytes).hexdigest()
    with storage_app.app_context():
        first_key = db.session.get_one(Video, first["id"]).upload_key
    assert originals_of(storage_app) == [(sha256, first_key, 2)]
    assert original_keys(storage_app) == {first_key}
    assert client.get(second["content_url"]).get_data() == video_bytes


def test_the_object_goes_only_with_the_last_video_through_trash_restore_and_purge(storage_app, video_bytes):
    client = signed_in_client(storage_app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    second = json_body(upload(client, video_bytes, "second.mp4"))
    share = json_body(client.post(f"/api/v1/files/{second['id']}/shares", json={}))
    trash(client, first)
    assert client.get(first["content_url"]).status_code == 404
    assert client.get(second["content_url"]).get_data() == video_bytes
    assert client.post(f"/api/v1/trash/{first['id']}/restore").status_code == 200
    assert client.get(first["content_url"]).get_data() == video_bytes
    trash(client, first)
    assert client.delete(f"/api/v1/trash/{first['id']}").status_code == 204
    keys = original_keys(storage_app)
    assert len(keys) == 1, "the first video's key stays: the second uses it"
    assert [refs for _, _, refs in originals_of(storage_app)] == [1]
    assert client.get(second["content_url"]).get_data() == video_bytes
    anonymous = storage_app.test_client()
    page = anonymous.get(share["url"])
    assert page.status_code == 200
    trash(client, second)
    assert anonymous.get(share["url"]).status_code == 404
    assert original_keys(storage_app) == keys, "the trash keeps the bytes"
    assert client.post(f"/api/v1/trash/{second['id']}/restore").status_code == 200
    assert client.get(second["content_url"]).get_data() == video_bytes
    trash(client, second)
    assert client.delete(f"/api/v1/trash/{second['id']}").status_code == 204
    assert original_keys(storage_app) == set()
    assert originals_of(storage_app) == []
    third = json_body(upload(client, video_bytes, "third.mp4"))
    assert "duplicate_of" not in third
    assert client.get(third["content_url"]).get_data() == video_bytes


def test_deleting_at_once_keeps_bytes_another_video_uses(tmp_path, database_url, video_bytes):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SQLALCHEMY_DATABASE_URI": database_url,
                      "TRASH_DAYS": 0})
    client = signed_in_client(app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    second = json_body(upload(client, video_bytes, "second.mp4"))
    assert client.delete(first["url"]).status_code == 204
    assert client.get(second["content_url"]).get_data() == video_bytes
    assert client.delete(second["url"]).status_code == 204
    assert original_keys(app) == set() and originals_of(app) == []
    with app.app_context():
        db.engine.dispose()


def test_usage_counts_shared_bytes_for_each_owner_and_metrics_count_them_once(app, video_bytes):
    admin = signed_in_client(app)
    other = signed_in_client(app, "uploader", role="uploader")
    upload(admin, video_bytes, "a.mp4")
    upload(other, video_bytes, "b.mp4")
    upload(other, video_bytes, "c.mp4")
    size = len(video_bytes)
    with app.app_context():
        users = {user.username: user for user in db.session.scalars(sa.select(User))}
        recount = dict(
            db.session.execute(sa.select(Video.owner_id, sa.func.sum(Video.size)).group_by(Video.owner_id)).all()
        )
        assert usage_of(users["tester"]) == size == recount[users["tester"].id]
        assert usage_of(users["uploader"]) == 2 * size == recount[users["uploader"].id]
    metrics = admin.get("/metrics").get_data(as_text=True)
    assert f"portal_storage_bytes {float(size)}" in metrics
    assert f"portal_storage_logical_bytes {float(3 * size)}" in metrics


def test_duplicate_of_names_only_videos_the_caller_may_see(app, video_bytes):
    alice = signed_in_client(app, "alice", role="uploader")
    bob = signed_in_client(app, "bob", role="uploader")
    admin = signed_in_client(app, "boss", role="admin")
    alices = json_body(upload(alice, video_bytes, "alice.mp4"))
    bobs_first = json_body(upload(bob, video_bytes, "bob.mp4"))
    assert "duplicate_of" not in bobs_first, "alice's video is not bob's to know of"
    raw = bob.post("/api/v2/videos?filename=again.mp4", data=video_bytes, content_type="application/octet-stream")
    assert raw.status_code == 201
    assert json_body(raw)["duplicate_of"] == bobs_first["id"]
    by_admin = json_body(upload(admin, video_bytes, "admin.mp4"))
    assert by_admin["duplicate_of"] == alices["id"], "an admin sees every video"
    trash(alice, alices)
    assert json_body(upload(admin, video_bytes, "later.mp4"))["duplicate_of"] == bobs_first["id"], "the trash is not named"
    fresh = bob.post("/api/v2/videos?filename=other.mp4", data=video_bytes + b"\0", content_type="application/octet-stream")
    assert fresh.status_code == 201 and "duplicate_of" not in json_body(fresh)
    assert len(originals_of(app)) == 2


def test_concurrent_identical_uploads_end_with_one_object_and_a_video_each(app, video_bytes):
    count = 4
    clients = [signed_in_client(app, f"user{index}", role="uploader") for index in range(count)]
    start = threading.Barrier(count)
    answers: list[int] = []

    def send(client) -> None:
        start.wait()
        response = client.post(
            "/api/v1/files", data={"file": (io.BytesIO(video_bytes), "same.mp4")}, content_type="multipart/form-data"
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * count
    [(_, key, refs)] = originals_of(app)
    assert refs == count
    assert original_keys(app) == {key}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Video)) == count
    assert "no row describes" not in app.test_cli_runner().invoke(args=["cleanup"]).output


def test_identical_uploads_to_two_processes_end_with_one_object(start_portal, database_url, tmp_path):  # noqa: F811
    """Two waitress processes on one database, eight uploads of one file sent at once: one object, eight videos."""
    portal = start_portal(env={"PORTAL_SQLALCHEMY_DATABASE_URI": database_url, "PORTAL_PROCESSES": "2"})
    data = minimal_mp4(b"\1" * 2_000_000)
    count = 8
    start = threading.Barrier(count)
    answers: list[dict] = []

    def send() -> None:
        start.wait()
        response = portal.http.post(f"{portal.url}/api/v1/files?filename=same.mp4", data=data, timeout=60)
        answers.append({**response.json(), "http_status": response.status_code})

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer["http_status"] for answer in answers] == [201] * count
    assert len({answer["id"] for answer in answers}) == count
    assert sum("duplicate_of" not in answer for answer in answers) == 1
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        [(key, refs)] = connection.execute(sa.text("SELECT storage_key, refs FROM originals")).all()
    engine.dispose()
    assert refs == count
    files = [path for path in (portal.data_dir / "files" / "original").rglob("*") if path.is_file()]
    assert [path.relative_to(portal.data_dir / "files").as_posix() for path in files] == [key]


def test_verify_hashes_a_shared_object_once_and_marks_every_video_using_it(app, video_bytes):
    client = signed_in_client(app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    second = json_body(upload(client, video_bytes, "second.mp4"))
    other = json_body(upload(client, video_bytes + b"\0", "other.mp4"))
    with app.app_context():
        path = local_storage_of(app).path(db.session.get_one(Video, second["id"]).storage_key)
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 0xFF
    path.write_bytes(bytes(damaged))
    result = app.test_cli_runner().invoke(args=["verify"])
    assert result.exit_code == 1
    assert f"CORRUPT: {first['id']}" in result.output and f"CORRUPT: {second['id']}" in result.output
    assert "checked 3 files: 1 ok, 2 corrupt or missing" in result.output
    assert json_body(client.get(first["url"]))["status"] == "corrupt"
    assert json_body(client.get(other["url"]))["status"] == "ok"


def test_move_storage_copies_a_shared_object_once(app, tmp_path, video_bytes):
    client = signed_in_client(app)
    upload(client, video_bytes, "first.mp4")
    upload(client, video_bytes, "second.mp4")
    target = tmp_path / "target"
    result = app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert result.exit_code == 0, result.output
    copied = [path for path in (target / "original").rglob("*") if path.is_file()]
    assert [path.read_bytes() for path in copied] == [video_bytes]


VIDEO_IDS = [f"00000000-0000-4000-8000-00000000002{index}" for index in range(3)]


def test_the_migration_folds_existing_videos_of_one_checksum_into_one_original(empty_database, tmp_path, video_bytes):
    """Two old videos with the same bytes (the first found corrupt) and one of others: two originals, the kept copy whole."""
    migrate_to(empty_database, "0019")
    same = hashlib.sha256(video_bytes).hexdigest()
    rows = [
        (VIDEO_IDS[0], same, "corrupt", datetime(2026, 1, 1, tzinfo=timezone.utc)),
        (VIDEO_IDS[1], same, "ok", datetime(2026, 1, 2, tzinfo=timezone.utc)),
        (VIDEO_IDS[2], "7" * 64, "ok", datetime(2026, 1, 3, tzinfo=timezone.utc)),
    ]
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for video_id, sha256, status, created in rows:
            connection.execute(
                sa.text(
                    "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                    "storage_key) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', :size, :sha256, :status, :created, :key)"
                ),
                {"id": video_id, "size": len(video_bytes), "sha256": sha256, "status": status, "created": created,
                 "key": f"original/00/00/{video_id}"},
            )
    engine.dispose()
    app = portal_on(empty_database, tmp_path / "data")
    assert {sha256: (key, refs) for sha256, key, refs in originals_of(app)} == {
        "7" * 64: (f"original/00/00/{VIDEO_IDS[2]}", 1),
        same: (f"original/00/00/{VIDEO_IDS[1]}", 2),
    }
    with app.app_context():
        assert db.session.get_one(Video, VIDEO_IDS[0]).storage_key == f"original/00/00/{VIDEO_IDS[1]}"
        db.engine.dispose()


def test_a_resumable_upload_of_stored_bytes_drops_its_own_copy(storage_app, video_bytes):
    from tests.uploads.tus import chunk_headers
    from tests.uploads.tus import creation

    client = signed_in_client(storage_app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    created = client.post("/api/v1/uploads", headers=creation(len(video_bytes), filename="again.mp4"))
    assert created.status_code == 201
    last = client.patch(created.headers["Location"], data=video_bytes, headers=chunk_headers(0))
    assert last.status_code == 204
    again = json_body(client.get(last.headers["Portal-File-URL"]))
    assert again["id"] != first["id"] and again["filename"] == "again.mp4"
    with storage_app.app_context():
        assert {video.storage_key for video in db.session.scalars(sa.select(Video))} == original_keys(storage_app)
    assert len(original_keys(storage_app)) == 1
    assert client.get(again["content_url"]).get_data() == video_bytes


def _old_library(database_url: str, tmp_path, rows: list[tuple[str, bytes, str]]):
    """A library at revision 0019 whose videos (id, bytes, status) each have their own copy; the portal on it, migrated."""
    migrate_to(database_url, "0019")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for index, (video_id, data, status) in enumerate(rows):
            connection.execute(
                sa.text(
                    "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                    "storage_key) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', :size, :sha256, :status, :created, :key)"
                ),
                {"id": video_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "status": status,
                 "created": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=index),
                 "key": f"original/00/00/{video_id}"},
            )
    engine.dispose()
    app = portal_on(database_url, tmp_path / "data")
    storage = storage_of(app)
    for video_id, data, _status in rows:
        stored = storage.create(f"original/00/00/{video_id}")
        stored.write(data)
        stored.commit()
    return app


def test_storage_dedupe_removes_second_copies_after_checking_the_kept_one_and_resumes(empty_database, tmp_path, video_bytes):
    """The kept copy (the first video's) is damaged on disk: the whole second copy replaces it, the third goes."""
    app = _old_library(empty_database, tmp_path, [(video_id, video_bytes, "ok") for video_id in VIDEO_IDS])
    runner = app.test_cli_runner()
    kept = f"original/00/00/{VIDEO_IDS[0]}"
    local_storage_of(app).path(kept).write_bytes(video_bytes[:-1] + b"\0")
    cleanup = runner.invoke(args=["cleanup"]).output
    assert cleanup.count("is a second copy of bytes stored once already") == 2
    result = runner.invoke(args=["storage", "dedupe"])
    assert result.exit_code == 0, result.output
    assert f"removed 2 second copies, {2 * len(video_bytes)} bytes saved" in result.output
    assert original_keys(app) == {f"original/00/00/{VIDEO_IDS[1]}"}
    [(_, key, refs)] = originals_of(app)
    assert key == f"original/00/00/{VIDEO_IDS[1]}" and refs == 3
    again = runner.invoke(args=["storage", "dedupe"])
    assert "removed 0 second copies, 0 bytes saved" in again.output
    assert runner.invoke(args=["verify"]).exit_code == 0
    assert "no row describes" not in runner.invoke(args=["cleanup"]).output
    client = signed_in_client(app)
    assert client.get(f"/api/v1/files/{VIDEO_IDS[2]}/content").get_data() == video_bytes
    with app.app_context():
        db.engine.dispose()


def test_the_upload_page_says_the_bytes_were_stored_already(app, video_bytes):
    client = signed_in_client(app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    page = client.get("/upload").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    sent = client.post("/upload", data={"csrf_token": token, "file": (io.BytesIO(video_bytes), "again.mp4")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert sent.status_code == 200
    text = sent.get_data(as_text=True)
    assert "Uploaded “again.mp4”." in text
    assert f"the same as those of “first.mp4” (/videos/{first['id']})" in text
    # The page it lands on links the other video, and goes on doing so; the first video's page names none.
    assert f'<dd data-same-bytes><a href="/videos/{first["id"]}">' in text
    assert "data-same-bytes" not in client.get(f"/videos/{first['id']}").get_data(as_text=True)


def test_an_upload_of_bytes_whose_stored_object_is_damaged_replaces_it(app, video_bytes):
    client = signed_in_client(app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    with app.app_context():
        damaged_key = db.session.get_one(Video, first["id"]).storage_key
    local_storage_of(app).path(damaged_key).write_bytes(b"\0" * len(video_bytes))
    assert app.test_cli_runner().invoke(args=["verify"]).exit_code == 1
    assert json_body(client.get(first["url"]))["status"] == "corrupt"
    again = json_body(upload(client, video_bytes, "again.mp4"))
    assert "duplicate_of" not in again, "its bytes are the stored ones now"
    assert json_body(client.get(first["url"]))["status"] == "ok"
    assert client.get(first["content_url"]).get_data() == video_bytes
    with app.app_context():
        new_key = db.session.get_one(Video, again["id"]).upload_key
    assert original_keys(app) == {new_key} and [refs for _, _, refs in originals_of(app)] == [2]
    assert app.test_cli_runner().invoke(args=["verify"]).exit_code == 0


class Killed(BaseException):
    """The process dying right after a commit: nothing after it runs, no handler included."""


def killed_after_next_commit(app) -> None:
    """Make the next commit of ``app``'s session end the process (as far as the code after it can tell)."""

    def die(_session) -> None:
        event.remove(db.session, "after_commit", die)
        raise Killed()

    with app.app_context():
        event.listen(db.session, "after_commit", die)


def test_a_purge_killed_after_its_commit_leaves_an_object_cleanup_names_and_no_video_without_bytes(app, video_bytes):
    client = signed_in_client(app)
    first = json_body(upload(client, video_bytes, "first.mp4"))
    second = json_body(upload(client, video_bytes, "second.mp4"))
    other = json_body(upload(client, video_bytes + b"other", "other.mp4"))
    trash(client, first)
    trash(client, second)
    [key] = [key for _, key, _ in originals_of(app) if key.endswith(first["id"])]
    for _ in (first, second):
        killed_after_next_commit(app)
        with app.app_context(), pytest.raises(Killed):
            trash_service.purge_all(by="tests")
        assert key in original_keys(app), "the object is never deleted before its last reference is committed away"
    assert [sha256 for sha256, _, _ in originals_of(app)] == [other["sha256"]]
    runner = app.test_cli_runner()
    assert f"no row describes stored file {key}" in runner.invoke(args=["cleanup"]).output
    verified = runner.invoke(args=["verify"])
    assert verified.exit_code == 0 and "checked 1 files: 1 ok" in verified.output


def test_storage_dedupe_killed_after_switching_to_a_whole_copy_finishes_when_run_again(empty_database, tmp_path, video_bytes):
    app = _old_library(empty_database, tmp_path, [(video_id, video_bytes, "ok") for video_id in VIDEO_IDS[:2]])
    damaged = f"original/00/00/{VIDEO_IDS[0]}"
    local_storage_of(app).path(damaged).write_bytes(b"\0" * len(video_bytes))
    runner = app.test_cli_runner()
    killed_after_next_commit(app)
    with pytest.raises(Killed):
        runner.invoke(args=["storage", "dedupe"])
    assert [key for _, key, _ in originals_of(app)] == [f"original/00/00/{VIDEO_IDS[1]}"]
    assert "is a second copy of bytes stored once already" in runner.invoke(args=["cleanup"]).output
    again = runner.invoke(args=["storage", "dedupe"])
    assert again.exit_code == 0 and f"removed 1 second copies, {len(video_bytes)} bytes saved" in again.output
    assert original_keys(app) == {f"original/00/00/{VIDEO_IDS[1]}"}
    assert runner.invoke(args=["verify"]).exit_code == 0
    assert "no row describes" not in runner.invoke(args=["cleanup"]).output
    with app.app_context():
        db.engine.dispose()


def test_a_backup_names_a_shared_original_once(app, tmp_path, video_bytes):
    client = signed_in_client(app)
    upload(client, video_bytes, "first.mp4")
    upload(client, video_bytes, "second.mp4")
    runner = app.test_cli_runner()
    dest = tmp_path / "backups"
    created = runner.invoke(args=["backup", "create", str(dest)])
    assert created.exit_code == 0, created.output
    assert "1 objects" in runner.invoke(args=["backup", "list", str(dest)]).output.splitlines()[0]
    assert runner.invoke(args=["backup", "verify", str(dest)]).exit_code == 0


@pytest.mark.parametrize(
    ("document_url", "upload_url", "operation"),
    [("/api/v1/openapi.json", "/api/v1/files", "/api/v1/files"), ("/api/v2/openapi.json", "/api/v2/videos", "/api/v2/videos")],
)
def test_both_answers_with_and_without_duplicate_of_are_as_documented(client, video_bytes, document_url, upload_url, operation):
    import jsonschema

    document = json_body(client.get(document_url))
    [media] = document["paths"][operation]["post"]["responses"]["201"]["content"].values()
    schema = {**media["schema"], "components": document["components"]}
    answers = [
        json_body(client.post(f"{upload_url}?filename=clip.mp4", data=video_bytes, content_type="application/octet-stream"))
        for _ in range(2)
    ]
    assert "duplicate_of" not in answers[0] and answers[1]["duplicate_of"] == answers[0]["id"]
    for answer in answers:
        jsonschema.validate(answer, schema, cls=jsonschema.Draft202012Validator)
    properties = document["components"]["schemas"][media["schema"]["$ref"].rpartition("/")[2]]["properties"]
    assert "Absent when there is none" in properties["duplicate_of"]["description"]



def _library_before_sharing(database_url: str, tmp_path, data: bytes) -> None:
    """A library at revision 0019 whose three videos of the same bytes each have their own copy, never started since."""
    from portal.storage.local import LocalStorage

    migrate_to(database_url, "0019")
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    storage = LocalStorage(tmp_path / "data" / "files")
    with engine.begin() as connection:
        for index, video_id in enumerate(VIDEO_IDS):
            key = f"original/00/00/{video_id}"
            connection.execute(
                sa.text(
                    "INSERT INTO videos (id, filename, search_name, content_type, size, sha256, status, created_at, "
                    "storage_key) VALUES (:id, 'Old.mp4', 'old.mp4', 'video/mp4', :size, :sha256, 'ok', :created, :key)"
                ),
                {"id": video_id, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                 "created": datetime(2026, 1, 1 + index, tzinfo=timezone.utc), "key": key},
            )
            stored = storage.create(key)
            stored.write(data)
            stored.commit()
    engine.dispose()


def _upgraded(database_url: str, tmp_path, **settings):
    """The new portal started on the library: its start-up upgrade applies the revisions since."""
    return create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_url,
         **settings}
    )


def test_the_upgrade_folds_a_small_library_itself(empty_database, tmp_path, video_bytes, caplog):
    _library_before_sharing(empty_database, tmp_path, video_bytes)
    with caplog.at_level("INFO", logger="portal.ops.dedupe"):
        app = _upgraded(empty_database, tmp_path)
    assert original_keys(app) == {f"original/00/00/{VIDEO_IDS[0]}"}
    assert f"removed 2 second copies of stored originals, {2 * len(video_bytes)} bytes saved" in caplog.text
    runner = app.test_cli_runner()
    assert "removed 0 second copies, 0 bytes saved" in runner.invoke(args=["storage", "dedupe"]).output
    assert "no row describes" not in runner.invoke(args=["cleanup"]).output
    assert signed_in_client(app).get(f"/api/v1/files/{VIDEO_IDS[2]}/content").get_data() == video_bytes
    with app.app_context():
        db.engine.dispose()
    # A start without a new revision does not look at the library again.
    caplog.clear()
    with caplog.at_level("INFO", logger="portal.ops.dedupe"):
        again = _upgraded(empty_database, tmp_path, DEDUPE_AT_START_MAX_VIDEOS=1)
    assert "storage dedupe" not in caplog.text
    with again.app_context():
        db.engine.dispose()


def test_the_upgrade_of_a_large_library_says_to_run_the_fold(empty_database, tmp_path, video_bytes, caplog):
    _library_before_sharing(empty_database, tmp_path, video_bytes)
    with caplog.at_level("INFO", logger="portal.ops.dedupe"):
        app = _upgraded(empty_database, tmp_path, DEDUPE_AT_START_MAX_VIDEOS=len(VIDEO_IDS))
    assert "too large to fold at start-up: run `flask --app wsgi storage dedupe`" in caplog.text
    assert "bytes saved" not in caplog.text
    assert len(original_keys(app)) == 3
    result = app.test_cli_runner().invoke(args=["storage", "dedupe"])
    assert f"removed 2 second copies, {2 * len(video_bytes)} bytes saved" in result.output
    with app.app_context():
        db.engine.dispose()

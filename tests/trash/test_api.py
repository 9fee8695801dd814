"""The trash over /api/v1: what a delete keeps, list, restore, purge, empty; who may; races end in 404."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta

import pytest

from portal.errors import VideoNotFound
from portal.extensions import db
from portal.library import trash as trash_service
from portal.library.models import Video
from portal.sharing.models import ShareLink
from tests.helpers import row_count
from tests.helpers import stored_files
from tests.helpers import upload
from tests.trash.conftest import trash


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_a_deleted_file_leaves_listing_search_and_get_but_keeps_its_bytes(app, client, data_dir, video_bytes):
    kept = upload(client, video_bytes, "kept holiday.mp4").get_json()
    # Bytes of its own: identical ones would share the kept one's stored object.
    gone = upload(client, video_bytes + b"gone", "gone holiday.mp4").get_json()
    trash(client, gone)
    assert client.get(gone["url"]).status_code == 404
    assert client.get(gone["content_url"]).status_code == 404
    assert client.get(f"/api/v1/files/{gone['id']}/poster").status_code == 404
    assert client.post(f"/api/v1/files/{gone['id']}/verify").status_code == 404
    assert client.delete(gone["url"]).status_code == 404
    listing = client.get("/api/v1/files").get_json()
    assert [item["id"] for item in listing["items"]] == [kept["id"]] and listing["total"] == 1
    assert client.get("/api/v1/files?q=holiday").get_json()["total"] == 1
    assert row_count(app) == 2 and len(stored_files(data_dir)) == 2


def test_the_trash_lists_deleted_files_with_who_when_and_until_when(client, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    listing = client.get("/api/v1/trash").get_json()
    assert listing["total"] == 1 and listing["page"] == 1 and listing["per_page"] == 20
    [item] = listing["items"]
    assert {key: item[key] for key in body} == body
    assert item["deleted_by"] == "tester"
    assert item["deleted_at"].endswith("Z") and item["purge_at"].endswith("Z")
    assert parse(item["purge_at"]) - parse(item["deleted_at"]) == timedelta(days=30)


def test_the_trash_is_paged_like_the_listing(client, video_bytes):
    for index in range(3):
        trash(client, upload(client, video_bytes, f"clip{index}.mp4").get_json())
    first = client.get("/api/v1/trash?per_page=2").get_json()
    second = client.get("/api/v1/trash?per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == 3
    assert [item["filename"] for item in first["items"] + second["items"]] == ["clip2.mp4", "clip1.mp4", "clip0.mp4"]
    refused = client.get("/api/v1/trash?per_page=101")
    assert refused.status_code == 400 and "per_page" in refused.get_json()["error"]["message"]


def test_restore_gives_the_same_file_back_with_its_shares(app, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    share = client.post(f"/api/v1/files/{body['id']}/shares").get_json()
    token = share["url"].rsplit("/", 1)[1]
    visitor = app.test_client()
    assert visitor.get(f"/s/{token}").status_code == 200
    trash(client, body)
    assert visitor.get(f"/s/{token}").status_code == 404
    assert visitor.get(f"/s/{token}/download").status_code == 404
    restored = client.post(f"/api/v1/trash/{body['id']}/restore")
    assert restored.status_code == 200
    assert restored.get_json() == client.get(body["url"]).get_json()
    assert {key: restored.get_json()[key] for key in ("id", "sha256", "owner", "size", "created_at")} == {
        key: body[key] for key in ("id", "sha256", "owner", "size", "created_at")
    }
    assert visitor.get(f"/s/{token}").status_code == 200
    assert visitor.get(f"/s/{token}/download").get_data() == video_bytes
    assert client.get(body["content_url"]).get_data() == video_bytes
    assert client.get("/api/v1/trash").get_json()["total"] == 0


def test_restoring_twice_is_not_found_the_second_time(client, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    assert client.post(f"/api/v1/trash/{body['id']}/restore").status_code == 200
    second = client.post(f"/api/v1/trash/{body['id']}/restore")
    assert second.status_code == 404 and second.get_json()["error"]["code"] == "not_found"


def test_a_file_in_the_library_is_not_in_the_trash(client, video_bytes):
    body = upload(client, video_bytes).get_json()
    assert client.post(f"/api/v1/trash/{body['id']}/restore").status_code == 404
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 404
    assert client.get(body["url"]).status_code == 200
    for unknown in ("not-an-id", "00000000-0000-4000-8000-000000000000"):
        assert client.post(f"/api/v1/trash/{unknown}/restore").status_code == 404
        assert client.delete(f"/api/v1/trash/{unknown}").status_code == 404


def test_purge_removes_the_row_and_every_object_and_cannot_be_undone(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes).get_json()
    client.post(f"/api/v1/files/{body['id']}/shares")
    with app.app_context():
        video = db.session.get_one(Video, body["id"])
        keys = video.stored_keys
    # A poster and a copy, as processing leaves them.
    for key in keys[1:]:
        path = data_dir / "files" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"derived")
    assert len(stored_files(data_dir)) == 3
    trash(client, body)
    assert len(stored_files(data_dir)) == 3
    purged = client.delete(f"/api/v1/trash/{body['id']}")
    assert purged.status_code == 204 and purged.get_data() == b""
    assert row_count(app) == 0 and stored_files(data_dir) == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 0
    assert client.post(f"/api/v1/trash/{body['id']}/restore").status_code == 404
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 404


def admin_caller():
    from portal.accounts.models import User
    from portal.accounts.permissions import Caller

    return Caller(db.session.scalar(db.select(User).where(User.username == "tester")))


def test_restore_winning_over_a_purge_leaves_the_purge_not_found(app, client, video_bytes):
    """Both looked the video up in the trash; the restore acts first, so the purge's DELETE finds no row."""
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    with app.test_request_context():
        looked_up_by_purge = trash_service.get_trashed(body["id"])
        trash_service.restore(body["id"], admin_caller())
        with pytest.raises(VideoNotFound):
            trash_service._purge(looked_up_by_purge, by="tester")
    assert client.get(body["url"]).status_code == 200
    assert client.get(body["content_url"]).get_data() == video_bytes


def test_purge_winning_over_a_restore_leaves_the_restore_not_found(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    with app.test_request_context():
        trash_service.purge(body["id"], admin_caller())
        with pytest.raises(VideoNotFound):
            trash_service.restore(body["id"], admin_caller())
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_a_video_trashed_meanwhile_is_not_trashed_twice(app, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    with app.test_request_context():
        caller = admin_caller()
        looked_up = db.session.get_one(Video, body["id"])
        assert trash_service.move_to_trash(looked_up, by=caller.user)
        with pytest.raises(VideoNotFound):
            trash_service.move_to_trash(looked_up, by=caller.user)


def test_empty_trash_purges_everyones_files(app, client, uma, data_dir, video_bytes):
    # Bytes of each one's own: identical ones would share one stored object.
    trash(uma, upload(uma, video_bytes + b"uma", "umas.mp4").get_json())
    trash(client, upload(client, video_bytes + b"mine", "mine.mp4").get_json())
    kept = upload(client, video_bytes, "kept.mp4").get_json()
    assert client.delete("/api/v1/trash").status_code == 204
    assert client.get("/api/v1/trash").get_json()["total"] == 0
    assert row_count(app) == 1 and [path.name for path in stored_files(data_dir)] == [kept["id"]]


def test_me_shows_the_space_the_trash_holds(client, uma, video_bytes):
    trash(client, upload(client, video_bytes).get_json())
    trash(client, upload(client, video_bytes).get_json())
    trash(uma, upload(uma, video_bytes).get_json())
    assert client.get("/api/v1/me").get_json()["trash"] == {"count": 3, "bytes": 3 * len(video_bytes)}
    assert uma.get("/api/v1/me").get_json()["trash"] == {"count": 1, "bytes": len(video_bytes)}


def test_moves_restores_and_purges_are_logged_with_who(client, video_bytes, caplog):
    body = upload(client, video_bytes, "logged.mp4").get_json()
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        trash(client, body)
        client.post(f"/api/v1/trash/{body['id']}/restore")
        trash(client, body)
        client.delete(f"/api/v1/trash/{body['id']}")
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.audit"]
    assert [line.split(":")[0] for line in lines] == [
        "video moved to trash", "video restored", "video moved to trash", "video purged",
    ]
    assert all(body["id"] in line and "by=tester" in line for line in lines)


# --- who may ------------------------------------------------------------------------


def test_an_uploader_sees_restores_and_purges_only_her_own(app, uma, ulf, umas_video, video_bytes):
    trash(uma, umas_video)
    ulfs = upload(ulf, video_bytes, "ulfs.mp4").get_json()
    trash(ulf, ulfs)
    assert [item["id"] for item in uma.get("/api/v1/trash").get_json()["items"]] == [umas_video["id"]]
    refused = uma.post(f"/api/v1/trash/{ulfs['id']}/restore")
    assert refused.status_code == 403 and "ulf" in refused.get_json()["error"]["message"]
    assert uma.delete(f"/api/v1/trash/{ulfs['id']}").status_code == 403
    assert uma.delete("/api/v1/trash").status_code == 403
    assert ulf.get("/api/v1/trash").get_json()["total"] == 1
    assert uma.post(f"/api/v1/trash/{umas_video['id']}/restore").status_code == 200


def test_an_uploader_may_restore_her_video_an_admin_deleted(client, uma, umas_video):
    trash(client, umas_video)
    [item] = uma.get("/api/v1/trash").get_json()["items"]
    assert item["deleted_by"] == "tester" and item["owner"] == "uma"
    assert uma.post(f"/api/v1/trash/{umas_video['id']}/restore").status_code == 200


def test_an_admin_restores_and_purges_anyones(client, uma, ulf, umas_video, video_bytes):
    trash(uma, umas_video)
    assert client.post(f"/api/v1/trash/{umas_video['id']}/restore").status_code == 200
    trash(uma, umas_video)
    assert client.delete(f"/api/v1/trash/{umas_video['id']}").status_code == 204


def test_a_viewer_has_no_trash(vic, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    for response in (
        vic.get("/api/v1/trash"),
        vic.post(f"/api/v1/trash/{body['id']}/restore"),
        vic.delete(f"/api/v1/trash/{body['id']}"),
        vic.delete("/api/v1/trash"),
    ):
        assert response.status_code == 403
    assert vic.get("/api/v1/me").get_json()["trash"] == {"count": 0, "bytes": 0}


def test_the_trash_needs_a_token_with_the_delete_scope(app, client, video_bytes):
    from tests.helpers import signed_in_client

    body = upload(client, video_bytes).get_json()
    trash(client, body)
    reader = signed_in_client(app, "tester", scopes=["read", "upload"])
    for response in (reader.get("/api/v1/trash"), reader.post(f"/api/v1/trash/{body['id']}/restore")):
        assert response.status_code == 403 and "'delete' scope" in response.get_json()["error"]["message"]


def test_anonymous_callers_are_asked_to_sign_in(app):
    assert app.test_client().get("/api/v1/trash").status_code == 401

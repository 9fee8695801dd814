"""The trash in the pages: the Undo after a delete, the Trash page, Delete forever and Empty trash, who sees what."""

from __future__ import annotations

from portal import create_app
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.trash.conftest import trash
from tests.web.conftest import csrf_token


def delete_through_the_page(client, video: dict):
    token = csrf_token(client, f"/videos/{video['id']}/delete")
    return client.post(f"/videos/{video['id']}/delete", data={"csrf_token": token})


def test_the_delete_confirmation_says_it_moves_to_the_trash_for_its_days(client, video_bytes):
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    page = client.get(f"/videos/{body['id']}/delete").get_data(as_text=True)
    assert "moves to the trash, where it can be restored for 30 days" in page
    assert "Move to trash" in page and "cannot be undone" not in page
    dialog = client.get(f"/videos/{body['id']}").get_data(as_text=True)
    assert "moves to the trash, where it can be restored for 30 days" in dialog


def test_without_a_trash_the_confirmation_still_says_for_good(tmp_path, video_bytes):
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "TRASH_DAYS": 0})
    client = signed_in_client(app)
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    page = client.get(f"/videos/{body['id']}/delete").get_data(as_text=True)
    assert "removed for good" in page and "Delete for good" in page and "trash" not in page.split("<main", 1)[1]
    assert delete_through_the_page(client, body).status_code == 303
    html = client.get("/").get_data(as_text=True)
    assert "Deleted “holiday.mp4”." in html and "Undo" not in html
    assert row_count(app) == 0 and stored_files(tmp_path / "data") == []


def test_undo_after_a_delete_restores_the_video(client, video_bytes):
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    delete_through_the_page(client, body)
    library = client.get("/").get_data(as_text=True)
    assert "Moved to trash: “holiday.mp4”." in library
    token = csrf_token(client, "/trash")
    undone = client.post(f"/trash/{body['id']}/restore", data={"csrf_token": token})
    assert undone.status_code == 303 and undone.headers["Location"] == f"/videos/{body['id']}"
    page = client.get(undone.headers["Location"]).get_data(as_text=True)
    assert "Restored “holiday.mp4”." in page
    again = client.post(f"/trash/{body['id']}/restore", data={"csrf_token": token})
    assert again.status_code == 404


def test_restore_without_the_csrf_token_is_refused(app, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    trash(client, body)
    assert client.post(f"/trash/{body['id']}/restore").status_code == 400
    assert client.get("/api/v1/trash").get_json()["total"] == 1


def test_the_trash_page_lists_with_time_left_restore_and_delete_forever(client, video_bytes):
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    trash(client, body)
    page = client.get("/trash").get_data(as_text=True)
    assert "holiday.mp4" in page
    assert ">30 days</time>" in page  # rounded: a video deleted a moment ago has the whole 30 days left
    assert "original " in page and "in all, with their browser-playable copies" in page
    assert f'action="/trash/{body["id"]}/restore"' in page
    assert f'href="/trash/{body["id"]}/purge"' in page
    assert 'href="/trash/empty"' in page
    assert "1 video, " in page


def test_delete_forever_asks_first_then_removes_everything(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    trash(client, body)
    confirmation = client.get(f"/trash/{body['id']}/purge")
    assert confirmation.status_code == 200
    assert "Delete this video forever?" in confirmation.get_data(as_text=True)
    assert row_count(app) == 1
    token = csrf_token(client, f"/trash/{body['id']}/purge")
    done = client.post(f"/trash/{body['id']}/purge", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"] == "/trash"
    page = client.get("/trash").get_data(as_text=True)
    assert "Deleted “holiday.mp4” for good." in page and "The trash is empty" in page
    assert row_count(app) == 0 and stored_files(data_dir) == []


def test_empty_trash_asks_first_then_purges_all(app, client, data_dir, video_bytes):
    for name in ("a.mp4", "b.mp4"):
        trash(client, upload(client, video_bytes, name).get_json())
    assert "Empty the trash?" in client.get("/trash/empty").get_data(as_text=True)
    token = csrf_token(client, "/trash/empty")
    assert client.post("/trash/empty", data={"csrf_token": token}).status_code == 303
    assert "Emptied the trash: 2 videos deleted for good." in client.get("/trash").get_data(as_text=True)
    assert stored_files(data_dir) == []


def test_an_uploader_sees_her_trash_but_cannot_empty_it(app, uma, umas_video, client, video_bytes):
    trash(uma, umas_video)
    trash(client, upload(client, video_bytes, "admins.mp4").get_json())
    page = uma.get("/trash").get_data(as_text=True)
    assert "umas.mp4" in page and "admins.mp4" not in page
    assert 'href="/trash/empty"' not in page
    token = csrf_token(uma, "/trash")
    assert uma.get("/trash/empty").status_code == 403
    assert uma.post("/trash/empty", data={"csrf_token": token}).status_code == 403
    admins = client.get("/api/v1/trash").get_json()["items"][0]["id"]
    assert uma.get(f"/trash/{admins}/purge").status_code == 403
    assert client.get("/api/v1/trash").get_json()["total"] == 2


def test_the_nav_links_the_trash_for_who_may_delete(client, vic, uma):
    assert 'href="/trash"' in client.get("/").get_data(as_text=True)
    assert 'href="/trash"' in uma.get("/").get_data(as_text=True)
    assert 'href="/trash"' not in vic.get("/").get_data(as_text=True)
    assert vic.get("/trash").status_code == 403


def test_the_library_shows_the_space_the_trash_holds(client, video_bytes):
    upload(client, video_bytes, "kept.mp4")
    assert "in the trash" not in client.get("/").get_data(as_text=True)
    trash(client, upload(client, video_bytes, "gone.mp4").get_json())
    library = client.get("/").get_data(as_text=True)
    assert "1 in the trash (" in library


def test_the_video_page_and_share_link_of_a_trashed_video_are_not_found(app, client, video_bytes):
    body = upload(client, video_bytes).get_json()
    token = client.post(f"/api/v1/files/{body['id']}/shares").get_json()["url"].rsplit("/", 1)[1]
    trash(client, body)
    for path in (f"/videos/{body['id']}", f"/videos/{body['id']}/stream", f"/videos/{body['id']}/download"):
        assert client.get(path).status_code == 404
    assert app.test_client().get(f"/s/{token}").status_code == 404

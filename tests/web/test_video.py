"""One video's page, its player source and download, checking it, and deleting it."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.helpers import row_count
from tests.helpers import stored_files
from tests.web.conftest import csrf_token


def damage(data_dir, video_id: str) -> None:
    [path] = (data_dir / "files").rglob(video_id)
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))


def test_video_page_has_player_details_and_actions(client, stored, video_bytes):
    response = client.get(f"/videos/{stored['id']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'<video [^>]*controls[^>]*src="/videos/{stored["id"]}/stream"', html)
    assert '<h1 class="video-title">holiday.mp4</h1>' in html
    assert f"<code class=\"checksum checksum--full\" data-sha256>{hashlib.sha256(video_bytes).hexdigest()}</code>" in html
    assert f"({len(video_bytes):,} bytes)" in html
    assert "video/mp4" in html and "Verified" in html
    assert f'href="/videos/{stored["id"]}/download" download>' in html
    assert f'action="/videos/{stored["id"]}/verify"' in html
    assert f'href="/videos/{stored["id"]}/delete" data-opens-dialog="delete-dialog"' in html
    assert re.search(rf'<dialog id="delete-dialog"[^>]*>\s*<form method="post" action="/videos/{stored["id"]}/delete">', html)


def test_player_source_streams_inline_with_ranges(client, stored, video_bytes):
    whole = client.get(f"/videos/{stored['id']}/stream")
    assert whole.status_code == 200
    assert whole.headers["Content-Disposition"].startswith("inline")
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.data == video_bytes
    part = client.get(f"/videos/{stored['id']}/stream", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(video_bytes)}"
    assert part.data == video_bytes[100:200]
    probe = client.get(f"/videos/{stored['id']}/stream", headers={"Range": "bytes=0-1"})
    assert probe.status_code == 206 and probe.data == video_bytes[:2]


def test_download_is_an_attachment_with_the_same_bytes(client, stored, video_bytes):
    response = client.get(f"/videos/{stored['id']}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="holiday.mp4"'
    assert hashlib.sha256(response.data).hexdigest() == stored["sha256"]


def test_unknown_video_is_a_404_page(client):
    for path in ("/videos/0b0c7d4e-1111-4222-8333-444455556666", "/videos/not-an-id",
                 "/videos/0b0c7d4e-1111-4222-8333-444455556666/delete"):
        response = client.get(path)
        assert response.status_code == 404
        assert "No video has this id" in response.get_data(as_text=True)


def test_check_integrity_button_reports_a_good_file(client, stored):
    token = csrf_token(client, f"/videos/{stored['id']}")
    response = client.post(f"/videos/{stored['id']}/verify", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/videos/{stored['id']}"
    assert "match their SHA-256" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_damaged_file_is_reported_and_neither_played_nor_offered_for_download(client, data_dir, stored):
    damage(data_dir, stored["id"])
    token = csrf_token(client, f"/videos/{stored['id']}")
    response = client.post(f"/videos/{stored['id']}/verify", data={"csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "do not match their SHA-256: the file is damaged" in html
    assert "Corrupt" in html
    assert "<video" not in html
    assert f"/videos/{stored['id']}/download" not in html
    assert client.get(f"/videos/{stored['id']}/stream").status_code == 409
    assert client.get(f"/videos/{stored['id']}/download").status_code == 409


def test_missing_bytes_are_reported_on_the_page(client, data_dir, stored):
    [path] = (data_dir / "files").rglob(stored["id"])
    path.unlink()
    token = csrf_token(client, f"/videos/{stored['id']}")
    html = client.post(f"/videos/{stored['id']}/verify", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "The stored bytes of this video are missing" in html
    assert "Missing" in html


def test_delete_confirmation_page_asks_and_changes_nothing(app, client, data_dir, stored):
    response = client.get(f"/videos/{stored['id']}/delete")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Delete this video?" in html
    assert f'<form method="post" action="/videos/{stored["id"]}/delete"' in html
    assert 'name="csrf_token"' in html
    assert f'href="/videos/{stored["id"]}">Keep it</a>' in html
    assert row_count(app) == 1 and len(stored_files(data_dir)) == 1


def test_delete_moves_to_the_trash_then_shows_the_library_with_a_message_and_undo(app, client, data_dir, stored):
    token = csrf_token(client, f"/videos/{stored['id']}/delete")
    response = client.post(f"/videos/{stored['id']}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Moved to trash: “holiday.mp4”." in html
    assert f'action="/trash/{stored["id"]}/restore"' in html
    assert "Your library is empty" in html
    # The bytes stay until the trash is purged.
    assert row_count(app) == 1 and len(stored_files(data_dir)) == 1
    assert client.get(f"/videos/{stored['id']}").status_code == 404


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_reading_pages_never_change_state(app, client, data_dir, stored, method):
    for path in ("/", "/upload", f"/videos/{stored['id']}", f"/videos/{stored['id']}/delete",
                 f"/videos/{stored['id']}/stream", f"/videos/{stored['id']}/download"):
        assert client.open(path, method=method).status_code == 200
    assert client.get(f"/videos/{stored['id']}/verify").status_code == 405
    assert row_count(app) == 1 and len(stored_files(data_dir)) == 1

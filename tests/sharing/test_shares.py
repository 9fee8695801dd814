"""Share links: made and revoked through the API and the video page, opened by anyone with the link, nothing more."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from portal.extensions import db
from portal.library.integrity import CorruptionDetected
from portal.sharing.models import ShareLink
from portal.sharing.service import open_share
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.web.conftest import csrf_token

SHARE_URL = re.compile(r"^http://localhost/s/([A-Za-z0-9_-]+)$")


@pytest.fixture
def video(client, video_bytes) -> dict:
    response = upload(client, video_bytes, "holiday.mp4")
    assert response.status_code == 201
    return response.get_json()


def share(client, video_id: str, **body) -> dict:
    response = client.post(f"/api/v1/files/{video_id}/shares", json=body) if body else client.post(
        f"/api/v1/files/{video_id}/shares"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def token_of(created: dict) -> str:
    match = SHARE_URL.match(created["url"])
    assert match, created["url"]
    return match.group(1)


def link_paths(token: str) -> list[str]:
    return [f"/s/{token}", f"/s/{token}/stream", f"/s/{token}/download"]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def set_share(app, share_id: int, **values) -> None:
    with app.app_context():
        row = db.session.get(ShareLink, share_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


# --- the API -------------------------------------------------------------------


def test_a_new_link_lasts_seven_days_by_default_and_only_its_hash_is_kept(app, client, video):
    before = datetime.now(timezone.utc)
    created = share(client, video["id"])
    assert set(created) == {"id", "url", "expires_at"}
    assert created["expires_at"].endswith("Z")
    lifetime = when(created["expires_at"]) - before
    assert timedelta(days=7) <= lifetime < timedelta(days=7, minutes=1)
    token = token_of(created)
    assert len(token) >= 32  # 24 random bytes, 192 bits, in URL-safe base64
    with app.app_context():
        row = db.session.get_one(ShareLink, created["id"])
        assert token not in row.token_hash
        assert open_share(token).id == created["id"]


def test_days_sets_the_expiry(client, video):
    before = datetime.now(timezone.utc)
    created = share(client, video["id"], days=90)
    assert timedelta(days=90) <= when(created["expires_at"]) - before < timedelta(days=90, minutes=1)


@pytest.mark.parametrize("api", ["/api/v1/files", "/api/v2/videos"])
@pytest.mark.parametrize("days", [6.0, 90.0, 1e0])
def test_a_whole_number_written_as_a_float_is_that_many_days(client, video, api, days):
    """JSON has numbers, and JSON Schema's ``integer`` takes 6.0: once refused with 400 invalid_days."""
    before = datetime.now(timezone.utc)
    response = client.post(f"{api}/{video['id']}/shares", json={"days": days})
    assert response.status_code == 201, response.get_data(as_text=True)
    lifetime = when(response.get_json()["expires_at"]) - before
    assert timedelta(days=int(days)) <= lifetime < timedelta(days=int(days), minutes=1)


@pytest.mark.parametrize("api", ["/api/v1/files", "/api/v2/videos"])
def test_null_days_is_the_default_on_both_apis(client, video, api):
    before = datetime.now(timezone.utc)
    response = client.post(f"{api}/{video['id']}/shares", json={"days": None})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert timedelta(days=7) <= when(response.get_json()["expires_at"]) - before < timedelta(days=7, minutes=1)


@pytest.mark.parametrize("days", [0, 91, -1, "x", "7", True, 7.5, [7], 91.0, 1e400, float("nan")])
def test_days_outside_1_to_90_or_not_a_whole_number_are_refused(app, client, video, days):
    response = client.post(f"/api/v1/files/{video['id']}/shares", json={"days": days})
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "invalid_days", "message": "'days' must be a whole number from 1 to 90."}
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 0


@pytest.mark.parametrize(
    ("data", "content_type", "says"),
    [
        ("days=7", "application/x-www-form-urlencoded", "The body is not JSON."),
        ("{days: 7", "application/json", "The body is not valid JSON."),
        ("[7]", "application/json", "The body is not a JSON object."),
        ('{"days": 7, "expires": 1}', "application/json", "Unknown field 'expires'"),
        ('{"days": ' + " " * 2000 + "7}", "application/json", "longer than 1024 bytes"),
        ("[" * 500 + "]" * 500, "application/json", "nests deeper than 32 levels"),
    ],
)
def test_a_body_that_is_not_a_json_object_of_days_is_refused(client, video, data, content_type, says):
    response = client.post(f"/api/v1/files/{video['id']}/shares", data=data, content_type=content_type)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert says in error["message"]


def test_list_shows_links_not_revoked_without_their_urls(client, video):
    first = share(client, video["id"])
    second = share(client, video["id"], days=1)
    assert client.delete(f"/api/v1/shares/{first['id']}").status_code == 204
    listing = client.get(f"/api/v1/files/{video['id']}/shares")
    assert listing.status_code == 200
    [item] = listing.get_json()["items"]
    assert item == {
        "id": second["id"],
        "expires_at": second["expires_at"],
        "created_at": item["created_at"],
        "created_by": "tester",
    }
    assert token_of(second) not in listing.get_data(as_text=True)


def test_unknown_video_and_unknown_share_are_404(client):
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.post(f"/api/v1/files/{missing}/shares").status_code == 404
    assert client.get(f"/api/v1/files/{missing}/shares").status_code == 404
    response = client.delete("/api/v1/shares/999")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "share_not_found"


def test_revoking_twice_is_404_the_second_time(client, video):
    created = share(client, video["id"])
    assert client.delete(f"/api/v1/shares/{created['id']}").status_code == 204
    assert client.delete(f"/api/v1/shares/{created['id']}").status_code == 404


def test_only_the_owner_or_an_admin_makes_or_lists_links_and_the_owner_revokes_any(app, client, video, video_bytes):
    viewer = signed_in_client(app, "vera", role="viewer")
    uploader = signed_in_client(app, "ulla", role="uploader")
    refused = viewer.post(f"/api/v1/files/{video['id']}/shares")
    assert refused.status_code == 403
    assert "'upload' scope, needed for sharing videos" in refused.get_json()["error"]["message"]
    assert viewer.get(f"/api/v1/files/{video['id']}/shares").status_code == 403
    not_hers = uploader.post(f"/api/v1/files/{video['id']}/shares")
    assert not_hers.status_code == 403
    assert not_hers.get_json()["error"]["message"].startswith("Only the video's owner (tester) or an admin may share it")
    assert uploader.get(f"/api/v1/files/{video['id']}/shares").status_code == 403
    assert uploader.post(f"/api/v2/videos/{video['id']}/shares").status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 0

    hers = upload(uploader, video_bytes, "hers.mp4").get_json()
    own = share(uploader, hers["id"])
    admins = share(client, hers["id"])
    listed = uploader.get(f"/api/v1/files/{hers['id']}/shares").get_json()["items"]
    assert [(item["id"], item["created_by"]) for item in listed] == [(own["id"], "ulla"), (admins["id"], "tester")]
    # The owner revokes a link to her video that an admin made.
    assert uploader.delete(f"/api/v1/shares/{admins['id']}").status_code == 204
    assert client.get(f"/s/{token_of(admins)}").status_code == 404
    read_only = signed_in_client(app, "ulla", role="uploader", scopes=["read"])
    assert read_only.post(f"/api/v1/files/{hers['id']}/shares").status_code == 403
    assert client.delete(f"/api/v1/shares/{own['id']}").status_code == 204


def test_cookie_callers_need_the_csrf_header(client, video):
    cookie_only = client.without_token()
    response = cookie_only.post(f"/api/v1/files/{video['id']}/shares")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"
    token = csrf_token(cookie_only, f"/videos/{video['id']}")
    assert cookie_only.post(f"/api/v1/files/{video['id']}/shares", headers={"X-CSRFToken": token}).status_code == 201


def test_sharing_and_revoking_are_audited_without_the_token(client, video, caplog):
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        created = share(client, video["id"])
        client.delete(f"/api/v1/shares/{created['id']}")
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.audit"]
    assert any(line.startswith(f"share created: id={created['id']} video={video['id']} by=tester") for line in lines)
    assert f"share revoked: id={created['id']} video={video['id']} by=tester" in lines
    assert not any(token_of(created) in line for line in lines)


# --- the link ------------------------------------------------------------------


def test_a_visitor_watches_and_downloads_through_the_link(app, client, video, video_bytes):
    token = token_of(share(client, video["id"]))
    visitor = app.test_client()
    page = visitor.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'src="/s/{token}/stream"' in html
    assert f'href="/s/{token}/download" download' in html
    assert "holiday.mp4" in html
    links = set(re.findall(r'(?:href|action|src)="([^"]+)"', html))
    assert {link for link in links if not link.startswith(("#", "/static/", f"/s/{token}"))} == set(), links
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "private, no-store"

    part = visitor.get(f"/s/{token}/stream", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.data == video_bytes[:10]
    assert part.headers["Content-Disposition"].startswith("inline")
    whole = visitor.get(f"/s/{token}/download")
    assert whole.status_code == 200
    assert whole.data == video_bytes
    assert whole.headers["Content-Disposition"].startswith("attachment")
    assert whole.headers["ETag"] == f'"{video["sha256"]}"'
    assert whole.headers["Cache-Control"] == "private, no-store"


def test_the_link_reaches_nothing_else_of_the_library(app, client, video, video_bytes):
    other = upload(client, video_bytes, "other.mp4").get_json()
    token = token_of(share(client, video["id"]))
    visitor = app.test_client()
    assert visitor.get(f"/s/{token}").status_code == 200
    for path in ["/", f"/videos/{video['id']}", f"/videos/{other['id']}", f"/videos/{other['id']}/download", "/upload"]:
        assert visitor.get(path).status_code == 302, path
    for path in ["/api/v1/files", f"/api/v1/files/{other['id']}/content", f"/api/v1/files/{video['id']}/shares"]:
        assert visitor.get(path).status_code == 401, path
    assert visitor.post(f"/api/v1/files/{video['id']}/shares").status_code == 401
    assert visitor.get(f"/s/{token}x").status_code == 404


def test_expired_and_revoked_links_are_404(app, client, video):
    expired = share(client, video["id"])
    revoked = share(client, video["id"])
    set_share(app, expired["id"], expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    assert client.delete(f"/api/v1/shares/{revoked['id']}").status_code == 204
    visitor = app.test_client()
    for created in (expired, revoked):
        for path in link_paths(token_of(created)):
            response = visitor.get(path)
            assert response.status_code == 404, path
            assert "Back to the library" not in response.get_data(as_text=True)
            assert response.headers["Cache-Control"] == "private, no-store"


def test_links_of_a_disabled_user_stop_working(app, video_bytes):
    uploader = signed_in_client(app, "ulla", role="uploader")
    hers = upload(uploader, video_bytes, "hers.mp4").get_json()
    token = token_of(share(uploader, hers["id"]))
    assert app.test_client().get(f"/s/{token}").status_code == 200
    with app.app_context():
        from portal.accounts.service import disable_user

        disable_user("ulla")
    assert app.test_client().get(f"/s/{token}").status_code == 404


def test_purging_the_video_deletes_its_links(app, client, video):
    created = share(client, video["id"])
    assert client.delete(video["url"]).status_code == 204
    assert app.test_client().get(f"/s/{token_of(created)}").status_code == 404
    assert client.delete(f"/api/v1/trash/{video['id']}").status_code == 204
    with app.app_context():
        assert db.session.get(ShareLink, created["id"]) is None


def test_a_damaged_file_is_never_delivered_whole_through_the_link(app, client, data_dir, video):
    token = token_of(share(client, video["id"]))
    [path] = (data_dir / "files").rglob(video["id"])
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    visitor = app.test_client()
    with pytest.raises(CorruptionDetected):  # the stream breaks off before its last chunk
        visitor.get(f"/s/{token}/download").get_data()
    assert visitor.get(f"/s/{token}/download").status_code == 409
    assert visitor.get(f"/s/{token}/stream", headers={"Range": "bytes=0-9"}).status_code == 409
    assert "cannot be played or downloaded" in visitor.get(f"/s/{token}").get_data(as_text=True)


# --- the video page ----------------------------------------------------------------


def test_the_video_page_makes_shows_once_and_revokes_links(app, client, video):
    page = f"/videos/{video['id']}"
    html = client.get(page).get_data(as_text=True)
    assert f'action="/videos/{video["id"]}/shares"' in html
    assert "No share links to this video yet." in html

    token = csrf_token(client, page)
    created = client.post(f"/videos/{video['id']}/shares", data={"csrf_token": token, "days": "3"})
    assert created.status_code == 303 and created.headers["Location"] == page  # a reload fetches, not posts again
    landed = client.get(page)
    assert landed.headers["Cache-Control"] == "private, no-store"
    shown = landed.get_data(as_text=True)
    url = re.search(r'id="new-share-url" class="share-new__url" value="(http://localhost/s/[A-Za-z0-9_-]+)"', shown)
    assert url, shown
    assert 'data-copy="new-share-url"' in shown
    assert app.test_client().get(url.group(1)).status_code == 200

    again = client.get(page).get_data(as_text=True)
    assert url.group(1) not in again, "the link is shown once only"
    [share_id] = re.findall(r'data-share-id="(\d+)"', again)
    assert f'action="/shares/{share_id}/revoke"' in again

    revoked = client.post(f"/shares/{share_id}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert revoked.status_code == 200
    assert "Revoked the share link" in revoked.get_data(as_text=True)
    assert app.test_client().get(url.group(1)).status_code == 404


def test_a_new_link_waits_for_the_next_video_page_only_and_never_reaches_the_log(app, client, video, video_bytes, caplog):
    other = upload(client, video_bytes, "other.mp4").get_json()
    page = f"/videos/{video['id']}"
    token = csrf_token(client, page)
    with caplog.at_level(logging.DEBUG):
        created = client.post(f"{page}/shares", data={"csrf_token": token, "days": "3"})
        assert created.status_code == 303
        # Another video's page takes it out of the session without showing it; its own page then has it no more.
        assert "data-new-share" not in client.get(f"/videos/{other['id']}").get_data(as_text=True)
        assert "data-new-share" not in client.get(page).get_data(as_text=True)
    with app.app_context():
        [made] = db.session.scalars(db.select(ShareLink)).all()
    assert made.video_id == video["id"]
    assert not [record for record in caplog.records if "/s/" in record.getMessage()]


@pytest.mark.parametrize("days", ["0", "91", "x"])
def test_the_video_page_refuses_bad_days_with_a_message(app, client, video, days):
    token = csrf_token(client, f"/videos/{video['id']}")
    response = client.post(f"/videos/{video['id']}/shares", data={"csrf_token": token, "days": days}, follow_redirects=True)
    assert "&#39;days&#39; must be a whole number from 1 to 90." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 0


def test_the_web_forms_need_the_csrf_token(app, client, video):
    created = share(client, video["id"])
    assert client.post(f"/videos/{video['id']}/shares", data={"days": "7"}).status_code == 400
    assert client.post(f"/shares/{created['id']}/revoke").status_code == 400
    assert app.test_client().get(f"/s/{token_of(created)}").status_code == 200


def test_a_viewer_sees_no_share_section_and_gets_403_for_making_or_revoking(app, client, video):
    admins = share(client, video["id"])
    viewer = signed_in_client(app, "vera", role="viewer")
    page = viewer.get(f"/videos/{video['id']}").get_data(as_text=True)
    assert "Create share link" not in page and f'data-share-id="{admins["id"]}"' not in page
    assert "Create share link" in client.get(f"/videos/{video['id']}").get_data(as_text=True)
    token = csrf_token(viewer, f"/videos/{video['id']}")
    assert viewer.post(f"/videos/{video['id']}/shares", data={"csrf_token": token, "days": "7"}).status_code == 403
    assert viewer.post(f"/shares/{admins['id']}/revoke", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ShareLink)) == 1


def test_an_id_past_what_a_row_can_have_is_not_found(client):
    # Such a number used to reach the database and fail there (SQLite: "int too large", a 500).
    # PostgreSQL's integer column ends at 2**31 - 1.
    for path in ("/api/v1/shares/9223372036854775808", "/api/v1/shares/2147483648", "/api/v1/shares/0"):
        assert client.delete(path).status_code == 404


@pytest.mark.parametrize("base", ["https://videos.example.org", "https://example.org/portal/"])
def test_links_are_built_on_the_base_url_whatever_host_the_request_named(app, client, video, base):
    app.config["BASE_URL"] = base
    made = client.post(f"/api/v1/files/{video['id']}/shares", headers={"Host": "evil.com"})
    assert made.status_code == 201, made.get_data(as_text=True)
    url = made.get_json()["url"]
    assert url.startswith(base.rstrip("/") + "/s/") and "evil.com" not in url
    token = url.rsplit("/", 1)[1]
    page = app.test_client().get(f"/s/{token}", headers={"Host": "evil.com"}).get_data(as_text=True)
    assert f'<meta property="og:url" content="{base.rstrip("/")}/s/{token}">' in page
    assert "evil.com" not in page


def test_without_a_base_url_links_follow_the_request_host(client, video):
    made = client.post(f"/api/v1/files/{video['id']}/shares", headers={"Host": "videos.internal:8080"})
    assert made.get_json()["url"].startswith("http://videos.internal:8080/s/")

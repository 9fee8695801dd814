"""Quotas: the size settings, ``users set-quota``, usage against a recount, and every upload path refused past the quota."""

from __future__ import annotations

import io

import pytest

from portal import create_app
from portal.accounts.service import get_user
from portal.config import Config
from portal.config import check_settings
from portal.config import parse_size
from portal.extensions import db
from portal.library.models import Video
from portal.library.models import as_utc
from portal.library.models import utcnow
from portal.uploads import quota
from portal.uploads.models import ResumableUpload
from tests.helpers import json_body
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.ops.test_metrics import admin_scrape
from tests.ops.test_metrics import value
from tests.support import minimal_mp4
from tests.uploads.tus import CHUNK
from tests.uploads.tus import creation
from tests.web.conftest import csrf_token


def set_quota(app, username: str, size: str) -> None:
    with app.app_context():
        quota.set_quota(username, size)


def usage(app, username: str) -> int:
    with app.app_context():
        return quota.usage_of(get_user(username))


def recount(app, username: str) -> int:
    """Usage added up from the rows themselves, by another way than the service's query."""
    with app.app_context():
        user = get_user(username)
        videos = db.session.scalars(db.select(Video).where(Video.owner_id == user.id)).all()
        uploads = db.session.scalars(db.select(ResumableUpload).where(ResumableUpload.owner_id == user.id)).all()
        in_progress = [u for u in uploads if u.video_id is None and as_utc(u.expires_at) > utcnow()]
        return sum(video.size for video in videos) + sum(u.length for u in in_progress)


def kept_files(data_dir) -> list:
    """Stored files other than temporary ones (which an aborted upload removes anyway)."""
    return [path for path in stored_files(data_dir) if "incoming" not in path.parts]


# --- sizes, settings and the command --------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("500MiB", 500 * 1024**2), ("2GiB", 2 * 1024**3), ("2 gib", 2 * 1024**3),
     ("1.5TB", 1_500_000_000_000), ("10kb", 10_000), ("0", 0)],
)
def test_sizes_are_read_in_bytes_or_with_a_unit(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "5 parsecs", "-1", "1.5", "2GiB extra"])
def test_a_size_that_is_not_one_is_refused_saying_what_a_size_is(text):
    with pytest.raises(ValueError, match="500MiB"):
        parse_size(text)


@pytest.mark.parametrize("text", ["9" * 400 + "TB", str(2**63), "99999999999999999999 GiB"])
def test_a_size_past_what_a_byte_count_holds_is_refused_not_overflowed(text):
    """Once ``1e400TB`` made a float infinity, and the admins' quota form a 500 (OverflowError)."""
    with pytest.raises(ValueError, match="at most"):
        parse_size(text)


def test_the_largest_size_is_read_exactly():
    assert parse_size(str(2**63 - 1)) == 2**63 - 1


@pytest.mark.parametrize(("name", "value"), [("DEFAULT_QUOTA", "2 gigs"), ("DEFAULT_QUOTA", -5), ("MIN_FREE_BYTES", "x")])
def test_check_settings_refuses_a_bad_size_setting_by_its_variable(name, value):
    config = {key: getattr(Config, key) for key in dir(Config) if key.isupper()} | {name: value}
    with pytest.raises(ValueError, match=f"PORTAL_{name}"):
        check_settings(config)


def test_set_quota_command_reads_bytes_units_none_and_default(app):
    signed_in_client(app, "alice", "uploader")
    runner = app.test_cli_runner()
    app.config["DEFAULT_QUOTA"] = "1GiB"
    result = runner.invoke(args=["users", "set-quota", "alice", "500MiB"])
    assert result.exit_code == 0, result.output
    assert "quota of alice: 524288000 (500.0 MiB)" in result.output
    with app.app_context():
        user = get_user("alice")
        assert (user.quota_bytes, user.quota_unlimited, quota.quota_of(user)) == (500 * 1024**2, False, 500 * 1024**2)
    runner.invoke(args=["users", "set-quota", "alice", "none"])
    with app.app_context():
        user = get_user("alice")
        assert (user.quota_bytes, user.quota_unlimited, quota.quota_of(user)) == (None, True, None)
    result = runner.invoke(args=["users", "set-quota", "alice", "default"])
    assert "(PORTAL_DEFAULT_QUOTA)" in result.output
    with app.app_context():
        user = get_user("alice")
        assert (user.quota_bytes, user.quota_unlimited, quota.quota_of(user)) == (None, False, 1024**3)
    refused = runner.invoke(args=["users", "set-quota", "alice", "plenty"])
    assert refused.exit_code == 1
    assert "'none' for unlimited" in refused.stderr and "500MiB" in refused.stderr
    missing = runner.invoke(args=["users", "set-quota", "nobody", "1GiB"])
    assert missing.exit_code == 1 and "No user is called 'nobody'" in missing.stderr


def test_users_list_shows_usage_and_quota_largest_usage_first(app, video_bytes):
    alice = signed_in_client(app, "alice", "uploader")
    signed_in_client(app, "bob", "uploader")
    assert upload(alice, video_bytes).status_code == 201
    set_quota(app, "bob", "2GiB")
    lines = app.test_cli_runner().invoke(args=["users", "list"]).output.splitlines()
    assert lines[0].startswith("alice\tuploader\tactive\t")
    assert lines[0].endswith(f"\t{len(video_bytes)} (2.0 KiB)\tunlimited")
    assert lines[1].startswith("bob\t") and lines[1].endswith("\t0 (0 bytes)\t2147483648 (2.0 GiB)")


def test_usage_counts_videos_their_trash_and_tus_uploads_in_progress_as_a_recount_does(app, client):
    first, second = minimal_mp4(b"a" * 3000), minimal_mp4(b"b" * 5000)
    for data in (first, second):
        assert upload(client, data).status_code == 201
    assert usage(app, "tester") == len(first) + len(second) == recount(app, "tester")
    video_id = json_body(client.get("/api/v1/files"))["items"][0]["id"]
    assert client.delete(f"/api/v1/files/{video_id}").status_code == 204
    assert usage(app, "tester") == len(first) + len(second) == recount(app, "tester"), "the trash counts until purged"
    assert client.post("/api/v1/uploads", headers=creation(7777)).status_code == 201
    assert usage(app, "tester") == len(first) + len(second) + 7777 == recount(app, "tester")
    assert client.delete(f"/api/v1/trash/{video_id}").status_code == 204
    assert usage(app, "tester") == recount(app, "tester") < len(first) + len(second) + 7777


# --- every upload path is refused at the quota ----------------------------------


@pytest.fixture
def full(app, client, data_dir):
    """The tester (an admin: admins are not exempt) with a quota of 4 KiB, 2 KiB of it used."""
    assert upload(client, minimal_mp4(b"x" * 2000)).status_code == 201
    set_quota(app, "tester", "4KiB")
    before = (row_count(app), kept_files(data_dir), usage(app, "tester"))
    yield before
    assert (row_count(app), kept_files(data_dir), usage(app, "tester")) == before, "a refused upload left something"


def assert_quota_message(message: str, size: int | None = None) -> None:
    used = len(minimal_mp4(b"x" * 2000))
    assert f"you use 2.0 KiB ({used} bytes) of 4.0 KiB (4096 bytes)" in message
    if size is not None:
        assert f"({size} bytes) would exceed your quota" in message


BIG = minimal_mp4(b"y" * 3000)


def test_v1_raw_upload_past_the_quota_is_413_before_a_byte_is_stored(client, full):
    response = client.post("/api/v1/files?filename=big.mp4", data=BIG, content_type="video/mp4")
    assert response.status_code == 413
    error = json_body(response)["error"]
    assert set(error) == {"code", "message"}, "v1's error body keeps its shape"
    assert error["code"] == "quota_exceeded"
    assert_quota_message(error["message"], len(BIG))


def test_v1_raw_upload_without_a_length_stops_as_soon_as_it_passes(client, full):
    response = client.post(
        "/api/v1/files?filename=big.mp4", input_stream=io.BytesIO(BIG), content_type="video/mp4",
        headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None, "the body's length was not declared"
    assert response.status_code == 413
    assert json_body(response)["error"]["code"] == "quota_exceeded"
    assert_quota_message(json_body(response)["error"]["message"])


def test_v1_multipart_upload_past_the_quota_is_413(client, full):
    response = upload(client, BIG)
    assert response.status_code == 413
    assert json_body(response)["error"]["code"] == "quota_exceeded"
    assert_quota_message(json_body(response)["error"]["message"])


@pytest.mark.parametrize("multipart", [False, True])
def test_v2_upload_past_the_quota_is_a_413_problem_with_the_numbers(client, full, multipart):
    if multipart:
        response = client.post("/api/v2/videos", data={"file": (io.BytesIO(BIG), "big.mp4")}, content_type="multipart/form-data")
    else:
        response = client.post("/api/v2/videos?filename=big.mp4", data=BIG, content_type="video/mp4")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = json_body(response)
    assert problem["code"] == "quota_exceeded"
    assert problem["usage_bytes"] == full[2] and problem["quota_bytes"] == 4096
    assert problem["size_bytes"] == (len(BIG) if not multipart else problem["size_bytes"])
    assert problem["usage_bytes"] + problem["size_bytes"] > 4096
    assert_quota_message(problem["detail"])


class LoweringTheQuota(io.BytesIO):
    """A body that, while it is read, lets the quota be lowered, as an admin (or another upload finishing) may."""

    def __init__(self, app, data: bytes) -> None:
        super().__init__(data)
        self.app, self.lowered = app, False

    def _lower(self) -> None:
        if not self.lowered:
            self.lowered = True
            quota.set_quota("tester", "3KiB")

    def read(self, size: int | None = -1) -> bytes:
        self._lower()
        return super().read(size)

    def readinto(self, buffer) -> int:
        self._lower()
        return super().readinto(buffer)


def test_the_quota_is_asked_again_before_the_row_so_a_change_meanwhile_counts(app, client, full):
    set_quota(app, "tester", "1GiB")
    response = client.post(
        "/api/v1/files?filename=big.mp4", input_stream=LoweringTheQuota(app, BIG), content_type="video/mp4",
        headers={"Content-Length": str(len(BIG))},
    )
    assert response.status_code == 413, "the start's check passed; the one before the row refused it"
    assert "of 3.0 KiB (3072 bytes)" in json_body(response)["error"]["message"]
    set_quota(app, "tester", "4KiB")


def test_tus_creation_past_the_quota_is_413_and_leaves_no_upload(app, client, full):
    response = client.post("/api/v1/uploads", headers=creation(3000))
    assert response.status_code == 413
    assert json_body(response)["error"]["code"] == "quota_exceeded"
    assert_quota_message(json_body(response)["error"]["message"], 3000)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ResumableUpload)) == 0


def test_tus_patch_past_a_quota_lowered_since_the_creation_is_413(app, client, data_dir):
    data = minimal_mp4(b"z" * 3000)
    created = client.post("/api/v1/uploads", headers=creation(len(data)))
    assert created.status_code == 201
    location = created.headers["Location"]
    assert client.patch(location, data=data[:1000], headers={**CHUNK, "Upload-Offset": "0"}).status_code == 204
    set_quota(app, "tester", "2KiB")
    response = client.patch(location, data=data[1000:], headers={**CHUNK, "Upload-Offset": "1000"})
    assert response.status_code == 413
    assert json_body(response)["error"]["code"] == "quota_exceeded"
    assert f"This upload of 3.0 KiB ({len(data)} bytes)" in json_body(response)["error"]["message"]
    assert client.head(location, headers={"Tus-Resumable": "1.0.0"}).headers["Upload-Offset"] == "1000"
    set_quota(app, "tester", "none")
    finished = client.patch(location, data=data[1000:], headers={**CHUNK, "Upload-Offset": "1000"})
    assert finished.status_code == 204 and row_count(app) == 1


def test_web_upload_form_past_the_quota_says_it_in_words(client, full):
    token = csrf_token(client.without_token(), "/upload")
    response = client.post(
        "/upload", data={"csrf_token": token, "file": (io.BytesIO(BIG), "big.mp4")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert "would exceed your quota" in response.get_data(as_text=True)


def test_an_admin_with_an_unlimited_quota_is_not_held_to_the_default(app, client):
    app.config["DEFAULT_QUOTA"] = 1024
    assert upload(client, BIG).status_code == 413, "the default holds admins too"
    set_quota(app, "tester", "none")
    assert upload(client, BIG).status_code == 201


# --- what the pages, /api/v2/me and /metrics show ------------------------------


def test_api_v2_me_says_who_the_caller_is_and_their_usage(app, video_bytes):
    alice = signed_in_client(app, "alice", "uploader", scopes=["read"])
    me = alice.get("/api/v2/me")
    assert me.status_code == 200
    with app.app_context():
        alice_id = get_user("alice").id
    assert json_body(me) == {
        "id": alice_id, "name": "alice", "role": "uploader", "scopes": ["read"], "usage_bytes": 0, "quota_bytes": None,
        "video_count": 0,
    }
    uploader = signed_in_client(app, "alice", "uploader")
    assert upload(uploader, video_bytes).status_code == 201
    set_quota(app, "alice", "5GiB")
    body = json_body(alice.get("/api/v2/me"))
    assert (body["usage_bytes"], body["quota_bytes"], body["video_count"]) == (len(video_bytes), 5 * 1024**3, 1)
    anonymous = app.test_client().get("/api/v2/me")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"


def test_the_library_page_shows_the_callers_usage_and_quota(app, client, video_bytes):
    assert upload(client, video_bytes).status_code == 201
    assert "2.0 KiB used</p>" in client.get("/").get_data(as_text=True)
    set_quota(app, "tester", "5GiB")
    assert "2.0 KiB of 5.0 GiB used" in client.get("/").get_data(as_text=True)


def test_users_page_lists_usage_quota_and_videos_by_usage_and_sets_a_quota(app, client):
    bob = signed_in_client(app, "bob", "uploader")
    signed_in_client(app, "carol", "viewer")
    assert upload(bob, minimal_mp4(b"b" * 5000)).status_code == 201
    assert upload(client, minimal_mp4(b"t" * 1000)).status_code == 201
    page = client.without_token().get("/admin/users").get_data(as_text=True)
    order = [name for name in ("bob", "tester", "carol") if f'data-user="{name}"' in page]
    assert order == ["bob", "tester", "carol"]
    assert page.index('data-user="bob"') < page.index('data-user="tester"') < page.index('data-user="carol"')
    token = csrf_token(client, "/admin/users")
    refused = client.post("/admin/users/bob/quota", data={"csrf_token": token, "quota": "lots"})
    assert refused.status_code == 400 and "&#39;none&#39; for unlimited" in refused.get_data(as_text=True)
    assert client.post("/admin/users/bob/quota", data={"quota": "1GiB"}).status_code == 400, "no CSRF token, no change"
    done = client.post("/admin/users/bob/quota", data={"csrf_token": token, "quota": "1GiB"}, follow_redirects=True)
    assert "bob may now keep 1.0 GiB." in done.get_data(as_text=True)
    with app.app_context():
        assert quota.quota_of(get_user("bob")) == 1024**3


def test_metrics_show_the_stored_bytes_before_and_after_sharing(app, client, video_bytes):
    assert upload(client, video_bytes).status_code == 201
    assert upload(client, video_bytes).status_code == 201
    assert upload(client, video_bytes + b"other").status_code == 201
    found = admin_scrape(app)
    other = len(video_bytes) + len(b"other")
    assert value(found, "portal_storage_bytes") == len(video_bytes) + other, "the identical bytes are stored once"
    assert value(found, "portal_storage_logical_bytes") == 2 * len(video_bytes) + other


# --- the free-space floor --------------------------------------------------------


@pytest.fixture
def no_room_on_disk(app, data_dir):
    app.config["MIN_FREE_BYTES"] = "1000TiB"
    before = kept_files(data_dir)
    yield
    assert kept_files(data_dir) == before


def test_uploads_that_would_go_below_the_free_space_floor_are_507(client, no_room_on_disk):
    raw = client.post("/api/v1/files?filename=a.mp4", data=BIG, content_type="video/mp4")
    assert raw.status_code == 507 and json_body(raw)["error"]["code"] == "insufficient_storage"
    assert "keeps at least 1000.0 TiB of its disk free" in json_body(raw)["error"]["message"]
    assert upload(client, BIG).status_code == 507
    problem = client.post("/api/v2/videos?filename=a.mp4", data=BIG, content_type="video/mp4")
    assert problem.status_code == 507 and json_body(problem)["min_free_bytes"] == 1000 * 1024**4
    assert client.post("/api/v1/uploads", headers=creation(len(BIG))).status_code == 507


def test_the_floor_is_off_at_zero(app, client):
    app.config["MIN_FREE_BYTES"] = 0
    assert upload(client, BIG).status_code == 201


# --- PostgreSQL --------------------------------------------------------------------


def test_usage_and_refusal_on_postgresql(postgres_url, tmp_path):
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "pg"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": postgres_url}
    )
    try:
        client = signed_in_client(app, "pat", "uploader")
        data = minimal_mp4(b"p" * 2500)
        assert upload(client, data).status_code == 201
        assert client.post("/api/v1/uploads", headers=creation(1000)).status_code == 201
        assert usage(app, "pat") == len(data) + 1000 == recount(app, "pat")
        set_quota(app, "pat", str(len(data) + 1500))
        refused = client.post("/api/v1/files?filename=b.mp4", data=data, content_type="video/mp4")
        assert refused.status_code == 413 and json_body(refused)["error"]["code"] == "quota_exceeded"
        with app.app_context():
            line = next(row for row in quota.usage_of_everyone() if row.user.username == "pat")
            assert (line.usage, line.quota, line.video_count) == (len(data) + 1000, len(data) + 1500, 1)
    finally:
        with app.app_context():
            db.engine.dispose()

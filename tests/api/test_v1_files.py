"""/api/v1/files: uploads, listing, metadata, downloads, deletes and every error they can give."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
from typing import IO
from typing import cast

import pytest

from portal.library.integrity import CorruptionDetected
from tests.helpers import add_user
from tests.helpers import incoming_files
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.helpers import upload
from tests.support import minimal_mp4


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_nothing_stored(app, data_dir) -> None:
    assert row_count(app) == 0
    assert stored_files(data_dir) == []


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


# --- uploading ---------------------------------------------------------------


def test_multipart_upload_returns_201_with_description_and_location(client, video_bytes):
    response = upload(client, video_bytes, "holiday.mp4")
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == body["url"]
    assert body["filename"] == "holiday.mp4"
    assert body["content_type"] == "video/mp4"
    assert body["size"] == len(video_bytes)
    assert body["sha256"] == sha256(video_bytes)
    assert body["status"] == "ok"
    assert body["created_at"].endswith("Z")
    assert len(body["id"]) == 36 and "holiday" not in body["id"]
    assert body["content_url"] == body["url"] + "/content"


def test_upload_stores_bytes_under_the_id_not_the_filename(client, data_dir, video_bytes):
    body = upload(client, video_bytes, "holiday.mp4").get_json()
    [stored] = stored_files(data_dir)
    assert stored.name == body["id"]
    assert stored.read_bytes() == video_bytes


def test_raw_body_upload_takes_the_name_from_the_query(client, video_bytes):
    response = client.post("/api/v1/files?filename=видео.mp4", data=video_bytes, content_type="application/octet-stream")
    assert response.status_code == 201
    body = response.get_json()
    assert body["filename"] == "видео.mp4"
    assert body["sha256"] == sha256(video_bytes)


def test_raw_body_upload_without_a_name_gets_one_from_its_type(client, video_bytes):
    response = client.post("/api/v1/files", data=video_bytes, content_type="video/mp4")
    assert response.status_code == 201
    assert response.get_json()["filename"] == "untitled.mp4"


def test_content_type_comes_from_the_bytes_not_the_claim(client):
    webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + bytes(500)
    response = upload(client, webm, "looks-like.mp4")
    assert response.get_json()["content_type"] == "video/webm"


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("C:\\Users\\me\\clip.mp4", "clip.mp4"),
        ("bad\r\nname\x00.mp4", "badname.mp4"),
        ("evil\u202egpj.mp4", "evilgpj.mp4"),
        ("...", "untitled.mp4"),
        ("Ünïcödé 動画.mp4", "Ünïcödé 動画.mp4"),
        ('qu"ote.mp4', 'qu"ote.mp4'),
        ("a" * 300 + ".mp4", "a" * 251 + ".mp4"),
    ],
)
def test_filenames_lose_paths_and_control_characters_only(client, video_bytes, sent, kept):
    response = client.post("/api/v1/files", query_string={"filename": sent}, data=video_bytes, content_type="video/mp4")
    assert response.status_code == 201
    assert response.get_json()["filename"] == kept


def test_multipart_filename_loses_its_folders(client, video_bytes):
    assert upload(client, video_bytes, "../../etc/passwd.mp4").get_json()["filename"] == "passwd.mp4"


@pytest.mark.parametrize("field", ["form", "header"])
def test_upload_with_matching_checksum_is_accepted(client, video_bytes, field):
    digest = hashlib.sha256(video_bytes)
    if field == "form":
        response = upload(client, video_bytes, sha256=digest.hexdigest().upper())
    else:
        header = "sha-256=:" + base64.b64encode(digest.digest()).decode() + ":"
        response = client.post(
            "/api/v1/files",
            data={"file": (io.BytesIO(video_bytes), "a.mp4")},
            headers={"Content-Digest": header},
        )
    assert response.status_code == 201


def test_upload_with_wrong_form_checksum_is_422_and_stores_nothing(app, client, data_dir, video_bytes):
    response = upload(client, video_bytes, sha256="0" * 64)
    error = assert_error(response, 422, "checksum_mismatch")
    assert sha256(video_bytes) in error["message"]
    assert_nothing_stored(app, data_dir)


def test_raw_upload_with_wrong_content_digest_is_422_and_stores_nothing(app, client, data_dir, video_bytes):
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = client.post(
        "/api/v1/files?filename=a.mp4",
        data=video_bytes,
        headers={"Content-Digest": f"sha-512=:AAAA:, sha-256=:{wrong}:"},
        content_type="application/octet-stream",
    )
    assert_error(response, 422, "checksum_mismatch")
    assert_nothing_stored(app, data_dir)


@pytest.mark.parametrize("bad", ["xyz", "0" * 63, "g" * 64])
def test_malformed_sha256_field_is_400(app, client, data_dir, video_bytes, bad):
    assert_error(upload(client, video_bytes, sha256=bad), 400, "bad_request")
    assert_nothing_stored(app, data_dir)


def test_malformed_content_digest_is_400(app, client, data_dir, video_bytes):
    response = client.post(
        "/api/v1/files?filename=a.mp4", data=video_bytes, headers={"Content-Digest": "sha-256=:not base64:"}
    )
    assert_error(response, 400, "bad_request")
    assert_nothing_stored(app, data_dir)


def test_not_a_video_is_415_naming_the_accepted_formats(app, client, data_dir):
    response = upload(client, b"just some text, honestly\n" * 50, "notes.mp4")
    error = assert_error(response, 415, "unsupported_media_type")
    assert "WebM" in error["message"]
    assert_nothing_stored(app, data_dir)


def test_html_with_a_video_extension_is_415(app, client, data_dir):
    response = upload(client, b"<html><script>alert(1)</script></html>", "page.mp4")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(app, data_dir)


def test_missing_file_field_is_400(app, client, data_dir):
    response = client.post("/api/v1/files", data={"other": "x"}, content_type="multipart/form-data")
    assert_error(response, 400, "missing_file")
    assert_nothing_stored(app, data_dir)


def test_empty_file_is_400(app, client, data_dir):
    assert_error(upload(client, b"", "empty.mp4"), 400, "empty_file")
    assert_nothing_stored(app, data_dir)


def test_empty_raw_body_is_400(app, client, data_dir):
    response = client.post("/api/v1/files?filename=a.mp4", data=b"", content_type="application/octet-stream")
    assert_error(response, 400, "missing_file")
    assert_nothing_stored(app, data_dir)


def test_two_files_in_one_request_are_400(app, client, data_dir, video_bytes):
    response = client.post(
        "/api/v1/files",
        data={"file": [(io.BytesIO(video_bytes), "a.mp4"), (io.BytesIO(video_bytes), "b.mp4")]},
        content_type="multipart/form-data",
    )
    assert_error(response, 400, "bad_request")
    assert_nothing_stored(app, data_dir)


@pytest.mark.parametrize("kind", ["multipart", "raw"])
def test_file_one_byte_over_the_limit_is_413_and_stores_nothing(limited_app, kind):
    from pathlib import Path

    limit = limited_app.config["MAX_CONTENT_LENGTH"]
    client = signed_in_client(limited_app)
    data = minimal_mp4(bytes(limit + 1 - len(minimal_mp4(b"x")) + 1))
    assert len(data) == limit + 1
    if kind == "multipart":
        response = upload(client, data)
    else:
        response = client.post("/api/v1/files?filename=a.mp4", data=data, content_type="video/mp4")
    error = assert_error(response, 413, "too_large")
    assert str(limit) in error["message"]
    assert_nothing_stored(limited_app, Path(limited_app.config["DATA_DIR"]))


@pytest.mark.parametrize("kind", ["multipart", "raw"])
def test_file_of_exactly_the_limit_is_accepted(limited_app, kind):
    limit = limited_app.config["MAX_CONTENT_LENGTH"]
    client = signed_in_client(limited_app)
    data = minimal_mp4(bytes(limit - len(minimal_mp4(b"x")) + 1))
    assert len(data) == limit
    if kind == "multipart":
        response = upload(client, data)
    else:
        response = client.post("/api/v1/files?filename=a.mp4", data=data, content_type="video/mp4")
    assert response.status_code == 201, response.get_data(as_text=True)


def test_full_disk_is_507_and_leaves_nothing(app, client, data_dir, video_bytes, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("portal.storage.local.os.fsync", no_space)
    error = assert_error(upload(client, video_bytes), 507, "insufficient_storage")
    assert "space" in error["message"]
    monkeypatch.undo()
    assert_nothing_stored(app, data_dir)
    assert upload(client, video_bytes).status_code == 201


def test_client_disconnect_mid_upload_leaves_nothing(app, client, data_dir, video_bytes):
    from portal.uploads import intake

    class DroppedConnection(io.RawIOBase):
        sent = False

        def readable(self):
            return True

        def readinto(self, buffer):
            if self.sent:
                raise ConnectionResetError("client went away")
            self.sent = True
            buffer[: len(video_bytes)] = video_bytes
            return len(video_bytes)

    from portal.accounts.service import get_user

    add_user(app, "uma", "uploader")
    with app.test_request_context(), pytest.raises(ConnectionResetError):
        # A raw stream, like the request.stream it stands for (which werkzeug also calls IO[bytes]).
        intake.store_stream(cast(IO[bytes], DroppedConnection()), "a.mp4", [], owner=get_user("uma"))
    assert_nothing_stored(app, data_dir)


def test_failed_database_commit_removes_the_stored_bytes(app, client, data_dir, video_bytes, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db

    def locked():
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    with app.app_context():
        monkeypatch.setattr(db.session, "commit", locked)
        response = upload(client, video_bytes)
    assert_error(response, 503, "service_unavailable")
    monkeypatch.undo()
    assert_nothing_stored(app, data_dir)


# --- listing -------------------------------------------------------------------


@pytest.fixture
def three_videos(client):
    names = ["Beach.mp4", "city at night.mp4", "Århus STRAND.mp4"]
    ids = {}
    for index, name in enumerate(names):
        ids[name] = upload(client, minimal_mp4(bytes(100 * (index + 1))), name).get_json()["id"]
    return ids


def names(response) -> list[str]:
    return [item["filename"] for item in response.get_json()["items"]]


def test_list_is_newest_first_with_paging_fields(client, three_videos):
    response = client.get("/api/v1/files")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 3 and body["page"] == 1 and body["per_page"] == 20
    assert names(response) == ["Århus STRAND.mp4", "city at night.mp4", "Beach.mp4"]


def test_list_pages(client, three_videos):
    first = client.get("/api/v1/files?per_page=2&page=1").get_json()
    second = client.get("/api/v1/files?per_page=2&page=2").get_json()
    beyond = client.get("/api/v1/files?per_page=2&page=9").get_json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and beyond["items"] == []
    assert first["total"] == second["total"] == beyond["total"] == 3


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("filename", ["Beach.mp4", "city at night.mp4", "Århus STRAND.mp4"]),
        ("-filename", ["Århus STRAND.mp4", "city at night.mp4", "Beach.mp4"]),
        ("size", ["Beach.mp4", "city at night.mp4", "Århus STRAND.mp4"]),
        ("-size", ["Århus STRAND.mp4", "city at night.mp4", "Beach.mp4"]),
        ("created_at", ["Beach.mp4", "city at night.mp4", "Århus STRAND.mp4"]),
    ],
)
def test_list_sorts(client, three_videos, sort, expected):
    assert names(client.get(f"/api/v1/files?sort={sort}")) == expected


@pytest.mark.parametrize("query, expected", [("BEACH", ["Beach.mp4"]), ("århus", ["Århus STRAND.mp4"]), ("strand", ["Århus STRAND.mp4"]), ("%", []), ("_", [])])
def test_search_is_a_case_insensitive_substring_in_any_script(client, three_videos, query, expected):
    assert names(client.get("/api/v1/files", query_string={"q": query})) == expected


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "per_page=0", "per_page=101", "per_page=1.5", "sort=name", "sort=--size", "q=" + "x" * 201],
)
def test_bad_listing_parameters_are_400(client, query):
    assert_error(client.get("/api/v1/files?" + query), 400, "bad_request")


def test_a_whole_number_with_a_zero_fraction_is_a_whole_number(client, three_videos):
    # JSON Schema counts 2.0 an integer: clients generated from the document may send it so.
    body = client.get("/api/v1/files?per_page=2.0&page=2.00").get_json()
    assert (body["per_page"], body["page"], len(body["items"])) == (2, 2, 1)


# --- one file --------------------------------------------------------------------


def test_get_returns_the_description(client, video_bytes):
    created = upload(client, video_bytes).get_json()
    response = client.get(f"/api/v1/files/{created['id']}")
    assert response.status_code == 200
    assert response.get_json() == created


@pytest.mark.parametrize(
    "video_id",
    ["00000000-0000-4000-8000-000000000000", "not-an-id", "1%27%20OR%20%271%27=%271", "..%2F..%2Fetc%2Fpasswd", "x" * 5000, "видео"],
)
@pytest.mark.parametrize("suffix", ["", "/content"])
def test_unknown_or_malformed_id_is_404(client, video_id, suffix):
    assert_error(client.get(f"/api/v1/files/{video_id}{suffix}"), 404, "not_found")


def test_unknown_id_delete_is_404(client):
    assert_error(client.delete("/api/v1/files/00000000-0000-4000-8000-000000000000"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    response = client.put("/api/v1/files")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_unknown_api_url_is_json_404(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


# --- downloading -----------------------------------------------------------------


@pytest.fixture
def stored(client):
    data = minimal_mp4(bytes(range(256)) * 40)
    response = client.post(
        "/api/v1/files", query_string={"filename": 'Ünïcödé "clip".mp4'}, data=data, content_type="video/mp4"
    )
    body = response.get_json()
    return body, data


def test_download_returns_the_bytes_with_safe_headers(client, stored):
    body, data = stored
    response = client.get(body["content_url"])
    assert response.status_code == 200
    assert response.get_data() == data
    headers = response.headers
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Content-Length"] == str(len(data))
    assert headers["ETag"] == f'"{body["sha256"]}"'
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["Repr-Digest"] == "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Unicode clip.mp4"')
    assert "filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%22clip%22.mp4" in disposition


def test_head_gives_headers_without_body(client, stored):
    body, data = stored
    response = client.head(body["content_url"])
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(data))
    assert response.get_data() == b""


@pytest.mark.parametrize(
    "range_header, start, stop",
    [("bytes=0-1", 0, 2), ("bytes=100-199", 100, 200), ("bytes=10000-", 10000, None), ("bytes=-50", -50, None), ("bytes=0-99999999999", 0, None)],
)
def test_single_range_is_206(client, stored, range_header, start, stop):
    body, data = stored
    response = client.get(body["content_url"], headers={"Range": range_header})
    assert response.status_code == 206
    expected = data[start:stop]
    assert response.get_data() == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert response.headers["Content-Length"] == str(len(expected))


@pytest.mark.parametrize("range_header", ["bytes=999999-", "bytes=999999-9999999", "bytes=-0"])
def test_unsatisfiable_range_is_416(client, stored, range_header):
    """A zero-length suffix selects no byte (RFC 9110, 14.1.1): unsatisfiable, not the whole file."""
    body, data = stored
    response = client.get(body["content_url"], headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"
    assert response.get_json()["error"]["code"] == "range_not_satisfiable"


@pytest.mark.parametrize("range_header", ["bytes=5-2", "bytes=abc", "items=0-1", "bytes=0-1,5-6"])
def test_malformed_reversed_or_multiple_ranges_get_the_whole_file(client, stored, range_header):
    body, data = stored
    response = client.get(body["content_url"], headers={"Range": range_header})
    assert response.status_code == 200
    assert response.get_data() == data


def test_if_none_match_gives_304(client, stored):
    body, _ = stored
    response = client.get(body["content_url"], headers={"If-None-Match": f'"{body["sha256"]}"'})
    assert response.status_code == 304
    assert response.get_data() == b""


def test_if_range_with_the_current_etag_honours_the_range(client, stored):
    body, data = stored
    response = client.get(body["content_url"], headers={"Range": "bytes=0-9", "If-Range": f'"{body["sha256"]}"'})
    assert response.status_code == 206
    assert response.get_data() == data[:10]


def test_if_range_with_another_etag_gives_the_whole_file(client, stored):
    body, data = stored
    response = client.get(body["content_url"], headers={"Range": "bytes=0-9", "If-Range": '"somethingelse"'})
    assert response.status_code == 200
    assert response.get_data() == data


# --- integrity -------------------------------------------------------------------


def flip_a_byte(data_dir, file_id: str, offset: int = -1) -> None:
    [path] = [p for p in stored_files(data_dir) if p.name == file_id]
    content = bytearray(path.read_bytes())
    content[offset] ^= 0xFF
    path.write_bytes(bytes(content))


def test_corrupt_file_never_downloads_completely_and_is_then_refused(client, data_dir, stored):
    body, data = stored
    flip_a_byte(data_dir, body["id"])
    with pytest.raises(CorruptionDetected):
        client.get(body["content_url"]).get_data()
    assert client.get(body["url"]).get_json()["status"] == "corrupt"
    error = assert_error(client.get(body["content_url"]), 409, "file_unavailable")
    assert "checksum" in error["message"]


def test_verify_reports_a_corrupt_file(client, data_dir, stored):
    body, _ = stored
    assert client.post(body["url"] + "/verify").get_json()["status"] == "ok"
    flip_a_byte(data_dir, body["id"], offset=30)
    result = client.post(body["url"] + "/verify")
    assert result.status_code == 200
    assert result.get_json()["status"] == "corrupt"


def test_missing_bytes_are_reported_and_the_file_can_still_be_deleted(client, data_dir, stored):
    body, _ = stored
    [path] = [p for p in stored_files(data_dir) if p.name == body["id"]]
    path.unlink()
    assert_error(client.get(body["content_url"]), 409, "file_unavailable")
    assert client.get(body["url"]).get_json()["status"] == "missing"
    assert client.delete(body["url"]).status_code == 204
    assert client.get(body["url"]).status_code == 404


def test_truncated_file_is_refused_before_sending(client, data_dir, stored):
    body, data = stored
    [path] = [p for p in stored_files(data_dir) if p.name == body["id"]]
    path.write_bytes(data[:-10])
    assert_error(client.get(body["content_url"], headers={"Range": "bytes=0-1"}), 409, "file_unavailable")
    assert client.get(body["url"]).get_json()["status"] == "corrupt"


# --- deleting ----------------------------------------------------------------------


def test_delete_moves_the_file_to_the_trash_keeping_its_bytes(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes).get_json()
    response = client.delete(body["url"])
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(body["url"]).status_code == 404
    assert client.get(body["content_url"]).status_code == 404
    assert client.get("/api/v1/files").get_json()["total"] == 0
    assert row_count(app) == 1 and len(stored_files(data_dir)) == 1


def test_purging_a_deleted_file_removes_row_and_bytes(app, client, data_dir, video_bytes):
    body = upload(client, video_bytes).get_json()
    assert client.delete(body["url"]).status_code == 204
    assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
    assert_nothing_stored(app, data_dir)


def test_failed_uploads_leave_no_temporary_files(client, data_dir, video_bytes):
    upload(client, b"not a video at all" * 10)
    upload(client, video_bytes, sha256="1" * 64)
    upload(client, b"")
    assert incoming_files(data_dir) == []

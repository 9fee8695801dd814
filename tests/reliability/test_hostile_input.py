"""Hostile and broken requests, table-driven: each gets its status, and nothing is stored.

Every case runs against a fresh portal holding one video (``{id}`` in a path
is its id) with a 64 KiB upload limit. A case that is refused must leave the
database and the storage folder exactly as they were; a hostile *filename* on
a real video is accepted, and then the only thing stored is that video, under
its id, with the name made safe to show and to send back in a header.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
import requests

from portal import create_app
from portal.extensions import db
from tests.helpers import signed_in_client
from tests.reliability.conftest import assert_database_and_folder_agree
from tests.reliability.conftest import rows_on_disk
from tests.support import minimal_mp4

LIMIT = 64 * 1024
BOUNDARY = "hostile-boundary"
VIDEO = minimal_mp4(b"\x00" * 2000)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 2000
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"PE\x00\x00" + b"\x00" * 2000
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def part(name: str, content: bytes, filename: str | bytes | None = None, content_type: str = "video/mp4") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'.encode()
    if filename is not None:
        disposition += b'; filename="' + (filename.encode() if isinstance(filename, str) else filename) + b'"'
    return b"--" + BOUNDARY.encode() + b"\r\n" + disposition + f"\r\nContent-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n"


def multipart(*parts: bytes) -> dict[str, Any]:
    """A hand-built multipart body, so that nothing is quoted or fixed on the way."""
    body = b"".join(parts) + b"--" + BOUNDARY.encode() + b"--\r\n"
    return {"data": body, "content_type": f"multipart/form-data; boundary={BOUNDARY}"}


def raw(content: bytes, content_type: str = "video/mp4") -> dict[str, Any]:
    return {"data": content, "content_type": content_type}


def one_file(content: bytes, filename: str | bytes = "clip.mp4") -> dict[str, Any]:
    return multipart(part("file", content, filename))


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    request: dict[str, Any] = field(default_factory=dict)
    #: For an accepted upload: the name it must be stored under.
    stored_name: str | None = None
    error_code: str | None = None
    #: Words the error message must contain.
    message: str | None = None


UPLOADS = "/api/v1/files"
ONE = "/api/v1/files/{id}"
CONTENT = "/api/v1/files/{id}/content"
LONG_NAME = "long" * 300 + ".mp4"

CASES = [
    # What is sent is not one acceptable video.
    Case("empty file", "POST", UPLOADS, 400, one_file(b""), error_code="empty_file"),
    Case("empty raw body", "POST", UPLOADS + "?filename=a.mp4", 400, raw(b""), error_code="missing_file"),
    Case("no file field", "POST", UPLOADS, 400, multipart(part("title", b"holiday")), error_code="missing_file"),
    Case("file in another field", "POST", UPLOADS, 400, multipart(part("video", VIDEO, "a.mp4")), error_code="missing_file"),
    Case("two file fields", "POST", UPLOADS, 400, multipart(part("file", VIDEO, "a.mp4"), part("file", VIDEO, "b.mp4"))),
    Case("a file and another file", "POST", UPLOADS, 400, multipart(part("file", VIDEO, "a.mp4"), part("other", VIDEO, "b.mp4"))),
    Case("text renamed .mp4", "POST", UPLOADS, 415, one_file(b"just some notes\n" * 50, "notes.mp4"), error_code="unsupported_media_type"),
    Case("HTML with a video extension", "POST", UPLOADS, 415, one_file(HTML, "page.mp4"), error_code="unsupported_media_type"),
    Case("HTML raw, claiming video/mp4", "POST", UPLOADS + "?filename=page.mp4", 415, raw(HTML)),
    Case("SVG with script as .webm", "POST", UPLOADS, 415, one_file(SVG, "image.webm")),
    Case("ELF executable", "POST", UPLOADS, 415, one_file(ELF, "program.mp4")),
    Case("Windows executable", "POST", UPLOADS, 415, one_file(WINDOWS_EXE, "setup.avi")),
    Case("shell script", "POST", UPLOADS, 415, one_file(b"#!/bin/sh\nrm -rf /\n", "run.mkv")),
    Case("zip archive", "POST", UPLOADS, 415, one_file(b"PK\x03\x04" + b"\x00" * 500, "archive.mp4")),
    Case("truncated MP4 header", "POST", UPLOADS, 415, one_file(VIDEO[:8], "short.mp4")),
    Case("truncated WebM header", "POST", UPLOADS, 415, one_file(b"\x1a\x45\xdf\xa3", "short.webm")),
    Case("RIFF that is not AVI", "POST", UPLOADS, 415, one_file(b"RIFF\x00\x01\x00\x00WAVEfmt " + b"\x00" * 100, "sound.avi")),
    Case("audio-only MP4 brand", "POST", UPLOADS, 415, one_file(b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00" + b"\x00" * 100, "song.mp4")),
    Case("one byte over the limit, form", "POST", UPLOADS, 413, one_file(minimal_mp4(b"\x00" * (LIMIT - 15))), error_code="too_large"),
    Case("one byte over the limit, raw", "POST", UPLOADS + "?filename=a.mp4", 413, raw(minimal_mp4(b"\x00" * (LIMIT - 15))), error_code="too_large"),
    Case("hundreds of file parts", "POST", UPLOADS, 400, multipart(*[part("file", b"x" * 10, f"{i}.mp4") for i in range(300)])),
    Case("over a thousand file parts", "POST", UPLOADS, 413, multipart(*[part("file", b"x", f"{i}") for i in range(1001)]), error_code="too_large", message="too many parts"),
    Case("a video and a thousand fields", "POST", UPLOADS, 413, multipart(part("file", VIDEO, "a.mp4"), *[part(f"{i}", b"") for i in range(1001)]), message="too many parts"),
    Case("checksum that does not match", "POST", UPLOADS, 422, multipart(part("file", VIDEO, "a.mp4"), part("sha256", b"0" * 64)), error_code="checksum_mismatch"),
    Case("checksum that is not hex", "POST", UPLOADS, 400, multipart(part("file", VIDEO, "a.mp4"), part("sha256", b"' OR 1=1 --"))),
    Case("Content-Digest that is not base64", "POST", UPLOADS + "?filename=a.mp4", 400, {**raw(VIDEO), "headers": {"Content-Digest": "sha-256=:!!!:"}}),
    Case("multipart without a boundary", "POST", UPLOADS, 400, {"data": one_file(VIDEO)["data"], "content_type": "multipart/form-data"}),
    Case("multipart that never ends", "POST", UPLOADS, 400, {**one_file(VIDEO), "data": one_file(VIDEO)["data"][:-40]}),
    Case("multipart that is garbage", "POST", UPLOADS, 400, {**one_file(VIDEO), "data": os.urandom(3000)}),
    Case("CR/LF breaking the part header", "POST", UPLOADS, 400, one_file(VIDEO, b"evil\r\nContent-Type: text/html\r\n\r\n.mp4")),
    # A form encoding cannot carry a file: the answer says how to send one.
    Case("form-encoded body", "POST", UPLOADS, 400, raw(b"file=" + HTML, "application/x-www-form-urlencoded"),
         error_code="missing_file", message="multipart/form-data"),
    # A real video under a hostile name: stored under its id, with a name safe to show.
    Case("name with ../", "POST", UPLOADS, 201, one_file(VIDEO, "../../../etc/passwd.mp4"), stored_name="passwd.mp4"),
    Case("name with ..\\", "POST", UPLOADS, 201, one_file(VIDEO, "..\\..\\windows\\win.ini.mp4"), stored_name="win.ini.mp4"),
    Case("absolute path name", "POST", UPLOADS + "?filename=/var/lib/portal/portal.db", 201, raw(VIDEO), stored_name="portal.db"),
    Case("drive letter name", "POST", UPLOADS + "?filename=C:%5CWindows%5Cevil.mp4", 201, raw(VIDEO), stored_name="evil.mp4"),
    Case("name with NUL", "POST", UPLOADS + "?filename=evil%00.mp4.exe", 201, raw(VIDEO), stored_name="evil.mp4.exe"),
    Case("name with NUL in a form", "POST", UPLOADS, 201, one_file(VIDEO, b"evil\x00.mp4"), stored_name="evil.mp4"),
    Case("name with CR/LF", "POST", UPLOADS + "?filename=a%0D%0ASet-Cookie:%20x=1.mp4", 201, raw(VIDEO), stored_name="aSet-Cookie: x=1.mp4"),
    Case("name with quotes", "POST", UPLOADS + "?filename=a%22b'c%22%3B%20filename=x.html", 201, raw(VIDEO), stored_name="a\"b'c\"; filename=x.html"),
    Case("very long name", "POST", UPLOADS, 201, one_file(VIDEO, LONG_NAME), stored_name=LONG_NAME[: 255 - 4] + ".mp4"),
    Case("right-to-left override", "POST", UPLOADS, 201, one_file(VIDEO, "holiday\u202e4pm.exe"), stored_name="holiday4pm.exe"),
    Case("only dots", "POST", UPLOADS + "?filename=...", 201, raw(VIDEO), stored_name="untitled.mp4"),
    Case("dot dot", "POST", UPLOADS, 201, one_file(VIDEO, ".."), stored_name="untitled.mp4"),
    Case("HTML in the name", "POST", UPLOADS + "?filename=%3Cimg%20src=x%20onerror=alert(1)%3E.mp4", 201, raw(VIDEO), stored_name="<img src=x onerror=alert(1)>.mp4"),
    Case("name in another script", "POST", UPLOADS + "?filename=%D0%B2%D0%B8%D0%B4%D0%B5%D0%BE.mp4", 201, raw(VIDEO), stored_name="видео.mp4"),
    # Ids that are not ids.
    Case("id that is SQL", "GET", "/api/v1/files/' OR '1'='1", 404, error_code="not_found"),
    Case("id that is SQL, delete", "DELETE", "/api/v1/files/1;DROP TABLE videos;--", 404, error_code="not_found"),
    Case("id that is SQL, verify", "POST", "/api/v1/files/x' UNION SELECT sha256 FROM videos--/verify", 404),
    Case("id that climbs folders", "GET", "/api/v1/files/..%2F..%2Fportal.db/content", 404),
    Case("id that is a dot dot", "GET", "/api/v1/files/../content", 404),
    Case("id with NUL", "GET", "/api/v1/files/{id}%00/content", 404),
    Case("very long id", "GET", "/api/v1/files/" + "a" * 10_000, 404, error_code="not_found"),
    Case("very long id, delete", "DELETE", "/api/v1/files/" + "0" * 10_000, 404),
    Case("unicode id", "GET", "/api/v1/files/видео-😀/content", 404, error_code="not_found"),
    Case("id in capitals", "DELETE", "/api/v1/files/{ID}", 404),
    # Range headers that are not one satisfiable byte range.
    Case("malformed range", "GET", CONTENT, 200, {"headers": {"Range": "bytes=abc"}}),
    Case("reversed range", "GET", CONTENT, 200, {"headers": {"Range": "bytes=500-100"}}),
    Case("multiple ranges", "GET", CONTENT, 200, {"headers": {"Range": "bytes=0-1,5-6"}}),
    Case("a thousand ranges", "GET", CONTENT, 200, {"headers": {"Range": "bytes=" + ",".join(f"{i}-{i}" for i in range(1000))}}),
    Case("range in other units", "GET", CONTENT, 200, {"headers": {"Range": "items=0-1"}}),
    Case("huge range start", "GET", CONTENT, 416, {"headers": {"Range": "bytes=99999999999999999999-"}}),
    Case("huge range end", "GET", CONTENT, 206, {"headers": {"Range": "bytes=0-99999999999999999999"}}),
    Case("huge suffix range", "GET", CONTENT, 206, {"headers": {"Range": "bytes=-99999999999999999999"}}),
    Case("range past the end", "HEAD", CONTENT, 416, {"headers": {"Range": "bytes=1000000-"}}),
    # Methods the portal does not offer.
    Case("PUT on the collection", "PUT", UPLOADS, 405, raw(VIDEO), error_code="method_not_allowed"),
    Case("DELETE on the collection", "DELETE", UPLOADS, 405, error_code="method_not_allowed"),
    Case("PATCH on a file", "PATCH", ONE, 405, {"json": {"filename": "renamed.mp4"}}),
    Case("PUT on a file's bytes", "PUT", CONTENT, 405, raw(VIDEO)),
    Case("POST on a file's bytes", "POST", CONTENT, 405, raw(VIDEO)),
    Case("GET on verify", "GET", ONE + "/verify", 405),
    Case("TRACE", "TRACE", UPLOADS, 405),
    Case("POST on health", "POST", "/healthz", 405),
    # Query parameters out of bounds.
    Case("search text too long", "GET", UPLOADS + "?q=" + "a" * 201, 400, error_code="bad_request"),
    Case("search text of 100 KiB", "GET", UPLOADS + "?q=" + "%27" * 100_000, 400, error_code="bad_request"),
    Case("per_page too large", "GET", UPLOADS + "?per_page=101", 400),
    Case("per_page with 30 digits", "GET", UPLOADS + "?per_page=" + "9" * 30, 400),
    Case("page zero", "GET", UPLOADS + "?page=0", 400),
    Case("negative page", "GET", UPLOADS + "?page=-1", 400),
    Case("page in other digits", "GET", UPLOADS + "?page=%EF%BC%91", 400),
    Case("sort that is SQL", "GET", UPLOADS + "?sort=size;DROP TABLE videos", 400),
    Case("sort by a hidden column", "GET", UPLOADS + "?sort=sha256", 400),
]


@pytest.fixture
def limited_app(tmp_path, migrated_sqlite):
    """The portal with a small upload limit on SQLite in its data folder (read here as the file), already migrated."""
    (tmp_path / "data").mkdir()
    shutil.copyfile(migrated_sqlite, tmp_path / "data" / "portal.db")
    app = create_app({"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": LIMIT})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_table_is_large_enough():
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_request_gets_its_status_and_stores_nothing(limited_app, case):
    client = signed_in_client(limited_app)
    data_dir = Path(limited_app.config["DATA_DIR"])
    existing = client.post(UPLOADS + "?filename=existing.mp4", data=VIDEO, content_type="video/mp4").get_json()
    before = rows_on_disk(data_dir)

    path = case.path.replace("{id}", existing["id"]).replace("{ID}", existing["id"].upper())
    response = client.open(path, method=case.method, **case.request)

    assert response.status_code == case.status, response.get_data(as_text=True)[:500]
    if case.error_code is not None:
        assert response.get_json()["error"]["code"] == case.error_code
    if response.status_code >= 400 and path.startswith("/api/") and case.method != "HEAD":
        assert response.get_json()["error"]["message"]
    if case.message is not None:
        assert case.message in response.get_json()["error"]["message"]
    after = rows_on_disk(data_dir)
    if case.stored_name is None:
        assert after == before
    else:
        body = response.get_json()
        assert body["filename"] == case.stored_name
        assert set(after) == set(before) | {body["id"]}
        assert after[body["id"]] == (len(VIDEO), hashlib.sha256(VIDEO).hexdigest())
        assert_name_is_safe_in_a_header(client, body)
    assert_database_and_folder_agree(data_dir)


def assert_name_is_safe_in_a_header(client, body: dict) -> None:
    download = client.get(body["content_url"])
    assert download.status_code == 200 and download.data == VIDEO
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert not any(char in disposition for char in "\r\n\0")
    ascii_part = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in ascii_part and "\\" not in ascii_part
    assert "Set-Cookie" not in download.headers
    assert download.headers["Content-Type"] == "video/mp4"


# --- lying Content-Length, which only a raw socket can send ------------------


@pytest.fixture
def portal(start_portal):
    return start_portal(env={"PORTAL_MAX_CONTENT_LENGTH": str(LIMIT)})


def exchange(portal, request: bytes, half_close: bool = False) -> bytes:
    """Send ``request`` as is and return whatever comes back before the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", int(portal.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and not half_close:
                    head, _, rest = received.partition(b"\r\n\r\n")
                    length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                    if length and len(rest) >= int(length[0].split(b":")[1]):
                        break
        except socket.timeout:
            pass
        return received


def multipart_request(portal, body: bytes, content_length: int, path: str = UPLOADS) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {content_length}\r\n"
    ).encode() + portal.auth_line + b"\r\n" + body


def test_multipart_with_a_content_length_shorter_than_the_body_is_400_and_stores_nothing(portal):
    body = one_file(VIDEO)["data"]
    answer = exchange(portal, multipart_request(portal, body, len(body) - 100))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b'"missing_file"' in answer
    assert rows_on_disk(portal.data_dir) == {}
    assert_database_and_folder_agree(portal.data_dir)


def test_multipart_with_a_content_length_longer_than_the_body_is_never_processed(portal):
    body = one_file(VIDEO)["data"]
    answer = exchange(portal, multipart_request(portal, body, len(body) + 100), half_close=True)
    assert answer == b""
    assert rows_on_disk(portal.data_dir) == {}
    assert_database_and_folder_agree(portal.data_dir)


def test_multipart_declaring_more_than_the_limit_is_413_before_it_is_read(portal):
    body = one_file(VIDEO)["data"]
    answer = exchange(portal, multipart_request(portal, body, 10 * LIMIT))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert rows_on_disk(portal.data_dir) == {}
    assert_database_and_folder_agree(portal.data_dir)


def test_raw_body_with_a_short_content_length_is_caught_by_its_checksum(portal):
    """The server can only trust the declared length; the client's checksum shows the cut."""
    sha256 = hashlib.sha256(VIDEO).hexdigest()
    request = (
        f"POST {UPLOADS}?filename=a.mp4&sha256={sha256} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\n"
        f"Content-Length: {len(VIDEO) - 10}\r\nConnection: close\r\n"
    ).encode() + portal.auth_line + b"\r\n" + VIDEO
    answer = exchange(portal, request)
    assert answer.startswith(b"HTTP/1.1 422 "), answer[:300]
    assert rows_on_disk(portal.data_dir) == {}
    assert_database_and_folder_agree(portal.data_dir)
    assert requests.get(portal.url + "/healthz", timeout=10).status_code == 200

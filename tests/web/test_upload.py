"""The upload form at ``/upload``: one or several files, with or without the progress-bar script."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from portal.errors import format_bytes
from portal.library.formats import ACCEPTED_FORMATS
from portal.uploads import intake
from portal.uploads import request as upload_request
from tests.helpers import row_count
from tests.helpers import signed_in_client
from tests.helpers import stored_files
from tests.support import minimal_mp4
from tests.web.conftest import csrf_token
from tests.web.conftest import post_upload


def video_ids(client) -> list[str]:
    return [item["id"] for item in client.get("/api/v1/files").get_json()["items"]]


def assert_nothing_stored(app, data_dir: Path) -> None:
    assert row_count(app) == 0
    assert stored_files(data_dir) == []


def test_upload_page_has_a_labelled_multiple_file_field_and_a_csrf_token(app, client):
    response = client.get("/upload")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'method="post"' in html
    assert '<label class="dropzone__label" for="file">' in html
    assert 'id="file"' in html and 'name="file"' in html and "multiple" in html and "required" in html
    assert 'name="csrf_token"' in html
    assert format_bytes(app.config["MAX_CONTENT_LENGTH"]) in html
    assert ACCEPTED_FORMATS in html
    assert re.search(r'<script src="/static/js/upload\.[0-9a-f]{12}\.js" defer></script>', html)


def test_form_upload_stores_the_video_and_opens_its_page(app, client, data_dir, real_mp4):
    response = post_upload(client, [(real_mp4, "holiday.mp4")])
    assert response.status_code == 303
    [video_id] = video_ids(client)
    assert response.headers["Location"] == f"/videos/{video_id}"
    [path] = stored_files(data_dir)
    assert path.read_bytes() == real_mp4
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uploaded “holiday.mp4”." in page
    assert hashlib.sha256(real_mp4).hexdigest() in page


def test_progress_bar_script_gets_201_with_the_video_page_and_no_message_piles_up(client, video_bytes):
    token = csrf_token(client)
    for _ in range(3):
        response = post_upload(client, [(video_bytes, "clip.mp4")], token=None,
                               headers={"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"})
        assert response.status_code == 201
        assert response.headers["Location"] == f"/videos/{video_ids(client)[0]}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flashes"' not in page
    assert len(video_ids(client)) == 3


def test_form_upload_is_hashed_while_streaming_with_no_second_copy(client, data_dir, video_bytes, monkeypatch):
    """The request class streamed the part into storage; the view only finishes that upload."""
    begun = []
    real_begin = upload_request.begin_upload

    def counting_begin_upload(*args, **kwargs):
        incoming = real_begin(*args, **kwargs)
        begun.append(incoming)
        return incoming

    def no_copy(*args, **kwargs):
        raise AssertionError("the form upload must not copy the file again")

    monkeypatch.setattr(upload_request, "begin_upload", counting_begin_upload)
    monkeypatch.setattr(intake, "store_stream", no_copy)
    response = post_upload(client, [(video_bytes, "clip.mp4")])
    assert response.status_code == 303
    [incoming] = begun
    assert incoming.sha256() == hashlib.sha256(video_bytes).hexdigest()
    assert [path.name for path in stored_files(data_dir)] == [incoming.video_id]


def test_several_files_in_one_form_all_stored_then_the_library(client, video_bytes, real_mp4):
    response = post_upload(client, [(video_bytes, "one.mp4"), (real_mp4, "two.mp4")])
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "Uploaded 2 videos: “one.mp4”, “two.mp4”." in html
    assert len(video_ids(client)) == 2


def test_several_files_keep_the_good_ones_and_say_why_the_others_were_refused(client, data_dir, video_bytes):
    response = post_upload(client, [(b"just some text", "notes.mp4"), (video_bytes, "good.mp4")])
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not uploaded: “notes.mp4”. This file is not a video" in html
    assert "Uploaded “good.mp4”." in html
    assert len(video_ids(client)) == 1
    assert len(stored_files(data_dir)) == 1


def test_several_files_all_refused_go_back_to_the_form_with_one_message_per_reason(app, client, data_dir):
    response = post_upload(client, [(b"text", "a.mp4"), (b"more text", "b.mp4")])
    assert response.status_code == 303
    assert response.headers["Location"] == "/upload"
    html = client.get("/upload").get_data(as_text=True)
    assert "Not uploaded: “a.mp4”, “b.mp4”. This file is not a video" in html
    assert_nothing_stored(app, data_dir)


def test_upload_without_a_file_is_400_with_the_form_saying_so(app, client, data_dir):
    response = post_upload(client, [(b"", "")])
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose at least one video file to upload." in html
    assert 'aria-describedby="file-help file-error"' in html
    assert_nothing_stored(app, data_dir)


def test_upload_of_an_empty_file_is_a_400_page(app, client, data_dir):
    response = post_upload(client, [(b"", "empty.mp4")])
    assert response.status_code == 400
    assert "The file is empty" in response.get_data(as_text=True)
    assert_nothing_stored(app, data_dir)


def test_not_a_video_is_a_415_page_naming_the_accepted_formats(app, client, data_dir):
    response = post_upload(client, [(b"<html>not a video</html>", "page.mp4")])
    assert response.status_code == 415
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Not a video" in html
    assert ACCEPTED_FORMATS in html
    assert 'href="/upload"' in html
    assert_nothing_stored(app, data_dir)


def test_file_over_the_limit_is_a_413_page_saying_the_limit(limited_app):
    limit = limited_app.config["MAX_CONTENT_LENGTH"]
    client = signed_in_client(limited_app)
    data = minimal_mp4(bytes(limit + 1 - len(minimal_mp4(b"x")) + 1))
    assert len(data) == limit + 1
    response = post_upload(client, [(data, "big.mp4")])
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "File too large" in html
    assert format_bytes(limit) in html and str(limit) in html
    assert_nothing_stored(limited_app, Path(limited_app.config["DATA_DIR"]))


def test_file_of_exactly_the_limit_is_accepted_through_the_form(limited_app):
    limit = limited_app.config["MAX_CONTENT_LENGTH"]
    client = signed_in_client(limited_app)
    data = minimal_mp4(bytes(limit - len(minimal_mp4(b"x")) + 1))
    assert len(data) == limit
    response = post_upload(client, [(data, "exact.mp4")])
    assert response.status_code == 303, response.get_data(as_text=True)


def test_upload_page_states_the_limit(limited_app):
    limit = limited_app.config["MAX_CONTENT_LENGTH"]
    html = signed_in_client(limited_app).get("/upload").get_data(as_text=True)
    assert f"Up to <strong>{format_bytes(limit)}</strong> per file" in html
    assert f'data-max-bytes="{limit}"' in html


def test_a_big_batch_is_summed_up_in_short_messages(client, video_bytes):
    files = [(video_bytes, f"good-{n}.mp4") for n in range(7)] + [(b"text", f"bad-{n}.mp4") for n in range(8)]
    response = post_upload(client, files)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uploaded 7 videos: “good-0.mp4”, “good-1.mp4”, “good-2.mp4”, “good-3.mp4”, “good-4.mp4” and 2 more." in html
    assert "Not uploaded: “bad-0.mp4”, “bad-1.mp4”, “bad-2.mp4”, “bad-3.mp4”, “bad-4.mp4” and 3 more." in html
    assert len(video_ids(client)) == 7


def test_refused_files_with_long_names_never_make_a_cookie_browsers_drop(client, video_bytes):
    """Six refused files with 250-character CJK names once made a 5,263-byte session cookie."""
    names = [f"{n}" + "".join(chr(0x4E00 + (n * 977 + i * 131) % 20000) for i in range(250)) + ".mp4" for n in range(6)]
    files = [(b"not a video %d" % n, name) for n, name in enumerate(names)] + [(video_bytes, names[0])]
    response = post_upload(client, files)
    assert response.status_code == 303
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and max(len(cookie.encode()) for cookie in cookies) < 4000, [len(cookie) for cookie in cookies]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not uploaded: “" + names[0][:39] + "…”" in html
    assert "and 1 more. This file is not a video" in html


def cjk_name(seed: int, length: int = 250) -> str:
    return f"{seed}" + "".join(chr(0x4E00 + (seed * 977 + i * 131) % 20000) for i in range(length)) + ".mp4"


def test_refusals_of_many_forms_piling_up_are_summarised_and_the_cookie_stays_under_4000_bytes(client):
    """Forms sent one after another before any page shows their messages (tabs, a script) add up in the cookie.

    Each form refuses six files with 250-character CJK names, for two reasons;
    without a bound, the fourth answer set a cookie over 4,000 bytes.
    """
    token = csrf_token(client)
    lengths = []
    for form in range(8):
        names = [cjk_name(form * 10 + n) for n in range(6)]
        files = [(b"not a video %d" % n, name) for n, name in enumerate(names[:3])] + [(b"", name) for name in names[3:]]
        response = post_upload(client, files, token=token)
        assert response.status_code == 303 and response.headers["Location"] == "/upload"
        cookies = [cookie for cookie in response.headers.getlist("Set-Cookie") if cookie.startswith("session=")]
        assert cookies, "every answer keeps the session (and its messages)"
        lengths.append(max(len(cookie.encode()) for cookie in cookies))
    assert max(lengths) < 4000, lengths
    html = client.get("/upload").get_data(as_text=True)
    assert html.count("6 files were refused: Not uploaded: “") >= 1, "the forms that did not fit are summarised"
    assert "…" in html
    assert client.get("/api/v1/me").status_code == 200, "still signed in"


def test_messages_that_fit_are_left_as_they_are(client):
    names = [cjk_name(n) for n in range(2)]
    response = post_upload(client, [(b"text", names[0]), (b"", names[1])])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "files were refused" not in html
    assert "Not uploaded: “" + names[0][:39] + "…”. This file is not a video" in html

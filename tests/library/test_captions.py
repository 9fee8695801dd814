"""Captions: SRT and WebVTT checked and kept as WebVTT, their API, and their part in the video's life."""

from __future__ import annotations

import hashlib
import html
import io
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal import errors
from portal.accounts.permissions import Caller
from portal.extensions import db
from portal.library import captions
from portal.library import service
from portal.library.models import Caption
from portal.storage import current_storage
from tests.helpers import signed_in_client
from tests.helpers import upload
from tests.support import found

SRT = (
    b"1\r\n00:00:00,500 --> 00:00:02,000\r\n<i>Hello</i> & <font color=red>welcome</font>\r\n\r\n"
    b"2\r\n00:00:02,500 --> 00:00:04,000\r\nSecond line\r\n"
)
VTT = b"WEBVTT\n\nNOTE made by hand\n\nintro\n00:00.500 --> 00:02.000 align:start\n<b>Hi</b> there\n"


def stored_objects(app) -> list[str]:
    with app.app_context():
        return sorted(key for key in current_storage().keys() if key.startswith("caption/"))


def test_srt_becomes_webvtt_with_its_text_escaped_and_its_tags_kept_or_dropped():
    assert captions.normalise(SRT) == (
        b"WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.000\n<i>Hello</i> &amp; welcome\n\n"
        b"2\n00:00:02.500 --> 00:00:04.000\nSecond line\n"
    )


def test_webvtt_is_written_anew_keeping_cue_settings_and_dropping_notes():
    assert captions.normalise(VTT) == b"WEBVTT\n\n1\n00:00:00.500 --> 00:00:02.000 align:start\n<b>Hi</b> there\n"


def test_utf16_with_a_byte_order_mark_is_converted():
    assert captions.normalise(VTT.decode().encode("utf-16")) == captions.normalise(VTT)
    assert captions.normalise(b"\xef\xbb\xbf" + SRT) == captions.normalise(SRT)


@pytest.mark.parametrize(
    ("raw", "error", "words"),
    [
        (b"x" * (captions.MAX_CAPTION_BYTES + 1), errors.CaptionTooLarge, "larger than 2 MiB"),
        ("1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9\n".encode("latin-1"), errors.InvalidCaption, "not UTF-8"),
        (b"just some words\n", errors.InvalidCaption, "does not start an SRT cue"),
        (b"WEBVTT\n\n00:01.000 -> 00:02.000\ntext\n", errors.InvalidCaption, "not a WebVTT cue timing"),
        (b"1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", errors.InvalidCaption, "before it starts"),
        (b"WEBVTT\n", errors.InvalidCaption, "no cues"),
    ],
    ids=["too-large", "latin-1", "not-a-caption", "bad-timing", "backwards-cue", "no-cues"],
)
def test_bad_caption_files_are_refused_with_what_is_wrong(raw, error, words):
    with pytest.raises(error) as refused:
        captions.normalise(raw)
    assert words in refused.value.message


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("en", "en"), ("pt-br", "pt-BR"), ("ZH-hant-tw", "zh-Hant-TW"), ("sr_Latn", "sr-Latn"), ("de-CH-1996", "de-CH-1996"),
     ("es-419", "es-419"), ("en-x-sdh", "en-x-sdh")],
)
def test_language_tags_are_taken_in_their_canonical_case(given, canonical):
    assert captions.canonical_language(given) == canonical


@pytest.mark.parametrize("given", ["", "e", "english!", "en--us", "toolonglanguage", "en-", "fr-ca-ca-ca-ca-ca-ca-ca-ca-ca-ca-ca"])
def test_what_is_not_a_bcp47_tag_is_refused(given):
    with pytest.raises(errors.InvalidLanguage):
        captions.canonical_language(given)


def test_migrations_make_the_captions_table_the_model_describes(app):
    with app.app_context(), db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert [difference for difference in differences if "captions" in repr(difference)] == []


def test_a_stored_caption_has_its_sha256_and_a_refused_one_stores_nothing(app, client, video_bytes):
    video_id = upload(client, video_bytes).get_json()["id"]
    with app.test_request_context():
        video = service.get_video(video_id)
        assert video.owner is not None
        admin = Caller(video.owner)
        with pytest.raises(errors.InvalidCaption):
            captions.put_caption(video, "en", "English", b"1\n00:00:05,000 --> 00:00:01,000\nx\n", by=admin, if_match=None)
        with pytest.raises(errors.InvalidLanguage):
            captions.put_caption(video, "english!", "English", SRT, by=admin, if_match=None)
        assert db.session.scalars(db.select(Caption)).all() == []
    assert stored_objects(app) == []
    with app.test_request_context():
        video = service.get_video(video_id)
        caption, created = captions.put_caption(video, "EN", "English", SRT, by=admin, if_match=None)
        assert created and caption.language == "en"
        stored = captions.read_caption(caption)
        assert stored == captions.normalise(SRT)
        assert caption.sha256 == hashlib.sha256(stored).hexdigest() and caption.size == len(stored)
    assert len(stored_objects(app)) == 1


# --- the API -------------------------------------------------------------------


def put(client, video_id: str, language: str, body: bytes, label: str | None = "English", **headers):
    query = {"label": label} if label is not None else {}
    return client.put(f"/api/v2/videos/{video_id}/captions/{language}", query_string=query, data=body,
                      content_type="application/x-subrip", headers=headers)


@pytest.fixture
def video_id(client, video_bytes) -> str:
    return upload(client, video_bytes).get_json()["id"]


def test_a_caption_is_added_listed_served_as_webvtt_and_replaced_only_with_its_etag(app, client, video_id):
    created = put(client, video_id, "pt-br", SRT, label="Português")
    assert created.status_code == 201, created.get_json()
    etag = created.headers["ETag"]
    assert created.get_json()["language"] == "pt-BR" and created.headers["Location"].endswith(f"/{video_id}/captions/pt-BR")

    listing = client.get(f"/api/v2/videos/{video_id}/captions").get_json()["items"]
    assert [(item["language"], item["label"], item["source"]) for item in listing] == [("pt-BR", "Português", "upload")]
    served = client.get(listing[0]["url"])
    assert served.status_code == 200 and served.data == captions.normalise(SRT)
    assert served.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert served.headers["X-Content-Type-Options"] == "nosniff" and served.headers["ETag"] == etag
    assert client.get(f"/api/v2/videos/{video_id}/captions/PT-BR", headers={"If-None-Match": etag}).status_code == 304

    assert put(client, video_id, "pt-BR", VTT).status_code == 428
    assert put(client, video_id, "pt-BR", VTT, **{"If-Match": '"' + "0" * 64 + '"'}).status_code == 412
    replaced = put(client, video_id, "pt-BR", VTT, label="PT", **{"If-Match": etag})
    assert replaced.status_code == 200 and replaced.headers["ETag"] != etag
    assert client.get(f"/api/v2/videos/{video_id}/captions/pt-BR").data == captions.normalise(VTT)
    assert len(stored_objects(app)) == 1  # the replaced version's object is gone

    assert client.delete(f"/api/v2/videos/{video_id}/captions/pt-BR").status_code == 428
    assert client.delete(f"/api/v2/videos/{video_id}/captions/pt-BR", headers={"If-Match": etag}).status_code == 412
    gone = client.delete(f"/api/v2/videos/{video_id}/captions/pt-BR", headers={"If-Match": replaced.headers["ETag"]})
    assert gone.status_code == 204
    assert client.get(f"/api/v2/videos/{video_id}/captions/pt-BR").status_code == 404
    assert stored_objects(app) == []


def test_if_match_star_names_no_caption_version_and_is_answered_428_as_for_a_videos_details(client, video_id):
    """`*` would let a change overwrite any version unseen: refused as no If-Match is, as v2's PATCH of a video does."""
    assert client.patch(f"/api/v2/videos/{video_id}", json={"title": "x"}, headers={"If-Match": "*"},
                        content_type="application/merge-patch+json").status_code == 428
    star = {"If-Match": " * "}
    assert put(client, video_id, "en", VTT, **star).status_code == 428, "not even to add one: `*` names nothing"
    etag = put(client, video_id, "en", VTT).headers["ETag"]
    refused = put(client, video_id, "en", SRT, **star)
    assert refused.status_code == 428 and refused.get_json()["code"] == "precondition_required"
    assert "If-Match: * names no version of the caption" in refused.get_json()["detail"]
    deleted = client.delete(f"/api/v2/videos/{video_id}/captions/en", headers=star)
    assert deleted.status_code == 428 and "If-Match: *" in deleted.get_json()["detail"]
    assert client.get(f"/api/v2/videos/{video_id}/captions/en").headers["ETag"] == etag


@pytest.mark.parametrize(
    ("language", "body", "label", "status", "code"),
    [
        ("english!", SRT, "English", 400, "invalid_language"),
        ("en", SRT, None, 400, "bad_request"),
        ("en", b"", "English", 400, "bad_request"),
        ("en", b"x" * (captions.MAX_CAPTION_BYTES + 1), "English", 413, "caption_too_large"),
        ("en", b"\xff\xfe\x00\xd8", "English", 422, "invalid_caption"),
        ("en", b"1\n00:00:05,000 --> 00:00:02,000\nx\n", "English", 422, "invalid_caption"),
    ],
    ids=["language", "no-label", "empty", "too-large", "bad-utf16", "backwards"],
)
def test_the_api_refuses_bad_captions_with_a_clear_problem_and_stores_nothing(app, client, video_id, language, body, label, status, code):
    refused = put(client, video_id, language, body, label=label)
    assert refused.status_code == status and refused.get_json()["code"] == code, refused.get_json()
    assert refused.get_json()["detail"]
    assert client.get(f"/api/v2/videos/{video_id}/captions").get_json()["items"] == []
    assert stored_objects(app) == []


def test_only_the_owner_or_an_admin_changes_captions(app, client, video_id):
    assert put(client, video_id, "en", SRT).status_code == 201
    other = signed_in_client(app, "other", role="uploader")
    assert other.get(f"/api/v2/videos/{video_id}/captions/en").status_code == 200
    assert put(other, video_id, "de", SRT, label="Deutsch").status_code == 403
    assert other.delete(f"/api/v2/videos/{video_id}/captions/en", headers={"If-Match": "*"}).status_code == 403


def test_a_multipart_caption_is_taken_and_a_cookie_caller_needs_the_csrf_token(client, video_id):
    form = {"file": (io.BytesIO(SRT), "talk.srt"), "label": "English"}
    sent = client.put(f"/api/v2/videos/{video_id}/captions/en", data=form, content_type="multipart/form-data")
    assert sent.status_code == 201 and sent.get_json()["label"] == "English"
    cookie_only = client.without_token().put(
        f"/api/v2/videos/{video_id}/captions/de", query_string={"label": "Deutsch"}, data=SRT, content_type="text/plain"
    )
    assert cookie_only.status_code == 400


# --- the web pages ---------------------------------------------------------------


def caption_version(page: str, language: str) -> str:
    """The ETag the page's Replace and Remove forms of a caption name."""
    return html.unescape(found(rf'data-caption="{language}">.*?name="version" type="hidden" value="([^"]+)"', page, re.S).group(1))


def csrf_of(page: str) -> str:
    return found(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_owner_adds_replaces_and_removes_captions_on_the_video_page(app, client, video_id):
    page = client.get(f"/videos/{video_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "language": "fr", "label": "Français", "file": (io.BytesIO(SRT), "talk.srt")}
    added = client.post(f"/videos/{video_id}/captions", data=form, content_type="multipart/form-data")
    assert added.status_code == 303
    page = client.get(f"/videos/{video_id}", headers={"Accept-Language": "fr-CA,en;q=0.5"}).get_data(as_text=True)
    assert "Added the caption “Français” (fr)." in page
    assert f'<track kind="subtitles" srclang="fr" label="Français" src="/videos/{video_id}/captions/fr" default>' in page
    served = client.get(f"/videos/{video_id}/captions/fr")
    assert served.mimetype == "text/vtt" and served.headers["X-Content-Type-Options"] == "nosniff"

    refused = {"csrf_token": csrf_of(page), "language": "de", "label": "Deutsch", "file": (io.BytesIO(b"no cues"), "x.srt")}
    client.post(f"/videos/{video_id}/captions", data=refused, content_type="multipart/form-data")
    page = client.get(f"/videos/{video_id}", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "The caption was not added: Line 1 does not start an SRT cue" in page
    assert 'srclang="de"' not in page and " default>" not in page

    version = caption_version(page, "fr")
    replace = {"csrf_token": csrf_of(page), "version": version, "file": (io.BytesIO(VTT), "new.vtt")}
    client.post(f"/videos/{video_id}/captions/fr", data=replace, content_type="multipart/form-data")
    assert client.get(f"/videos/{video_id}/captions/fr").data == captions.normalise(VTT)
    stale = client.post(f"/videos/{video_id}/captions/fr/remove", data={"csrf_token": csrf_of(page), "version": version})
    assert stale.status_code == 303 and client.get(f"/videos/{video_id}/captions/fr").status_code == 200
    page = client.get(f"/videos/{video_id}").get_data(as_text=True)
    current = caption_version(page, "fr")
    client.post(f"/videos/{video_id}/captions/fr/remove", data={"csrf_token": csrf_of(page), "version": current})
    assert client.get(f"/videos/{video_id}/captions/fr").status_code == 404
    assert stored_objects(app) == []


def test_a_caption_form_without_its_csrf_token_stores_nothing(app, client, video_id):
    form = {"language": "fr", "label": "Français", "file": (io.BytesIO(SRT), "talk.srt")}
    assert client.post(f"/videos/{video_id}/captions", data=form, content_type="multipart/form-data").status_code == 400
    assert stored_objects(app) == []


def test_the_share_page_offers_the_captions_under_its_token(client, video_id):
    assert put(client, video_id, "en", SRT).status_code == 201
    share = client.post(f"/api/v2/videos/{video_id}/shares", json={"days": 1}).get_json()
    visitor = share["url"].split("localhost", 1)[1]
    with client.application.test_client() as anonymous:
        page = anonymous.get(visitor, headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
        src = found(r'<track kind="subtitles" srclang="en" label="English" src="([^"]+)" default>', page).group(1)
        assert src.startswith(visitor + "/captions/")
        assert anonymous.get(src).data == captions.normalise(SRT)


# --- part of the video: trash, purge, verify, move-storage, backup -------------------


def test_captions_stay_in_the_trash_come_back_on_restore_and_go_with_a_purge(app, client, video_id):
    assert put(client, video_id, "en", SRT).status_code == 201
    assert client.delete(f"/api/v2/videos/{video_id}").status_code == 204
    assert client.get(f"/api/v2/videos/{video_id}/captions").status_code == 404
    assert len(stored_objects(app)) == 1
    assert client.post(f"/api/v2/trash/{video_id}/restore").status_code == 200
    assert client.get(f"/api/v2/videos/{video_id}/captions/en").data == captions.normalise(SRT)

    assert client.delete(f"/api/v2/videos/{video_id}").status_code == 204
    assert client.delete(f"/api/v2/trash/{video_id}").status_code == 204
    with app.app_context():
        assert db.session.scalars(db.select(Caption)).all() == []
    assert stored_objects(app) == []


def test_verify_names_a_damaged_caption_and_cleanup_does_not_call_captions_strays(app, client, video_id):
    assert put(client, video_id, "en", SRT).status_code == 201
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["verify"])
    assert checked.exit_code == 0, checked.output
    assert "no row describes" not in runner.invoke(args=["cleanup"]).output
    (key,) = stored_objects(app)
    with app.app_context():
        upload_ = current_storage().create(key)
        upload_.write(b"WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\nchanged\n")
        upload_.commit()
    damaged = runner.invoke(args=["verify"])
    assert damaged.exit_code == 1
    assert f"CAPTION CORRUPT OR MISSING: {video_id} clip.mp4 en" in damaged.output
    assert client.get(f"/api/v2/videos/{video_id}/captions/en").status_code == 409


def test_move_storage_copies_captions_checked_by_their_sha256(app, client, video_id, tmp_path):
    assert put(client, video_id, "en", SRT).status_code == 201
    target = tmp_path / "moved"
    moved = app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert moved.exit_code == 0, moved.output
    (key,) = stored_objects(app)
    assert (target / key).read_bytes() == captions.normalise(SRT)


def test_a_backup_keeps_the_captions_objects_and_rows(app, client, video_id, tmp_path):
    assert put(client, video_id, "en", SRT).status_code == 201
    created = app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "dest")])
    assert created.exit_code == 0, created.output
    assert hashlib.sha256(captions.normalise(SRT)).hexdigest() in {path.name for path in (tmp_path / "dest" / "objects").iterdir()}

"""Captions: SRT and WebVTT checked and kept as WebVTT, their API, and their part in the video's life."""

from __future__ import annotations

import hashlib

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
from tests.helpers import upload

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

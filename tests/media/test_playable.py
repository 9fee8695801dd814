"""Browser-playable copies: which videos get one, remux and transcode for real, playback, and the copy's integrity."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import av
import pytest

from portal.extensions import db
from portal.library import integrity
from portal.library.integrity import CorruptionDetected
from portal.library.models import StorageKind
from portal.library.models import Video
from portal.library.models import storage_key_for
from portal.media.playable import CopyKind
from portal.media.playable import plan_copy
from portal.media.playable import transcoded_size
from portal.storage import storage_of
from tests.helpers import json_body
from tests.helpers import local_storage_of
from tests.helpers import signed_in_client
from tests.helpers import upload


def stored(client, path):
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 201, response.json
    return client.get(response.json["url"]).json


def streams_of(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data), mode="r") as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        assert container.duration is not None
        return {
            "format": container.format.name,
            "video": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "audio": audio.codec_context.name if audio is not None else None,
            "duration": float(container.duration) / av.time_base,
            "video_packets": sum(1 for packet in container.demux(video) if packet.size),
        }


def copy_key(body) -> str:
    return storage_key_for(body["id"], StorageKind.PLAYABLE)


@pytest.mark.parametrize(
    ("content_type", "pixel_format", "kind"),
    [
        ("video/mp4", "yuv420p", CopyKind.NONE),
        ("video/mp4", "yuvj420p", CopyKind.NONE),
        ("video/mp4", None, CopyKind.NONE),
        ("video/x-matroska", "yuv420p", CopyKind.REMUX),
        ("video/mp4", "yuv420p10le", CopyKind.TRANSCODE),
        ("video/mp4", "yuv422p", CopyKind.TRANSCODE),
        ("video/quicktime", "yuv444p", CopyKind.TRANSCODE),
        ("video/x-matroska", "yuv420p10le", CopyKind.TRANSCODE),
    ],
)
def test_only_8_bit_4_2_0_h264_plays_or_is_remuxed(content_type, pixel_format, kind):
    assert plan_copy(content_type, "h264", "aac", pixel_format).kind is kind


@pytest.mark.parametrize(
    ("content_type", "video", "audio", "kind", "container"),
    [
        ("video/mp4", "h264", "aac", CopyKind.NONE, None),
        ("video/quicktime", "h264", None, CopyKind.NONE, None),
        ("video/mp4", "h264", "mp3", CopyKind.NONE, None),
        ("video/webm", "vp9", "opus", CopyKind.NONE, None),
        ("video/webm", "av1", None, CopyKind.NONE, None),
        ("video/x-matroska", "h264", "aac", CopyKind.REMUX, "mp4"),
        ("video/x-flv", "h264", "aac", CopyKind.REMUX, "mp4"),
        ("video/mp2t", "h264", "ac3", CopyKind.REMUX, "mp4"),
        ("video/x-matroska", "vp9", "opus", CopyKind.REMUX, "webm"),
        ("video/mp4", "hevc", "aac", CopyKind.TRANSCODE, "mp4"),
        ("video/x-matroska", "hevc", "opus", CopyKind.TRANSCODE, "mp4"),
        ("video/x-msvideo", "mpeg4", "mp3", CopyKind.TRANSCODE, "mp4"),
        # The video plays: only the audio is encoded again, beside it.
        ("video/webm", "vp9", "aac", CopyKind.REMUX, "webm"),
        ("video/x-matroska", "vp9", "flac", CopyKind.REMUX, "webm"),
        ("video/mp4", "av1", "aac", CopyKind.REMUX, "webm"),
    ],
)
def test_only_what_browsers_cannot_play_gets_a_copy(content_type, video, audio, kind, container):
    plan = plan_copy(content_type, video, audio)
    assert (plan.kind, plan.container) == (kind, container)


@pytest.mark.parametrize(
    ("content_type", "video", "pixel_format", "transfer", "tone_map"),
    [
        ("video/mp4", "hevc", "yuv420p10le", "smpte2084", "smpte2084"),
        ("video/quicktime", "hevc", "yuv420p10le", "arib-std-b67", "arib-std-b67"),
        # HDR in codecs and containers browsers play is tone-mapped too: an SDR screen shows it washed out.
        ("video/webm", "vp9", "yuv420p10le", "smpte2084", "smpte2084"),
        ("video/mp4", "h264", "yuv420p", "arib-std-b67", "arib-std-b67"),
        # SDR keeps its plan: 10-bit BT.2020 without PQ or HLG is not HDR.
        ("video/mp4", "hevc", "yuv420p10le", "bt2020-10", None),
        ("video/webm", "vp9", "yuv420p", "bt709", None),
    ],
)
def test_hdr_gets_a_tone_mapped_transcode(content_type, video, pixel_format, transfer, tone_map):
    plan = plan_copy(content_type, video, None, pixel_format, transfer)
    assert plan.tone_map == tone_map
    if tone_map:
        assert (plan.kind, plan.container) == (CopyKind.TRANSCODE, "mp4")
    else:
        assert plan == plan_copy(content_type, video, None, pixel_format)


def test_a_transcode_keeps_the_aspect_within_1080_lines_with_even_sides():
    assert transcoded_size(3840, 2160) == (1920, 1080)
    assert transcoded_size(1440, 1080) == (1440, 1080)
    assert transcoded_size(321, 241) == (320, 240)
    assert transcoded_size(1000, 3000) == (360, 1080)


def test_a_playable_original_is_its_own_playback(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_aac"])
    assert body["processing"]["state"] == "done"
    assert body["playback"] == {
        "url": body["url"] + "/playback",
        "content_type": "video/mp4",
        "source": "original",
        "sha256": body["sha256"],
    }
    played = client.get(body["playback"]["url"])
    assert played.status_code == 200 and played.data == clips["h264_aac"].read_bytes()
    with immediate_app.app_context():
        assert storage_of(immediate_app).size(copy_key(body)) is None


def test_h264_in_mkv_is_remuxed_without_encoding_again(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    assert body["processing"] == {"state": "done", "error": None}
    assert body["playback"]["source"] == "copy" and body["playback"]["content_type"] == "video/mp4"
    copy = client.get(body["playback"]["url"])
    assert copy.status_code == 200
    assert hashlib.sha256(copy.data).hexdigest() == body["playback"]["sha256"]
    assert copy.headers["ETag"] == f'"{body["playback"]["sha256"]}"'
    digest = base64.b64encode(hashlib.sha256(copy.data).digest()).decode()
    assert copy.headers["Repr-Digest"] == f"sha-256=:{digest}:"
    assert copy.headers["Content-Disposition"].startswith('inline; filename="h264.mp4"')
    original, made = streams_of(clips["h264_mkv"].read_bytes()), streams_of(copy.data)
    # Every packet copied, none encoded again: the same stream, in MP4, with its index first.
    assert made["format"].startswith("mov,mp4") and made["video"] == "h264" and made["audio"] == "aac"
    assert made["video_packets"] == original["video_packets"]
    assert copy.data.index(b"moov") < copy.data.index(b"mdat")
    # The original is untouched, and still what /content and Download give.
    assert client.get(body["content_url"]).data == clips["h264_mkv"].read_bytes()
    assert client.get(f"/videos/{body['id']}/download").data == clips["h264_mkv"].read_bytes()
    assert client.get(f"/videos/{body['id']}/stream").data == copy.data


@pytest.mark.parametrize("clip", ["hevc_mkv", "mpeg4_avi"])
def test_other_codecs_are_transcoded_to_h264_and_aac_in_mp4(immediate_app, clips, clip):
    client = signed_in_client(immediate_app)
    body = stored(client, clips[clip])
    assert body["processing"] == {"state": "done", "error": None}
    assert body["playback"]["source"] == "copy"
    copy = client.get(body["playback"]["url"])
    made = streams_of(copy.data)
    assert (made["video"], made["pix_fmt"], made["size"], made["audio"]) == ("h264", "yuv420p", (320, 240), "aac")
    assert made["duration"] == pytest.approx(body["media"]["duration"], abs=0.2)
    assert copy.data.index(b"moov") < copy.data.index(b"mdat")
    ranged = client.get(body["playback"]["url"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206 and ranged.data == copy.data[10:20]


def test_playback_is_not_ready_while_the_copy_is_missing(app, clips):
    """Without a consumer the job never runs: not probed yet, the original is played as it is; once probed, not."""
    client = signed_in_client(app)
    body = stored(client, clips["hevc_mkv"])
    assert body["playback"]["source"] == "original"
    with app.app_context():
        db.session.execute(db.update(Video).values(container="matroska", video_codec="hevc", audio_codec="opus"))
        db.session.commit()
    body = json_body(client.get(body["url"]))
    assert body["playback"] is None
    refused = client.get(body["url"] + "/playback")
    assert refused.status_code == 404 and json_body(refused)["error"]["code"] == "playback_not_ready"
    # The page's player still gets the original meanwhile, and Download always does.
    assert client.get(f"/videos/{body['id']}/stream").data == clips["hevc_mkv"].read_bytes()


def test_a_page_waiting_for_the_copy_shows_a_notice_until_the_player_can_play(app, clips):
    """Probed and needing a copy: the video's page and its share link's page hold the player back and say why."""
    client = signed_in_client(app)
    body = stored(client, clips["hevc_mkv"])
    token = json_body(client.post(f"/api/v1/files/{body['id']}/shares", json={}))["url"].rsplit("/", 1)[1]
    pages = (f"/videos/{body['id']}", f"/s/{token}")
    # Not probed yet: played as it is, since most uploads play.
    for page in pages:
        assert client.get(page + "/playback").get_json() == {"ready": True, "processing": "queued"}
        assert "data-player-pending" not in client.get(page).get_data(as_text=True)
    with app.app_context():
        db.session.execute(db.update(Video).values(container="matroska", video_codec="hevc", audio_codec="opus"))
        db.session.commit()
    for page in pages:
        state = client.get(page + "/playback")
        assert state.get_json() == {"ready": False, "processing": "queued"}
        assert state.headers["Cache-Control"] == "private, no-store"
        html = client.get(page).get_data(as_text=True)
        assert f'data-state-url="{page}/playback"' in html and "a copy they can play is being made" in html
        # The player waits inside the <template> the page's script puts in once the copy is ready.
        assert html.count("<video") == 1 and html.index("<template data-player-template>") < html.index("<video")
    with app.app_context():
        db.session.execute(db.update(Video).values(processing_state="failed", processing_error="could not decode"))
        db.session.commit()
    for page in pages:
        assert client.get(page + "/playback").get_json() == {"ready": False, "processing": "failed"}
        html = client.get(page).get_data(as_text=True)
        assert "<video" not in html and "data-player-template" not in html
        assert "the copy they could play was not made" in html
        assert "data-player-failed hidden" not in html


def test_a_video_too_large_to_transcode_fails_and_says_why(immediate_app, clips):
    immediate_app.config["MEDIA_MAX_PIXELS"] = 320 * 240 - 1
    client = signed_in_client(immediate_app)
    body = stored(client, clips["mpeg4_avi"])
    assert body["processing"]["state"] == "failed"
    assert "320x240" in body["processing"]["error"] and "PORTAL_MEDIA_MAX_PIXELS" in body["processing"]["error"]
    assert body["playback"] is None and body["media"]["video_codec"] == "mpeg4"
    assert client.get(body["content_url"]).data == clips["mpeg4_avi"].read_bytes()


@pytest.mark.parametrize("clip", ["mpeg4_avi", "h264_aac"])
def test_a_picture_over_the_pixel_cap_gets_no_poster_nor_copy_and_fails_naming_its_size_and_the_setting(
    immediate_app, clips, clip
):
    """The cap is read from the stream's headers: a 320x240 clip over a cap of 100x100 is never decoded.

    Both a clip that would be transcoded (MPEG-4 in AVI) and one that plays as
    it is (H.264 in MP4) fail at their facts: the headers' facts are kept, no
    poster or copy is stored, and the original is delivered as it was sent.
    """
    immediate_app.config["MEDIA_MAX_PIXELS"] = 100 * 100
    client = signed_in_client(immediate_app)
    body = stored(client, clips[clip])
    assert body["processing"]["state"] == "failed"
    error = body["processing"]["error"]
    assert "The video is 320x240, more pixels than this portal decodes (PORTAL_MEDIA_MAX_PIXELS = 10000)" in error
    assert "download the original" in error
    assert (body["media"]["width"], body["media"]["height"]) == (320, 240) and body["media"]["video_codec"]
    assert client.get(f"/api/v1/files/{body['id']}/poster").status_code == 404
    with immediate_app.app_context():
        storage = storage_of(immediate_app)
        for kind in (StorageKind.POSTER, StorageKind.PLAYABLE):
            assert storage.size(storage_key_for(body["id"], kind)) is None, f"a {kind.value} was stored"
    assert client.get(body["content_url"]).data == clips[clip].read_bytes()
    page = client.get(f"/videos/{body['id']}").get_data(as_text=True)
    assert "PORTAL_MEDIA_MAX_PIXELS = 10000" in page


def test_a_damaged_copy_is_never_delivered_whole_and_is_made_again(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    good = client.get(body["playback"]["url"]).data
    with immediate_app.app_context():
        path = local_storage_of(immediate_app).path(copy_key(body))
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptionDetected):
        # The stream stops before its last chunk: the test client raises what a server cuts short.
        client.get(body["playback"]["url"])
    # The damaged copy was dropped and made again from the original (at once here).
    after = json_body(client.get(body["url"]))
    assert after["processing"]["state"] == "done" and after["status"] == "ok"
    assert client.get(after["playback"]["url"]).data == good


def test_verify_checks_the_copy_too(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    with immediate_app.app_context():
        path = local_storage_of(immediate_app).path(copy_key(body))
    path.unlink()
    checked = json_body(client.post(body["url"] + "/verify"))
    # The original is fine; the lost copy was found and made again.
    assert checked["status"] == "ok"
    assert path.exists() and checked["playback"]["source"] == "copy"


def test_purging_a_video_removes_its_copy_and_the_trash_keeps_it_until_then(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    with immediate_app.app_context():
        storage = storage_of(immediate_app)
        assert storage.size(copy_key(body)) is not None
        assert client.delete(body["url"]).status_code == 204
        assert storage.size(copy_key(body)) is not None
        assert client.post(f"/api/v1/trash/{body['id']}/restore").status_code == 200
        assert client.get(body["playback"]["url"]).status_code == 200
        assert client.delete(body["url"]).status_code == 204
        assert client.delete(f"/api/v1/trash/{body['id']}").status_code == 204
        assert storage.size(copy_key(body)) is None


def test_the_page_says_it_plays_a_copy(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["mpeg4_avi"])
    page = client.get(f"/videos/{body['id']}").get_data(as_text=True)
    assert "browser-playable copy (MP4" in page and "Download gives the original" in page


def test_move_storage_carries_the_copy_and_cleanup_knows_it(immediate_app, clips, tmp_path):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    copy = client.get(body["playback"]["url"]).data
    with immediate_app.app_context():
        assert copy_key(body) not in integrity.stray_keys()
    target = tmp_path / "moved"
    result = immediate_app.test_cli_runner().invoke(args=["move-storage", "--to", f"file://{target}"])
    assert result.exit_code == 0, result.output
    assert (target / copy_key(body)).read_bytes() == copy


def test_a_copy_of_the_wrong_size_is_refused_saying_it_is_made_again(immediate_app, clips):
    client = signed_in_client(immediate_app)
    body = stored(client, clips["h264_mkv"])
    good = client.get(body["playback"]["url"]).data
    with immediate_app.app_context():
        path = local_storage_of(immediate_app).path(copy_key(body))
    path.write_bytes(good[:-10])
    refused = client.get(body["playback"]["url"])
    assert refused.status_code == 409 and json_body(refused)["error"]["code"] == "file_unavailable"
    assert "being made again from the original" in json_body(refused)["error"]["message"]
    assert json_body(client.get(body["url"]))["status"] == "ok"
    assert client.get(body["playback"]["url"]).data == good

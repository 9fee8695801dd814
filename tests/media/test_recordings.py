"""Real recordings play: each clip of the corpus gets the copy it needs, and the copy holds every frame of it."""

from __future__ import annotations

import io
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import jsonschema
import pytest

from portal.api.models import Media
from portal.media.playable import CopyKind
from portal.media.playable import CopyPlan
from portal.media.playable import make_copy
from portal.media.poster import make_poster
from portal.media.probe import probe
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path), mode="r") as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def frames_and_duration(data: bytes) -> tuple[int, float]:
    """How many pictures FFmpeg decodes from ``data``, and the container's duration in seconds."""
    with av.open(io.BytesIO(data), mode="r") as container:
        assert container.duration is not None
        return sum(1 for _ in container.decode(video=0)), float(container.duration) / av.time_base


def test_a_remux_of_h264_with_b_frames_keeps_every_packet_and_frame(recordings, tmp_path):
    source = recordings["bframes_mkv"]
    target = tmp_path / "copy.mp4"
    with source.open("rb") as original:
        make_copy(original, CopyPlan(CopyKind.REMUX, "mp4", "video/mp4"), target)
    assert video_packets(target) == video_packets(source)
    frames, duration = frames_and_duration(target.read_bytes())
    source_frames, source_duration = frames_and_duration(source.read_bytes())
    assert frames == source_frames == 50
    assert duration == pytest.approx(source_duration, abs=0.1)


def test_a_transcode_of_mpeg_ps_lasts_as_long_as_its_source(recordings, tmp_path):
    source = recordings["mpeg1_mpg"]
    target = tmp_path / "copy.mp4"
    with source.open("rb") as original:
        make_copy(original, CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4"), target)
    frames, duration = frames_and_duration(target.read_bytes())
    source_frames, source_duration = frames_and_duration(source.read_bytes())
    assert frames == source_frames
    assert duration == pytest.approx(source_duration, abs=0.1)


def test_theora_with_opus_in_ogg_is_taken_and_gets_a_copy_that_plays(immediate_app, recordings):
    client = signed_in_client(immediate_app)
    clip = recordings["theora_ogv"]
    response = upload(client, clip.read_bytes(), clip.name)
    assert response.status_code == 201, response.json
    body = json_body(client.get(json_body(response)["url"]))
    assert body["processing"] == {"state": "done", "error": None}
    assert (body["media"]["container"], body["media"]["video_codec"], body["media"]["audio_codec"]) == ("ogg", "theora", "opus")
    assert body["playback"]["source"] == "copy" and body["playback"]["content_type"] == "video/mp4"
    frames, duration = frames_and_duration(client.get(body["playback"]["url"]).data)
    assert frames == 50
    assert duration == pytest.approx(body["media"]["duration"], abs=0.1)


@pytest.mark.parametrize(("clip", "pixel_format"), [("high10_mp4", "yuv420p10le"), ("yuv422_mp4", "yuv422p"), ("yuv444_mp4", "yuv444p")])
def test_h264_only_chromium_decodes_is_transcoded_to_8_bit_4_2_0(immediate_app, recordings, clip, pixel_format):
    client = signed_in_client(immediate_app)
    path = recordings[clip]
    with av.open(str(path), mode="r") as original:
        assert original.streams.video[0].codec_context.pix_fmt == pixel_format
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 201, response.json
    body = json_body(client.get(json_body(response)["url"]))
    assert body["processing"] == {"state": "done", "error": None}
    assert body["playback"]["source"] == "copy" and body["playback"]["content_type"] == "video/mp4"
    copy = client.get(body["playback"]["url"]).data
    with av.open(io.BytesIO(copy), mode="r") as made:
        context = made.streams.video[0].codec_context
        assert (context.name, context.pix_fmt, context.width, context.height) == ("h264", "yuv420p", 320, 240)
    assert frames_and_duration(copy)[0] == 50


@pytest.mark.parametrize(("clip", "shown"), [("anamorphic_mkv", (512, 288)), ("rotated_mp4", (240, 320)), ("bframes_mkv", (320, 240))])
def test_the_probe_gives_the_size_a_player_shows(recordings, clip, shown):
    path = recordings[clip]
    with path.open("rb") as raw:
        facts = probe(raw, "video/x-matroska" if path.suffix == ".mkv" else "video/mp4")
    assert (facts.width, facts.height) == shown


def grey_thumbnail(frame: av.VideoFrame) -> bytes:
    """The picture as 24x32 grey pixels: enough to tell which way up it is."""
    grey = frame.reformat(width=24, height=32, format="gray")
    plane = grey.planes[0]
    return b"".join(bytes(plane)[row * plane.line_size : row * plane.line_size + 24] for row in range(32))


def poster_frame(jpeg: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(jpeg), mode="r") as container:
        return next(container.decode(video=0))


def ffmpeg_thumbnail(path: Path, moment: float, *turn: str) -> bytes:
    """What ffmpeg shows of ``path`` at ``moment`` (turned upright by its display matrix unless ``turn`` says otherwise)."""
    return subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", *turn[:1], "-ss", str(moment), "-i", str(path), "-frames:v", "1",
         "-vf", ",".join([*turn[1:], "scale=24:32"]), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True,
    ).stdout


def difference(one: bytes, other: bytes) -> float:
    return sum(abs(a - b) for a, b in zip(one, other, strict=True)) / len(one)


def test_a_poster_passes_over_a_black_first_second(recordings):
    clip = recordings["black_start_mp4"]
    poster = make_poster(lambda: clip.open("rb"), duration=2.0)
    assert poster.time is not None and 1.0 <= poster.time <= 1.2
    thumbnail = grey_thumbnail(poster_frame(poster.jpeg))
    assert sum(thumbnail) / len(thumbnail) > 60, "the poster shows the test pattern, not black"


def test_a_poster_of_a_turned_clip_is_upright(recordings):
    clip = recordings["rotated_mp4"]
    poster = make_poster(lambda: clip.open("rb"), duration=2.0)
    assert (poster.width, poster.height) == (240, 320)
    assert poster.time is not None
    shown = grey_thumbnail(poster_frame(poster.jpeg))
    upright = ffmpeg_thumbnail(clip, poster.time)
    turned_the_wrong_way = ffmpeg_thumbnail(clip, poster.time, "-noautorotate", "transpose=clock")
    assert difference(shown, upright) < difference(shown, turned_the_wrong_way) / 3


def test_a_poster_of_an_anamorphic_clip_has_the_shown_aspect(recordings):
    clip = recordings["anamorphic_mkv"]
    poster = make_poster(lambda: clip.open("rb"), duration=2.0)
    assert (poster.width, poster.height) == (512, 288)


def test_every_audio_track_is_listed_with_its_language(immediate_app, recordings):
    client = signed_in_client(immediate_app)
    clip = recordings["anamorphic_mkv"]
    response = upload(client, clip.read_bytes(), clip.name)
    assert response.status_code == 201, response.json
    media = json_body(client.get(json_body(response)["url"]))["media"]
    assert media["audio_codec"] == "aac"
    assert media["audio_tracks"] == [
        {"codec": "aac", "language": "eng", "channels": 1},
        {"codec": "aac", "language": "fra", "channels": 1},
    ]
    assert (media["width"], media["height"]) == (512, 288)
    # v1 is a contract: the answer, with its new field, is what the document says.
    jsonschema.validate(media, Media.model_json_schema())


def test_a_transcode_of_an_anamorphic_clip_is_shown_at_its_aspect(recordings, tmp_path):
    target = tmp_path / "copy.mp4"
    with recordings["anamorphic_mkv"].open("rb") as original:
        make_copy(original, CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4"), target)
    with av.open(str(target), mode="r") as made:
        assert made.streams.video[0].display_aspect_ratio == Fraction(16, 9)


def test_a_transcode_of_a_turned_clip_is_turned_the_same(recordings, tmp_path):
    target = tmp_path / "copy.mp4"
    with recordings["rotated_hevc_mp4"].open("rb") as original:
        make_copy(original, CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4"), target)
    with av.open(str(target), mode="r") as made:
        assert next(made.decode(video=0)).rotation == 90
    assert frames_and_duration(target.read_bytes())[0] == 50

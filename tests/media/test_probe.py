"""Probing real clips: the facts of each kind, a bounded read, and a clear refusal of what cannot be decoded."""

from __future__ import annotations

import io
from typing import BinaryIO
from typing import cast

import pytest

from portal.media.probe import CountingReader
from portal.media.probe import MediaUnreadable
from portal.media.probe import probe


@pytest.mark.parametrize(
    "kind, content_type, expected",
    [
        ("h264_aac", "video/mp4", {"video_codec": "h264", "audio_codec": "aac", "container": "mp4"}),
        ("vp9_opus", "video/webm", {"video_codec": "vp9", "audio_codec": "opus", "container": "webm"}),
        ("no_audio", "video/mp4", {"video_codec": "h264", "audio_codec": None, "container": "mp4"}),
    ],
)
def test_probe_reads_the_facts_of_each_kind_of_clip(clips, kind, content_type, expected):
    data = clips[kind].read_bytes()
    facts = probe(io.BytesIO(data), content_type)
    assert {key: getattr(facts, key) for key in expected} == expected
    assert facts.duration == pytest.approx(2.0, abs=0.05)
    assert (facts.width, facts.height) == (320, 240)
    assert facts.frame_rate == pytest.approx(25.0)
    # The whole file's rate: its bits over its duration, give or take the container's own rounding.
    assert facts.duration is not None
    assert facts.bit_rate == pytest.approx(len(data) * 8 / facts.duration, rel=0.05)


def test_probe_reads_a_small_part_of_a_file_whose_index_is_at_the_end(clips):
    data = clips["moov_at_end"].read_bytes()
    assert data.index(b"moov") > data.index(b"mdat"), "the clip must have its index after the samples"
    counted = CountingReader(io.BytesIO(data), limit=len(data))
    facts = probe(cast(BinaryIO, counted), "video/mp4")  # a raw reader: read, seek and tell are all probe uses
    assert facts.duration == pytest.approx(4.0, abs=0.05)
    assert (facts.width, facts.height) == (640, 360)
    assert counted.bytes_read < len(data) // 4, f"read {counted.bytes_read} of {len(data)} bytes"


def test_probe_refuses_a_stream_that_cannot_be_decoded_and_says_so(clips):
    with pytest.raises(MediaUnreadable) as refused:
        probe(io.BytesIO(clips["corrupt"].read_bytes()), "video/mp4")
    assert "No picture of the h264 video stream could be decoded" in refused.value.message


def test_probe_refuses_garbage_behind_valid_magic_bytes(clips):
    with pytest.raises(MediaUnreadable) as refused:
        probe(io.BytesIO(clips["garbage"].read_bytes()), "video/mp4")
    assert "cannot be read as a video" in refused.value.message


def test_probe_refuses_a_file_without_a_video_stream(tmp_path):
    from tests.media.conftest import make_clip

    audio_only = make_clip(tmp_path / "tone.mp4", "-map", "1:a", "-c:a", "aac")
    with pytest.raises(MediaUnreadable, match="no video stream"):
        probe(io.BytesIO(audio_only.read_bytes()), "video/mp4")

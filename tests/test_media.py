"""Recognising video containers by their first bytes."""

from __future__ import annotations

import pytest

from portal.library.formats import VIDEO_TYPES
from portal.library.formats import detect_video_type
from tests.support import minimal_mp4


def ftyp(brand: bytes) -> bytes:
    return (20).to_bytes(4, "big") + b"ftyp" + brand + bytes(8)


def ts_packets(offset: int = 0, stride: int = 188) -> bytes:
    data = bytearray(offset + 3 * stride)
    for index in range(3):
        data[offset + index * stride] = 0x47
    return bytes(data)


@pytest.mark.parametrize(
    "head, expected",
    [
        (minimal_mp4(bytes(range(256)) * 8), "video/mp4"),
        (ftyp(b"qt  "), "video/quicktime"),
        (ftyp(b"M4V "), "video/x-m4v"),
        (ftyp(b"3gp5"), "video/3gpp"),
        (ftyp(b"3g2a"), "video/3gpp2"),
        ((8).to_bytes(4, "big") + b"moov" + bytes(20), "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "video/x-msvideo"),
        (ts_packets(), "video/mp2t"),
        (ts_packets(offset=4, stride=192), "video/mp2t"),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00", "video/mpeg"),
        (b"\x00\x00\x01\xb3\x14\x00\xf0\x13", "video/mpeg"),
        (b"OggS\x00\x02" + bytes(22) + b"\x80theora", "video/ogg"),
        # Theora's first page, then Opus's: a recording with sound, as ffmpeg writes it.
        (b"OggS\x00\x02" + bytes(22) + b"\x80theora" + bytes(40) + b"OggS\x00\x02" + bytes(22) + b"OpusHead", "video/ogg"),
        (b"OggS\x00\x02" + bytes(22) + b"\x01vorbis" + bytes(40) + b"OggS\x00\x02" + bytes(22) + b"\x80theora", "video/ogg"),
        (b"FLV\x01\x05\x00\x00\x00\x09", "video/x-flv"),
        (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(8), "video/x-ms-asf"),
    ],
)
def test_recognises_video_containers(head, expected):
    assert detect_video_type(head) == expected
    assert expected in VIDEO_TYPES


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"plain text pretending to be a video",
        b"<!doctype html><script>alert(1)</script>",
        b"\x7fELF\x02\x01\x01\x00",
        b"MZ\x90\x00\x03\x00",
        b"\x89PNG\r\n\x1a\n",
        b"%PDF-1.7",
        ftyp(b"M4A "),
        ftyp(b"heic"),
        b"OggS\x00\x02" + bytes(22) + b"\x01vorbis",
        b"RIFF\x00\x10\x00\x00WAVEfmt ",
        b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x",
        minimal_mp4()[:10],
        b"\x47" + bytes(200),
    ],
)
def test_rejects_everything_else(head):
    assert detect_video_type(head) is None


def test_real_ffmpeg_files_are_recognised(real_mp4, real_webm):
    assert detect_video_type(real_mp4[:512]) == "video/mp4"
    assert detect_video_type(real_webm[:512]) == "video/webm"

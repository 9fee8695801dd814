"""Recognise video containers from their first bytes; which of them browsers play as they are.

The client's file extension and Content-Type are claims; the bytes are facts.
The content type a file is stored (and later served) with always comes from
the table below, so a stored file can never be served as HTML or script.

What browsers play (:func:`plays_in_browsers`) is a fact of a video the
library needs (a player waits for a copy, or not) and the media work acts on
(:func:`portal.media.playable.plan_copy` makes a copy of what does not): it
lives here, below both, so that the library asks its own rows.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How many leading bytes :func:`detect_video_type` needs to decide.
HEAD_SIZE = 512

#: Video codecs every current browser plays, in the containers that carry them there.
MP4_VIDEO = frozenset({"h264"})
#: The pixel formats of H.264 that browsers outside Chromium decode: 8-bit 4:2:0 (``yuvj420p`` is its
#: full-range variant, as phones and webcams write it). High 10, 4:2:2 and 4:4:4 are transcoded.
MP4_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
MP4_AUDIO = frozenset({"aac", "mp3"})
WEBM_VIDEO = frozenset({"vp8", "vp9", "av1"})
WEBM_AUDIO = frozenset({"opus", "vorbis"})
#: Upload types browsers play those codecs in.
MP4_TYPES = frozenset({"video/mp4", "video/quicktime"})
WEBM_TYPES = frozenset({"video/webm"})
#: FFmpeg's names of the transfer functions of HDR video.
PQ = "smpte2084"
HLG = "arib-std-b67"
HDR_TRANSFERS = frozenset({PQ, HLG})


def plays_in_browsers(
    content_type: str,
    video_codec: str | None,
    audio_codec: str | None,
    pixel_format: str | None = None,
    color_transfer: str | None = None,
) -> bool:
    """Whether every current browser plays a video with these facts as it is, without a copy.

    A ``pixel_format`` of None (a video probed before the portal kept it) is taken for one that plays,
    a ``color_transfer`` of None for SDR. HDR video never does: a browser on an SDR screen shows PQ or
    HLG washed out or clipped (each browser and system in its own way).
    """
    if color_transfer in HDR_TRANSFERS:
        return False
    if video_codec in MP4_VIDEO:
        return (
            pixel_format in MP4_PIXEL_FORMATS | {None}
            and content_type in MP4_TYPES
            and audio_codec in MP4_AUDIO | {None}
        )
    if video_codec in WEBM_VIDEO:
        return content_type in WEBM_TYPES and audio_codec in WEBM_AUDIO | {None}
    return False


@dataclass(frozen=True)
class VideoFormat:
    """A container the portal recognises: the name people know, its MIME type, its usual extension."""

    name: str
    content_type: str
    extension: str


#: Every container the portal takes, in the order they are listed to users. The
#: accepted-formats message, the picker hint and the API's documentation all come from here.
FORMATS = (
    VideoFormat("MP4", "video/mp4", ".mp4"),
    VideoFormat("M4V", "video/x-m4v", ".m4v"),
    VideoFormat("MOV", "video/quicktime", ".mov"),
    VideoFormat("3GP", "video/3gpp", ".3gp"),
    VideoFormat("3G2", "video/3gpp2", ".3g2"),
    VideoFormat("WebM", "video/webm", ".webm"),
    VideoFormat("Matroska (MKV)", "video/x-matroska", ".mkv"),
    VideoFormat("AVI", "video/x-msvideo", ".avi"),
    VideoFormat("MPEG-TS", "video/mp2t", ".ts"),
    VideoFormat("MPEG-PS", "video/mpeg", ".mpg"),
    VideoFormat("Ogg", "video/ogg", ".ogv"),
    VideoFormat("FLV", "video/x-flv", ".flv"),
    VideoFormat("ASF/WMV", "video/x-ms-asf", ".wmv"),
)

ACCEPTED_FORMATS = ", ".join(video_format.name for video_format in FORMATS)
VIDEO_TYPES = frozenset(video_format.content_type for video_format in FORMATS)
EXTENSIONS = {video_format.content_type: video_format.extension for video_format in FORMATS}

# ISO BMFF brands that are audio or still images, not video.
_NON_VIDEO_BRANDS = {
    b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ",
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
    b"crx ", b"jp2 ", b"jpx ", b"jpm ",
}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_OGG_AUDIO_CODECS = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex   ")
#: The first bytes of an Ogg video stream's first packet: Theora, VP8, Dirac, OGM's video.
_OGG_VIDEO_CODECS = (b"\x80theora", b"OVP80", b"BBCD\x00", b"\x01video")
_TS_PACKET = 188


def detect_video_type(head: bytes) -> str | None:
    """Return the MIME type of the video container starting with ``head``, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _iso_bmff_type(head[8:12])
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _ebml_type(head)
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"FLV\x01"):
        return "video/x-flv"
    if head.startswith(_ASF_GUID):
        return "video/x-ms-asf"
    if head.startswith(b"OggS"):
        return _ogg_type(head[:HEAD_SIZE])
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return "video/mpeg"
    if _is_transport_stream(head):
        return "video/mp2t"
    return None


def _iso_bmff_type(brand: bytes) -> str | None:
    if brand in _NON_VIDEO_BRANDS:
        return None
    if brand == b"qt  ":
        return "video/quicktime"
    if brand == b"M4V " or brand == b"M4VH" or brand == b"M4VP":
        return "video/x-m4v"
    if brand.startswith(b"3g2"):
        return "video/3gpp2"
    if brand.startswith(b"3gp") or brand.startswith(b"3gg"):
        return "video/3gpp"
    return "video/mp4"


def _ebml_type(head: bytes) -> str | None:
    if b"webm" in head[:64]:
        return "video/webm"
    if b"matroska" in head[:64]:
        return "video/x-matroska"
    return None


def _ogg_type(head: bytes) -> str | None:
    """Every stream of an Ogg file starts on a page of its own before any data: a video one among them
    makes it a video (Theora with Opus or Vorbis, as recorders write it); audio streams alone make it sound."""
    if any(codec in head for codec in _OGG_VIDEO_CODECS):
        return "video/ogg"
    return None if any(codec in head for codec in _OGG_AUDIO_CODECS) else "video/ogg"


def _is_transport_stream(head: bytes) -> bool:
    """MPEG-TS (188-byte packets) or M2TS (192 bytes: a 4-byte timestamp, then a packet)."""
    for offset, stride in ((0, _TS_PACKET), (4, _TS_PACKET + 4)):
        if len(head) >= offset + 2 * stride + 1 and all(
            head[offset + i * stride] == 0x47 for i in range(3)
        ):
            return True
    return False

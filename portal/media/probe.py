"""What a video file is: duration, picture size, codecs, rates and container, read with PyAV.

PyAV's wheels bundle FFmpeg, so probing needs no system package. The file is
read through the storage interface (a local file or an S3 object), as a
seekable Python file object: FFmpeg reads the container's headers and index
(at the start or, for an MP4 written without ``faststart``, at the end) and a
few packets, never the whole file. :class:`CountingReader` refuses to read
more than :data:`READ_LIMIT`, so a hostile file cannot make a probe read for
ever, and a video frame is decoded to prove the streams are not garbage.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from typing import BinaryIO

import av
import av.error
from av.video.reformatter import ColorPrimaries
from av.video.reformatter import ColorTrc

from ..library.formats import EXTENSIONS
from .subtitles import TEXT_CODECS

#: The most bytes one probe reads: far more than any container's headers and index need.
READ_LIMIT = 32 * 1024 * 1024
#: Video packets tried before deciding no frame can be decoded (a few seconds of video).
DECODE_ATTEMPTS = 300


class MediaUnreadable(Exception):
    """The file's streams cannot be read: ``message`` says why, for the video's owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PictureTooLarge(MediaUnreadable):
    """More pixels than the portal decodes, as the stream's headers say: no frame was decoded.

    ``facts`` are what the headers tell (the size, codecs, duration), so that the
    video's page can still say what it is; the original stays downloadable.
    """

    def __init__(self, facts: MediaFacts, limit: int) -> None:
        super().__init__(
            f"The video is {facts.width}x{facts.height}, more pixels than this portal decodes "
            f"(PORTAL_MEDIA_MAX_PIXELS = {limit}), so it has no poster and no playable copy: "
            "download the original to watch it."
        )
        self.facts = facts


@dataclass(frozen=True)
class AudioTrack:
    codec: str
    #: The track's ISO 639-2 tag (``eng``, ``fra``); None when the file does not say (or says ``und``).
    language: str | None
    channels: int | None


@dataclass(frozen=True)
class SubtitleTrack:
    """A subtitle stream: text ones become captions (:mod:`.subtitles`); picture ones (PGS, DVB, DVD) are only listed."""

    codec: str
    #: As :attr:`AudioTrack.language`.
    language: str | None
    title: str | None
    #: Text, so converted into a caption.
    text: bool


@dataclass(frozen=True)
class MediaFacts:
    duration: float | None
    width: int
    height: int
    video_codec: str
    pixel_format: str | None
    audio_codec: str | None
    audio_tracks: list[AudioTrack]
    subtitle_tracks: list[SubtitleTrack]
    frame_rate: float | None
    bit_rate: int | None
    container: str
    #: How the pictures' values map to light and colour, in ffprobe's words: the transfer function
    #: (``bt709``; ``smpte2084`` is PQ and ``arib-std-b67`` HLG, the two of HDR video), the primaries
    #: (``bt709``, ``bt2020``) and the matrix (``bt709``, ``bt2020nc``); None where the file does not say.
    color_transfer: str | None = None
    color_primaries: str | None = None
    color_space: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReadLimitExceeded(OSError):
    """Raised inside FFmpeg's reads once a probe has read :data:`READ_LIMIT` bytes."""


class CountingReader(io.RawIOBase):
    """A seekable reader over ``raw`` that counts the bytes read and stops at ``limit``."""

    def __init__(self, raw: BinaryIO, limit: int = READ_LIMIT) -> None:
        super().__init__()
        self.raw = raw
        self.limit = limit
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def read(self, size: int = -1) -> bytes:
        room = self.limit - self.bytes_read
        if room <= 0:
            raise ReadLimitExceeded(f"read more than {self.limit} bytes")
        data = self.raw.read(room if size is None or size < 0 else min(size, room))
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def probe(raw: BinaryIO, content_type: str, max_pixels: int | None = None) -> MediaFacts:
    """The facts of the video readable from ``raw`` (read at most :data:`READ_LIMIT` bytes of it).

    Raises :class:`MediaUnreadable` when there are none, and :class:`PictureTooLarge`
    when the headers give a picture of more than ``max_pixels``: decoding one frame
    of a 12000x12000 MJPEG took a worker from 85 to 323 MB.

    ``content_type`` is the one the upload was recognised as; it picks the
    container's name among the demuxer's aliases (``mov,mp4,m4a,...``).
    """
    reader = CountingReader(raw)
    try:
        with av.open(reader, mode="r") as container:
            video = container.streams.video[0] if container.streams.video else None
            if video is None:
                raise MediaUnreadable("The file has no video stream: it may hold only audio or data.")
            coded_pixels = int(video.codec_context.width) * int(video.codec_context.height)
            too_large = max_pixels is not None and coded_pixels > max_pixels
            picture = None if too_large else _decode_one_frame(container, video)
            audio = main_audio(container)
            width, height = displayed_size(video, picture)
            facts = MediaFacts(
                duration=_duration(container, video),
                width=width,
                height=height,
                video_codec=codec_name(video),
                pixel_format=video.codec_context.pix_fmt,
                audio_codec=codec_name(audio) if audio is not None else None,
                audio_tracks=[_audio_track(stream) for stream in container.streams.audio],
                subtitle_tracks=[_subtitle_track(stream) for stream in container.streams.subtitles],
                frame_rate=float(video.average_rate or video.guessed_rate or 0) or None,
                bit_rate=int(container.bit_rate) if container.bit_rate else None,
                container=_container_name(container.format.name, content_type),
                **color_facts(video.codec_context),
            )
            if too_large:
                raise PictureTooLarge(facts, int(max_pixels or 0))
            return facts
    except ReadLimitExceeded:
        raise MediaUnreadable(
            f"The file's headers could not be read within the first {READ_LIMIT // (1024 * 1024)} MiB read: "
            "it is damaged or not a video file."
        ) from None
    except av.error.FFmpegError as error:
        raise MediaUnreadable(f"The file cannot be read as a video ({_reason(error)}): it is damaged or truncated.") from None


def displayed_size(video: Any, picture: Any | None) -> tuple[int, int]:
    """The picture's size as players show it, which is what a viewer (and a layout) means by its size.

    Stored pixels need not be square: a DVD's 720x576 with a 16:9 sample
    aspect is shown 1024x576. And a phone filming upright stores its pictures
    sideways with a display matrix turning them by 90 or 270 degrees, so the
    shown width is the stored height.
    """
    width, height = int(video.codec_context.width), int(video.codec_context.height)
    sample_aspect = pixel_aspect(video)
    if sample_aspect:
        width = round(width * sample_aspect)
    # Without a decoded picture (one too large to decode) the rotation is unknown: the stored size.
    if picture is not None and abs(int(picture.rotation)) % 180 == 90:
        width, height = height, width
    return width, height


#: ffprobe's names of the matrices (``AVColorSpace``), which PyAV's enumeration lists only in part.
_COLOR_SPACES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                 9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc", 13: "chroma-derived-c", 14: "ictcp"}


def color_facts(context: Any) -> dict[str, str | None]:
    """The stream's transfer function, primaries and matrix as :class:`MediaFacts` names them (the decoder's
    values, which it takes from the codec's headers or, without them, the container's)."""

    def named(enumeration: Any, value: int) -> str | None:
        try:
            name = str(enumeration(value).name).lower().replace("_", "-")
        except ValueError:
            return None
        return None if name == "unspecified" else name

    return {
        "color_transfer": named(ColorTrc, int(context.color_trc)),
        "color_primaries": named(ColorPrimaries, int(context.color_primaries)),
        "color_space": _COLOR_SPACES.get(int(context.colorspace)),
    }


def codec_name(stream: Any) -> str:
    """The stream's codec as FFmpeg names the format (``av1``, ``mp3``), not its decoder (``libdav1d``, ``mp3float``)."""
    return str(stream.codec_context.codec.canonical_name)


def main_audio(container: Any) -> Any | None:
    """The audio track a player starts with: the first one marked default, else the first one.

    A recording with a commentary or a dub may mark its second track
    default; that is the one the facts name and a copy carries.
    """
    tracks = list(container.streams.audio)
    marked = [stream for stream in tracks if stream.disposition & av.stream.Disposition.default]
    return (marked or tracks or [None])[0]


def pixel_aspect(video: Any) -> Fraction | None:
    """The shape of the stream's pixels (None for square or unknown), as FFmpeg's players take it.

    The container's value comes first, then the codec's, as
    ``av_guess_sample_aspect_ratio`` does: an H.263 encoder writes 12:11 into
    every QCIF picture, while the 3GP around it says 1:1, which is what
    players show.
    """
    for ratio in (video.sample_aspect_ratio, video.codec_context.sample_aspect_ratio):
        if ratio and ratio > 0:
            return None if ratio == 1 else Fraction(ratio)
    return None


def _decode_one_frame(container: Any, video: Any) -> Any:
    """The first picture that decodes, to tell a real stream from garbage behind valid headers."""
    tried = 0
    last_error: av.error.FFmpegError | None = None
    for packet in container.demux(video):
        try:
            if packet.size == 0:
                # The end: flush the decoder, which holds back frames it reorders.
                if frames := video.codec_context.decode(None):
                    return frames[0]
                break
            if frames := video.codec_context.decode(packet):
                return frames[0]
        except av.error.FFmpegError as error:
            last_error = error
        tried += 1
        if tried >= DECODE_ATTEMPTS:
            break
    codec = video.codec_context.name
    why = f" ({_reason(last_error)})" if last_error is not None else ""
    raise MediaUnreadable(f"No picture of the {codec} video stream could be decoded{why}: the stream is damaged.")


def _audio_track(stream: Any) -> AudioTrack:
    language = stream.language
    return AudioTrack(
        codec=codec_name(stream),
        language=language if language and language != "und" else None,
        channels=int(stream.codec_context.channels) or None,
    )


def _subtitle_track(stream: Any) -> SubtitleTrack:
    language = stream.metadata.get("language")
    return SubtitleTrack(
        codec=stream.codec_context.name,
        language=language if language and language != "und" else None,
        title=(stream.metadata.get("title") or "").strip() or None,
        text=stream.codec_context.name in TEXT_CODECS,
    )


def _duration(container: Any, video: Any) -> float | None:
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / av.time_base
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return None


def _container_name(demuxer_names: str, content_type: str) -> str:
    """The demuxer's alias that names this file's format (``mp4`` rather than ``mov,mp4,m4a,...``)."""
    names = demuxer_names.split(",")
    wanted = EXTENSIONS.get(content_type, "").lstrip(".")
    return wanted if wanted in names else names[0]


def _reason(error: av.error.FFmpegError) -> str:
    return str(error.strerror or error).rstrip(".")

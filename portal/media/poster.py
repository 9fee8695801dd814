"""A video's poster: one still frame at about a tenth of its duration, as a JPEG at most 640 px wide.

Only what one picture needs is read and decoded: the demuxer seeks to the
key frame at or before the moment (through the container's index), and the
decoder runs from there to the moment, at most :data:`FRAMES_AFTER_SEEK`
frames, never the whole file. A seek that fails, or finds no picture (a clip
shorter than its headers say, a file without an index), falls back to the
first picture that decodes. An HDR picture is tone-mapped as the playable
copy is (:class:`~portal.media.hdr.ToneMapper`), so the poster shows what the
player will. PyAV's own MJPEG encoder writes the JPEG, so no
imaging library is needed. Reads are bounded like a probe's
(:class:`~portal.media.probe.CountingReader`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from typing import BinaryIO

import av
import av.error
import av.filter

from .hdr import ToneMapper
from .hdr import transfer_name
from .probe import DECODE_ATTEMPTS
from .probe import CountingReader
from .probe import MediaUnreadable
from .probe import ReadLimitExceeded
from .probe import pixel_aspect

#: Where in the video the poster is taken, as a part of its duration.
POSTER_POSITION = 0.1
#: The widest poster (a library card and a player's first picture need no more).
MAX_WIDTH = 640
#: Frames decoded after the key frame a seek lands on, looking for the moment: a few seconds of video.
FRAMES_AFTER_SEEK = 150
#: Seconds of video decoded past the moment when its picture is black (a fade-in, a camera's first
#: second), looking for one that shows something; a clip black for longer gets its black picture.
PICTURE_SEARCH = 2.0
#: The mean luma (0-255) below which a picture counts as black: video black is 16, and a dark but
#: visible scene stays well above 30.
BLACK_LUMA = 30
#: The JPEG quantiser (2 best, 31 worst): 3 looks like the frame at a fraction of a PNG's size.
JPEG_QUALITY = 3
#: FFmpeg's ``FF_QP2LAMBDA``: a quantiser is given to the encoder in these units.
_QP2LAMBDA = 118


@dataclass(frozen=True)
class Poster:
    jpeg: bytes
    #: Where in the video the picture is, in seconds (None when the stream does not say).
    time: float | None
    width: int
    height: int


def make_poster(open_file: Callable[[], BinaryIO], duration: float | None) -> Poster:
    """The poster of the video ``open_file()`` reads; raises :class:`MediaUnreadable` when no picture decodes.

    ``open_file`` is called once for the seek and once more for the fallback,
    so each attempt reads from a fresh file and its own read limit.
    """
    frame = None
    if duration:
        frame = _frame_near(open_file, duration * POSTER_POSITION)
    if frame is None:
        frame = _frame_near(open_file, None)
    if frame is None:
        raise MediaUnreadable("No picture of the video stream could be decoded for its poster: the stream is damaged.")
    return frame


def _frame_near(open_file: Callable[[], BinaryIO], moment: float | None) -> Poster | None:
    """The poster at ``moment`` (or the first picture, for None); None when no picture is found that way."""
    try:
        with open_file() as raw, av.open(CountingReader(raw), mode="r") as container:
            if not container.streams.video:
                raise MediaUnreadable("The file has no video stream: it may hold only audio or data.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if moment is not None:
                container.seek(int(moment * av.time_base), backward=True, any_frame=False)
            frame = _decode_towards(container, stream, moment)
            if frame is None:
                return None
            aspect, turn = _display_aspect(stream, frame), _clockwise_turn(frame)
            if transfer := transfer_name(frame.color_trc) or transfer_name(stream.codec_context.color_trc):
                frame = ToneMapper(transfer).picture(frame)
            return _encode(_upright(frame, turn), aspect)
    except (ReadLimitExceeded, av.error.FFmpegError):
        if moment is None:
            raise MediaUnreadable(
                "No picture of the video stream could be decoded for its poster: the file is damaged."
            ) from None
        return None


def _decode_towards(container: Any, stream: Any, moment: float | None) -> Any:
    """The first frame at or past ``moment`` that is not black (the last one decoded if none is), or None.

    A black frame at the moment is passed over for the first one with a
    picture within :data:`PICTURE_SEARCH` seconds after it; failing that, the
    black frame is the poster.
    """
    frame = black = None
    decoded = packets = 0
    for packet in container.demux(stream):
        packets += 1
        try:
            frames = stream.codec_context.decode(None if packet.size == 0 else packet)
        except av.error.FFmpegError:
            frames = []
        for frame in frames:
            decoded += 1
            if black is not None:
                if not _is_black(frame):
                    return frame
                if _seconds_after(black, frame) > PICTURE_SEARCH or decoded >= 2 * FRAMES_AFTER_SEEK:
                    return black
            elif moment is None or (frame.time is not None and frame.time >= moment) or decoded >= FRAMES_AFTER_SEEK:
                if not _is_black(frame):
                    return frame
                black = frame
        if packet.size == 0 or packets >= DECODE_ATTEMPTS + 2 * FRAMES_AFTER_SEEK:
            break
    return black if black is not None else frame


def _is_black(frame: Any) -> bool:
    """Whether the picture's mean luma is near video black, read from a 64x36 grey copy (cheap at any size)."""
    grey = frame.reformat(width=64, height=36, format="gray")
    plane = grey.planes[0]
    rows = bytes(plane)
    luma = [rows[row * plane.line_size : row * plane.line_size + 64] for row in range(36)]
    return sum(sum(line) for line in luma) / (64 * 36) < BLACK_LUMA


def _seconds_after(first: Any, later: Any) -> float:
    """How far ``later`` is into the video after ``first``; frames without a time count a frame at 25 fps each."""
    if first.time is not None and later.time is not None:
        return float(later.time - first.time)
    return 0.04


def _upright(frame: Any, turn: int) -> Any:
    """The frame turned clockwise by ``turn`` degrees, as its display matrix says and players show it (a phone's
    upright recording is stored sideways)."""
    if turn == 0:
        return frame
    graph = av.filter.Graph()
    source = graph.add_buffer(template=None, width=frame.width, height=frame.height, format=frame.format.name,
                              time_base=frame.time_base or Fraction(1, 25))
    filters = {90: [("transpose", "clock")], 180: [("hflip", ""), ("vflip", "")], 270: [("transpose", "cclock")]}[turn]
    chain = [source, *(graph.add(name, argument) for name, argument in filters), graph.add("buffersink")]
    for before, after in itertools.pairwise(chain):
        before.link_to(after)
    graph.configure()
    graph.push(frame)
    turned = graph.pull()
    turned.pts, turned.time_base = frame.pts, frame.time_base
    return turned


def _clockwise_turn(frame: Any) -> int:
    """0, 90, 180 or 270: FFmpeg's display matrix angle is counter-clockwise, a player turns the other way."""
    return round(-int(frame.rotation) / 90) % 4 * 90


def _display_aspect(stream: Any, frame: Any) -> float:
    """Width over height as shown: pixels need not be square (anamorphic DVD and broadcast video), and a
    picture turned by a quarter shows its height as its width."""
    context = stream.codec_context
    ratio = pixel_aspect(stream)
    pixel = float(ratio) if ratio else 1.0
    aspect = context.width * pixel / context.height
    return 1 / aspect if _clockwise_turn(frame) in (90, 270) else aspect


def _encode(frame: Any, aspect: float) -> Poster:
    width = min(MAX_WIDTH, _even(frame.height * aspect))
    height = max(2, _even(width / aspect))
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.qscale = True
    encoder.global_quality = JPEG_QUALITY * _QP2LAMBDA
    jpeg = b"".join(bytes(packet) for packet in [*encoder.encode(picture), *encoder.encode(None)])
    moment = frame.time
    return Poster(jpeg=jpeg, time=moment if moment is not None and math.isfinite(moment) else None, width=width, height=height)


def _even(value: float) -> int:
    """The nearest even number of pixels, at least 2: 4:2:0 JPEGs halve both sides for colour."""
    return max(2, int(round(value / 2)) * 2)

"""Browser-playable copies: which videos need one, and making it with PyAV.

Current Chrome, Firefox and Safari all play H.264 (with AAC or MP3) in MP4 or
MOV, and VP8, VP9 or AV1 (with Opus or Vorbis) in WebM. Such an original is
played as it is. Otherwise a copy is made once, after the facts and the
poster:

- a *remux* when the video codec plays but the container does not (H.264 in
  MKV, MPEG-TS, FLV or AVI; VP9 or AV1 in MKV or MP4): the streams are copied
  packet by packet, nothing is decoded and no quality is lost; an audio
  stream the browsers cannot play there (FLAC, AC-3, PCM) is the only part
  encoded again (to AAC beside H.264, to Opus in WebM);
- a *transcode* for everything else, H.264 that is not 8-bit 4:2:0 among it
  (High 10, 4:2:2 and 4:4:4 decode in Chromium only), interlaced pictures
  made progressive (:class:`Deinterlacer`) and HDR (PQ or HLG, whatever the
  codec) tone-mapped to SDR BT.709 (:class:`~.hdr.ToneMapper`): H.264 (yuv420p, at most
  :data:`MAX_LINES` lines, aspect kept, CRF :data:`CRF`, preset
  :data:`PRESET`) with AAC audio.

Both write MP4 (or WebM) with the index first (``faststart``), so playback
starts before the whole copy is loaded. The copy is written to a local
temporary file (the index is moved to the front by a second pass over it),
then stored under its video's ``playable/`` key with its SHA-256.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any
from typing import BinaryIO

import av
import av.error
import av.filter

from ..library.formats import MP4_AUDIO
from ..library.formats import MP4_PIXEL_FORMATS
from ..library.formats import MP4_VIDEO
from ..library.formats import WEBM_AUDIO
from ..library.formats import WEBM_VIDEO
from ..library.formats import plays_in_browsers
from .hdr import BT709
from .hdr import ToneMapper
from .hdr import is_hdr
from .probe import MediaUnreadable
from .probe import codec_name
from .probe import main_audio
from .probe import pixel_aspect

#: The tallest transcoded picture: 1080p keeps full HD and bounds the work of anything larger.
MAX_LINES = 1080
#: x264's constant-quality factor and speed preset for transcodes: visually close to the
#: source at a fraction of a lossless size, at about real time for 1080p on two cores.
CRF = 23
PRESET = "veryfast"
#: MP4's index first, so playback starts before the whole file is loaded (a WebM's header points to its index).
_MUXER_OPTIONS = {"mp4": {"movflags": "+faststart"}}
#: Read and write through FFmpeg in chunks this large: Python's file calls stay few.
IO_BUFFER = 1024 * 1024


class CopyKind(str, enum.Enum):
    #: The original plays in browsers: no copy.
    NONE = "none"
    REMUX = "remux"
    TRANSCODE = "transcode"


@dataclass(frozen=True)
class CopyPlan:
    kind: CopyKind
    #: The copy's container (``mp4`` or ``webm``) and content type; None when there is no copy.
    container: str | None = None
    content_type: str | None = None
    #: The HDR transfer function (``smpte2084``, ``arib-std-b67``) a transcode tone-maps from; None for SDR.
    tone_map: str | None = None


NO_COPY = CopyPlan(CopyKind.NONE)


def plan_copy(
    content_type: str,
    video_codec: str | None,
    audio_codec: str | None,
    pixel_format: str | None = None,
    color_transfer: str | None = None,
) -> CopyPlan:
    """What the video with these facts needs for every browser to play it (none when it :func:`plays_in_browsers`).

    A ``pixel_format`` of None (a video probed before the portal kept it) is taken for one that plays,
    a ``color_transfer`` of None for SDR. HDR video is transcoded whatever its codec: a browser on an
    SDR screen shows PQ or HLG washed out or clipped (each browser and system in its own way).
    """
    if plays_in_browsers(content_type, video_codec, audio_codec, pixel_format, color_transfer):
        return NO_COPY
    if is_hdr(color_transfer):
        return CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4", tone_map=color_transfer)
    if video_codec in MP4_VIDEO and pixel_format not in MP4_PIXEL_FORMATS | {None}:
        return CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4")
    if video_codec in MP4_VIDEO:
        return CopyPlan(CopyKind.REMUX, "mp4", "video/mp4")
    if video_codec in WEBM_VIDEO:
        return CopyPlan(CopyKind.REMUX, "webm", "video/webm")
    return CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4")


def make_copy(source: BinaryIO, plan: CopyPlan, target: Path) -> None:
    """Write the copy ``plan`` describes of the video ``source`` reads to the file ``target``.

    Raises :class:`MediaUnreadable` when the streams cannot be read or written.
    """
    try:
        rotation = 0
        if plan.kind is CopyKind.TRANSCODE:
            rotation = _display_rotation(source)
            source.seek(0)
        with (
            # genpts: AVI and FLV often give packets only a decoding time; MP4 needs both.
            av.open(source, mode="r", buffer_size=IO_BUFFER, options={"fflags": "+genpts"}) as original,
            av.open(str(target), mode="w", format=plan.container, options=_MUXER_OPTIONS.get(str(plan.container), {})) as copy,
        ):
            if plan.kind is CopyKind.REMUX:
                _remux(original, copy)
            else:
                _transcode(original, copy, rotation, plan.tone_map)
    except av.error.FFmpegError as error:
        reason = str(error.strerror or error).rstrip(".")
        raise MediaUnreadable(f"The browser-playable copy could not be made ({reason}).") from None


def transcoded_size(width: int, height: int) -> tuple[int, int]:
    """The picture size of a transcode: at most :data:`MAX_LINES` lines, aspect kept, even sides (yuv420p needs them)."""
    if height > MAX_LINES:
        width, height = round(width * MAX_LINES / height), MAX_LINES
    return max(2, width - width % 2), max(2, height - height % 2)


def _remux(original: Any, copy: Any) -> None:
    video = original.streams.video[0]
    audio = main_audio(original)
    # The template's own codec (opaque): a decoder-only name like libdav1d (AV1) has no encoder to look up.
    outputs = {video.index: copy.add_stream_from_template(video, opaque=True)}
    audio_encoder = None
    if audio is not None:
        if codec_name(audio) in (MP4_AUDIO if copy.format.name == "mp4" else WEBM_AUDIO):
            outputs[audio.index] = copy.add_stream_from_template(audio)
            _keep_language(audio, outputs[audio.index])
        else:
            audio_encoder = _audio_encoder(copy, audio)
    clocks = {index: DecodingClock() for index in outputs}
    for packet in original.demux([stream for stream in (video, audio) if stream is not None]):
        if packet.size == 0:
            continue  # the demuxer's end-of-stream marker
        if audio_encoder is not None and packet.stream is audio:
            _encode_audio(copy, audio_encoder, packet)
            continue
        index = packet.stream.index
        for timed in clocks[index].timed(packet):
            timed.stream = outputs[index]
            copy.mux(timed)
    for index, clock in clocks.items():
        for timed in clock.rest():
            timed.stream = outputs[index]
            copy.mux(timed)
    if audio_encoder is not None:
        copy.mux(audio_encoder.encode(None))


class DecodingClock:
    """Gives every packet of one stream a decoding time, in the order they came, none left out.

    Matroska stores presentation times only; FFmpeg's demuxer derives the
    decoding times from them once it has seen as many packets as the stream
    reorders (an x264 encode with B-frames: the first two), and leaves the
    packets before that, the key frame among them, without one. MP4 needs both
    times on every packet, so those first packets are held until the first
    decoding time is known, then given times before it: one frame's duration
    apart, never after their own presentation time (a decoder needs a picture
    before it shows it). A packet without a decoding time further on follows
    its predecessor by one tick.
    """

    def __init__(self) -> None:
        self.held: list[Any] = []
        self.last_dts: int | None = None

    def timed(self, packet: Any) -> list[Any]:
        """The packets ready to be muxed once ``packet`` has come: none while the first decoding time is unknown."""
        if packet.dts is None:
            if self.last_dts is None:
                self.held.append(packet)
                return []
            packet.dts = self.last_dts + 1
        ready = self._released(before=packet.dts)
        self.last_dts = packet.dts
        return [*ready, packet]

    def rest(self) -> list[Any]:
        """The packets still held at the end of a stream that never gave a decoding time."""
        if not self.held:
            return []
        last = max(packet.pts or 0 for packet in self.held)
        return self._released(before=last + max(1, self.held[-1].duration or 0))

    def _released(self, before: int) -> list[Any]:
        following = before
        for packet in reversed(self.held):
            step = max(1, packet.duration or 0)
            packet.dts = following - step if packet.pts is None else min(following - step, packet.pts)
            following = packet.dts
        released, self.held = self.held, []
        return released


def _display_rotation(source: BinaryIO) -> int:
    """The turn (counter-clockwise degrees) the first picture's display matrix gives, read in a pass of its own.

    A phone's upright recording (HEVC from an iPhone, say) is stored sideways
    with that matrix; the encoded copy must carry it too, and MP4 writes it in
    the header, before any picture the transcode has decoded. A pass of its
    own reads only the first few packets, and leaves the transcode's demuxer
    untouched (seeking it back could lose a program stream's first frames).
    """
    with av.open(source, mode="r") as peek:
        if peek.streams.video:
            for frame in peek.decode(peek.streams.video[0]):
                return int(frame.rotation)
    return 0


def _transcode(original: Any, copy: Any, rotation: int, tone_map: str | None = None) -> None:
    video = original.streams.video[0]
    video.thread_type = "AUTO"
    audio = main_audio(original)
    width, height = transcoded_size(video.codec_context.width, video.codec_context.height)
    encoder = copy.add_stream("libx264", rate=video.average_rate or video.guessed_rate or 25)
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    if rotation:
        encoder.set_display_rotation(rotation)
    # Pixels of the source's shape, so that an anamorphic picture is still shown at its aspect (16:9 DVD video).
    sample_aspect = pixel_aspect(video)
    if sample_aspect:
        encoder.codec_context.sample_aspect_ratio = sample_aspect
    # The source's clock, so that every frame keeps its own time (variable frame rates too).
    encoder.codec_context.time_base = video.time_base
    encoder.options = {"crf": str(CRF), "preset": PRESET}
    tone_mapper = ToneMapper(tone_map, width, height) if tone_map else None
    if tone_mapper is not None:
        # Said in the stream's headers, so players take the SDR pictures for what they are.
        context = encoder.codec_context
        context.color_primaries = context.color_trc = context.colorspace = BT709
        context.color_range = 1  # MPEG (limited range)
    # Frame threads on every core, as the ffmpeg command line sets them (PyAV's default is one thread).
    encoder.codec_context.thread_type = "AUTO"
    encoder.codec_context.thread_count = 0
    audio_encoder = _audio_encoder(copy, audio) if audio is not None else None
    # The copy's pictures start at 0, as its audio does (the encoder numbers its samples from 0): MPEG-PS
    # and MPEG-TS start their clocks later (half a second, say), which MP4 would keep as a gap before the
    # first picture, lengthening the copy by as much.
    start = video.start_time or 0
    deinterlacer = Deinterlacer()

    def encode(frame: Any) -> None:
        picture = frame
        if tone_mapper is not None:
            picture = tone_mapper.picture(frame)
        elif (frame.width, frame.height, frame.format.name) != (width, height, "yuv420p"):
            picture = frame.reformat(width, height, "yuv420p")
            picture.time_base = frame.time_base
        picture.pts = frame.pts - start if frame.pts is not None else None
        copy.mux(encoder.encode(picture))

    for packet in original.demux([stream for stream in (video, audio) if stream is not None]):
        if audio_encoder is not None and packet.stream is audio:
            _encode_audio(copy, audio_encoder, packet)
            continue
        for frame in packet.decode():
            for picture in deinterlacer.pictures(frame):
                encode(picture)
    for picture in deinterlacer.rest():
        encode(picture)
    copy.mux(encoder.encode(None))
    if audio_encoder is not None:
        copy.mux(audio_encoder.encode(None))


class Deinterlacer:
    """Frames of woven fields (broadcast MPEG-2, DV, AVCHD) made progressive, as browsers show them best.

    A browser shows an interlaced picture's two fields at once, combed along
    every moving edge. FFmpeg's ``bwdif`` (the deinterlacer of Jellyfin's and
    Kodi's defaults) turns each such frame into one progressive frame at the
    same time (``send_frame``: the frame count and rate stay the source's), and
    leaves frames the decoder marks progressive as they are. The filter is set
    up at the first interlaced frame: a progressive source never passes
    through it. It holds one frame back (it looks at the next field), which
    :meth:`rest` gives at the end.
    """

    def __init__(self) -> None:
        self.graph: Any = None
        self.time_base: Fraction | None = None

    def pictures(self, frame: Any) -> list[Any]:
        if self.graph is None:
            if not frame.interlaced_frame:
                return [frame]
            self.graph = av.filter.Graph()
            self.time_base = frame.time_base or Fraction(1, 25)
            source = self.graph.add_buffer(
                template=None, width=frame.width, height=frame.height, format=frame.format.name, time_base=self.time_base
            )
            bwdif = self.graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
            sink = self.graph.add("buffersink")
            source.link_to(bwdif)
            bwdif.link_to(sink)
            self.graph.configure()
        self.graph.push(frame)
        return self._pulled()

    def rest(self) -> list[Any]:
        if self.graph is None:
            return []
        self.graph.push(None)
        return self._pulled()

    def _pulled(self) -> list[Any]:
        """The frames the filter gives, back on the source's clock (``bwdif`` halves the tick, as if it made fields)."""
        pulled: list[Any] = []
        while True:
            try:
                frame = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return pulled
            if frame.pts is not None and frame.time_base is not None:
                frame.pts = round(frame.pts * frame.time_base / self.time_base)
            frame.time_base = self.time_base
            pulled.append(frame)


def _audio_encoder(copy: Any, audio: Any) -> Any:
    """AAC beside H.264 in MP4; Opus (at 48 kHz, its own rate) beside VP8, VP9 or AV1 in WebM."""
    if copy.format.name == "webm":
        encoder = copy.add_stream("libopus", rate=48000)
    else:
        # At least 32 kHz: AAC's first frame (1024 samples of encoder delay) would otherwise lengthen a
        # phone's 8 kHz AMR by a tenth of a second or more.
        encoder = copy.add_stream("aac", rate=max(32000, audio.codec_context.sample_rate or 48000))
    _keep_language(audio, encoder)
    return encoder


def _keep_language(audio: Any, output: Any) -> None:
    """The copy's track says the language of the original's, so a player can name it."""
    if language := audio.metadata.get("language"):
        output.metadata["language"] = language


def _encode_audio(copy: Any, encoder: Any, packet: Any) -> None:
    for frame in packet.decode():
        # The encoder numbers its own samples: sources with gaps or odd clocks stay in sync enough for playback.
        frame.pts = None
        copy.mux(encoder.encode(frame))

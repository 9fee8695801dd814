"""Every accepted container with the codecs people record in, and the quirks of phones and cameras, plays.

Each clip of the corpus goes through the real upload and processing; its
playback source (the copy, or the original when it plays as it is) must
decode frame for frame, last as long as the original, and come with facts
and a poster of the size a player shows.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import av
import pytest

from portal.extensions import db
from portal.library.models import Video
from tests.helpers import json_body
from tests.helpers import signed_in_client
from tests.helpers import upload

from .conftest import with_display_rotation


@dataclass(frozen=True)
class Clip:
    """One recording of the corpus: how ffmpeg makes it, and what the portal must say of it."""

    #: The copy browsers need: ``none`` (the original plays), ``remux`` or ``transcode``.
    copy: str
    filename: str
    #: ffmpeg's arguments after the test pattern and tone inputs (the picture is input 0, the tones 1 and 2).
    encode: tuple[str, ...]
    #: The width and height a player shows.
    shown: tuple[int, int]
    #: (codec, language, channels) of each audio track, in the file's order.
    tracks: tuple[tuple[str, str | None, int], ...] = ()
    size: str = "176x144"
    seconds: float = 2
    #: Seconds of tone, when they are not the picture's.
    audio_seconds: float | None = None
    #: A second tone, for two audio tracks.
    second_tone: bool = False
    rate: str = "25"
    #: The picture filter, for an interlaced, a black first second or an HDR (``pq``, ``hlg``) source.
    picture: str = "testsrc"
    #: The display matrix's counter-clockwise turn, put in after the encode.
    rotation: int = 0
    #: The tone is AMR-NB, as old phones record it.
    amr: bool = False


X264 = ("-c:v", "libx264", "-pix_fmt", "yuv420p")
X265 = ("-c:v", "libx265", "-x265-params", "log-level=error")
MONO_AAC = (("aac", None, 1),)


def hdr_tags(transfer: str) -> tuple[str, ...]:
    """The colour tags a phone's HDR HEVC carries, in the stream (x265's VUI) and in the container."""
    return ("-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc", "-color_range", "tv")

CORPUS: dict[str, Clip] = {
    # MP4, M4V and MOV: as phones, cameras and editors write them.
    "mp4_h264": Clip("none", "h264.mp4", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC),
    "mp4_h264_high10": Clip("transcode", "high10.mp4", ("-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-c:a", "aac"), (176, 144), MONO_AAC),
    "mp4_h264_444": Clip("transcode", "yuv444.mp4", ("-c:v", "libx264", "-pix_fmt", "yuv444p", "-c:a", "aac"), (176, 144), MONO_AAC),
    "mp4_hevc": Clip("transcode", "hevc.mp4", (*X265, "-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-c:a", "aac"), (176, 144), MONO_AAC),
    "mp4_hevc_10bit": Clip("transcode", "hevc10.mp4", (*X265, "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-c:a", "aac"), (176, 144), MONO_AAC),
    "mp4_av1": Clip("remux", "av1.mp4", ("-c:v", "libsvtav1", "-c:a", "aac"), (176, 144), MONO_AAC),
    "m4v_h264": Clip("remux", "h264.m4v", (*X264, "-c:a", "aac", "-f", "ipod"), (176, 144), MONO_AAC),
    "mov_h264": Clip("none", "h264.mov", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC),
    "mov_prores": Clip("transcode", "prores.mov", ("-c:v", "prores_ks", "-c:a", "pcm_s16le"), (176, 144), (("pcm_s16le", None, 1),)),
    # 3GP and 3G2: old phones.
    # Debian's ffmpeg has no AMR encoder: PyAV's FFmpeg encodes the tone (:func:`amr_tone`), ffmpeg muxes it.
    "3gp_h263_amr": Clip("transcode", "h263_amr.3gp", ("-c:v", "h263", "-c:a", "copy"), (176, 144), (("amr_nb", None, 1),),
                         amr=True),
    "3gp_h263_aac": Clip("transcode", "h263.3gp", ("-c:v", "h263", "-c:a", "aac"), (176, 144), MONO_AAC),
    "3g2_mpeg4_aac": Clip("transcode", "mpeg4.3g2", ("-c:v", "mpeg4", "-c:a", "aac"), (176, 144), MONO_AAC),
    # WebM.
    "webm_vp8_vorbis": Clip("none", "vp8.webm", ("-c:v", "libvpx", "-c:a", "libvorbis"), (176, 144), (("vorbis", None, 1),)),
    "webm_vp9_opus": Clip("none", "vp9.webm", ("-c:v", "libvpx-vp9", "-c:a", "libopus"), (176, 144), (("opus", None, 1),)),
    "webm_av1_opus": Clip("none", "av1.webm", ("-c:v", "libsvtav1", "-c:a", "libopus"), (176, 144), (("opus", None, 1),)),
    # Matroska: OBS, HandBrake, mkvmerge.
    "mkv_h264_flac": Clip("remux", "h264_flac.mkv", (*X264, "-c:a", "flac"), (176, 144), (("flac", None, 1),)),
    "mkv_hevc_ac3": Clip("transcode", "hevc_ac3.mkv", (*X265, "-c:a", "ac3"), (176, 144), (("ac3", None, 1),)),
    "mkv_vp9_flac": Clip("remux", "vp9_flac.mkv", ("-c:v", "libvpx-vp9", "-c:a", "flac"), (176, 144), (("flac", None, 1),)),
    # AVI: cameras and old editors.
    "avi_mpeg4_mp3": Clip("transcode", "mpeg4.avi", ("-c:v", "mpeg4", "-c:a", "libmp3lame"), (176, 144), (("mp3", None, 1),)),
    "avi_mjpeg_pcm": Clip("transcode", "mjpeg.avi", ("-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-c:a", "pcm_s16le"), (176, 144),
                          (("pcm_s16le", None, 1),)),
    # DV is 720x576 PAL; its pictures say 16:15 pixels, but ffmpeg's AVI says 1:1 (``vprp``), which players follow.
    "avi_dv_pcm": Clip("transcode", "dv.avi", ("-c:v", "dvvideo", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", "-ar", "48000"), (720, 576),
                       (("pcm_s16le", None, 1),), size="720x576", seconds=1),
    # MPEG-TS: broadcast (interlaced MPEG-2) and camcorders (AVCHD).
    "ts_mpeg2_interlaced": Clip("transcode", "mpeg2.ts", ("-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-c:a", "mp2"),
                                (176, 144), (("mp2", None, 1),), picture="interlaced"),
    "ts_h264_aac": Clip("remux", "h264.ts", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC),
    # MPEG-PS: VCD and DVD.
    "ps_mpeg1": Clip("transcode", "mpeg1.mpg", ("-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg"), (176, 144), (("mp2", None, 1),)),
    "ps_mpeg2": Clip("transcode", "mpeg2.mpg", ("-c:v", "mpeg2video", "-c:a", "mp2", "-f", "vob"), (176, 144), (("mp2", None, 1),)),
    "ogg_theora_vorbis": Clip("transcode", "theora.ogv", ("-c:v", "libtheora", "-c:a", "libvorbis"), (176, 144), (("vorbis", None, 1),)),
    "flv_flv1": Clip("transcode", "flv1.flv", ("-c:v", "flv", "-c:a", "libmp3lame"), (176, 144), (("mp3", None, 1),)),
    "flv_h264": Clip("remux", "h264.flv", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC),
    "wmv_wmv2": Clip("transcode", "wmv2.wmv", ("-c:v", "wmv2", "-c:a", "wmav2", "-f", "asf"), (176, 144), (("wmav2", None, 1),)),
    # The quirks of phones and cameras.
    "rotated_90": Clip("none", "rotated_90.mp4", (*X264, "-c:a", "aac"), (144, 176), MONO_AAC, rotation=90),
    "rotated_180": Clip("none", "rotated_180.mp4", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC, rotation=180),
    "rotated_270": Clip("none", "rotated_270.mp4", (*X264, "-c:a", "aac"), (144, 176), MONO_AAC, rotation=270),
    "anamorphic": Clip("remux", "anamorphic.mkv", (*X264, "-aspect", "16:9", "-c:a", "aac"), (1024, 576), MONO_AAC,
                       size="720x576", seconds=1),
    "variable_rate": Clip("remux", "vfr.mkv", (*X264, "-vf", "select='lt(mod(n\\,5)\\,3)'", "-fps_mode", "vfr", "-c:a", "aac"),
                          (176, 144), MONO_AAC),
    "black_start": Clip("none", "black_start.mp4", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC, picture="black_start"),
    "no_audio": Clip("none", "no_audio.mp4", (*X264, "-an"), (176, 144)),
    # HDR as phones record it: 10-bit HEVC, BT.2020 with PQ (iPhone's Dolby Vision base layer, Samsung's HDR10+)
    # or HLG (Pixel, iPhone), the pictures' values truly PQ- or HLG-coded.
    "hdr_pq": Clip("transcode", "hdr_pq.mp4", (*X265, "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", *hdr_tags("smpte2084"),
                                              "-c:a", "aac"), (176, 144), MONO_AAC, seconds=1, picture="pq"),
    "hdr_hlg": Clip("transcode", "hdr_hlg.mov", (*X265, "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", *hdr_tags("arib-std-b67"),
                                                "-c:a", "aac"), (176, 144), MONO_AAC, seconds=1, picture="hlg"),
    "audio_longer": Clip("none", "audio_longer.mp4", (*X264, "-c:a", "aac"), (176, 144), MONO_AAC, seconds=1, audio_seconds=2),
    "second_track_default": Clip("remux",
        "two_tracks.mkv",
        (*X264, "-c:a", "aac", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
         "-disposition:a:0", "0", "-disposition:a:1", "default"),
        (176, 144), (("aac", "eng", 1), ("aac", "fra", 1)), second_tone=True,
    ),
}


TO_HDR = "format=gbrpf32le,zscale=tin=iec61966-2-1:pin=bt709:t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=600,format=yuv420p10le"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", *args, "-y"], check=True)


def encoders_of_ffmpeg() -> set[str]:
    listing = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], check=True, capture_output=True, text=True).stdout
    return {line.split()[1] for line in listing.splitlines() if line.startswith(" ") and len(line.split()) > 1}


def encoders_named(clip: Clip) -> set[str]:
    args = clip.encode
    return {args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-c:v", "-c:a")}


def make_recording(folder: Path, clip: Clip) -> Path:
    """The clip, encoded with ffmpeg's defaults (B-frames where the codec has them), then turned if it says so."""
    seconds, audio_seconds = clip.seconds, clip.audio_seconds or clip.seconds
    pictures = {
        "testsrc": f"testsrc=duration={seconds}:size={clip.size}:rate={clip.rate}",
        # Fields of different moments woven into frames, as a broadcast camera records them; a bar crossing the
        # picture makes the fields differ (combing) wherever it moves.
        "interlaced": f"testsrc=duration={seconds}:size={clip.size}:rate=50[a];"
        f"color=black:size=48x144:rate=50:duration={seconds}[b];[a][b]overlay=x='mod(t*400,W)':shortest=1,"
        "tinterlace=interleave_top,setfield=tff",
        "black_start": f"color=black:duration=1:size={clip.size}:rate={clip.rate}[b];"
        f"testsrc=duration={seconds - 1}:size={clip.size}:rate={clip.rate}[t];[b][t]concat=n=2:v=1",
        # testsrc2's colours (sRGB) as light of up to 600 nits (a phone's bright highlights), coded by zscale.
        "pq": f"testsrc2=duration={seconds}:size={clip.size}:rate={clip.rate},{TO_HDR.format(transfer='smpte2084')}",
        "hlg": f"testsrc2=duration={seconds}:size={clip.size}:rate={clip.rate},{TO_HDR.format(transfer='arib-std-b67')}",
    }
    inputs = ["-f", "lavfi", "-i", pictures[clip.picture]]
    mapping = ["-map", "0:v"]
    if clip.amr:
        inputs += ["-i", str(amr_tone(folder / "tone.amr", audio_seconds))]
        mapping += ["-map", "1:a"]
    elif clip.tracks:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={audio_seconds}"]
        mapping += ["-map", "1:a"]
    if clip.second_tone:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=660:duration={audio_seconds}"]
        mapping += ["-map", "2:a"]
    target = folder / clip.filename
    encoded = folder / f"upright-{clip.filename}" if clip.rotation else target
    ffmpeg(*inputs, *mapping, *clip.encode, str(encoded))
    if clip.rotation:
        with_turned_video(encoded, target, clip.rotation)
    return target


def with_turned_video(source: Path, target: Path, degrees: int) -> None:
    """``source`` with its display matrix turned by ``degrees``, its audio copied beside it."""
    turned_video = target.with_name(f"video-{target.name}")
    with_display_rotation(source, turned_video, degrees=degrees)
    ffmpeg("-i", str(turned_video), "-i", str(source), "-map", "0:v", "-map", "1:a", "-c", "copy", str(target))
    with av.open(str(target)) as made:
        assert round(next(made.decode(video=0)).rotation) % 360 == degrees % 360, "the display matrix was not kept"


def amr_tone(target: Path, seconds: float) -> Path:
    """A 440 Hz tone in AMR-NB (8 kHz mono), encoded by PyAV's FFmpeg."""
    with av.open(str(target), mode="w", format="amr") as output:
        stream = output.add_stream("libopencore_amrnb", rate=8000, layout="mono")
        stream.bit_rate = 12200
        with av.open(f"sine=frequency=440:sample_rate=8000:duration={seconds}", format="lavfi") as tone:
            for frame in tone.decode(audio=0):
                frame.pts = None
                output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return target


class Corpus:
    """The clips of :data:`CORPUS`, each made the first time a test asks for it, then kept for the session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, Path] = {}
        self.encoders: set[str] | None = None

    def __getitem__(self, name: str) -> Path:
        if name not in self.made:
            clip = CORPUS[name]
            if self.encoders is None:
                self.encoders = encoders_of_ffmpeg()
            missing = sorted(encoders_named(clip) - self.encoders - {"copy"})
            if missing:
                pytest.fail(f"Debian's ffmpeg lacks the encoder {', '.join(missing)}, which {clip.filename} needs")
            self.made[name] = make_recording(self.folder, clip)
        return self.made[name]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    """The corpus; a codec Debian's ffmpeg lacks fails its clip's test, it is never skipped."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed (Debian package 'ffmpeg'); the corpus is made with it")
    return Corpus(tmp_path_factory.mktemp("corpus"))


def decoded_frames(data: bytes) -> int:
    """How many pictures FFmpeg decodes from ``data``; any damage on the way raises."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        return sum(1 for _ in container.decode(stream))


def duration_of(data: bytes) -> float:
    with av.open(io.BytesIO(data), mode="r") as container:
        assert container.duration is not None
        return float(container.duration) / av.time_base


def video_units(data: bytes) -> list[bytes]:
    """The video packets' payloads; H.264 as its NAL units, so that a transport stream's start codes and an
    MP4's length prefixes, which say the same, compare equal."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        packets = [bytes(packet) for packet in container.demux(stream) if packet.size]
        if stream.codec_context.name != "h264":
            return packets
        return [unit for packet in packets for unit in nal_units(packet)]


def nal_units(packet: bytes) -> list[bytes]:
    if packet.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        units = packet.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
        return [unit.rstrip(b"\x00") for unit in units if unit]
    units, offset = [], 0
    while offset + 4 <= len(packet):
        length = int.from_bytes(packet[offset : offset + 4], "big")
        units.append(packet[offset + 4 : offset + 4 + length].rstrip(b"\x00"))
        offset += 4 + length
    return units


def picture_size(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_recording_plays_with_the_facts_and_poster_a_player_shows(immediate_app, corpus, name):
    clip, path = CORPUS[name], corpus[name]
    original = path.read_bytes()
    client = signed_in_client(immediate_app)
    response = upload(client, original, path.name)
    assert response.status_code == 201, response.json
    body = json_body(client.get(json_body(response)["url"]))
    assert body["processing"] == {"state": "done", "error": None}

    media = body["media"]
    assert (media["width"], media["height"]) == clip.shown
    assert [(track["codec"], track["language"], track["channels"]) for track in media["audio_tracks"]] == list(clip.tracks)

    playback = client.get(urlparse(body["playback"]["url"]).path)
    assert playback.status_code == 200
    served = playback.data
    assert body["playback"]["source"] == ("original" if clip.copy == "none" else "copy")
    assert decoded_frames(served) == decoded_frames(original)
    assert duration_of(served) == pytest.approx(media["duration"], abs=0.1)
    with av.open(io.BytesIO(original)) as source, av.open(io.BytesIO(served)) as made:
        video = made.streams.video[0].codec_context
        if clip.copy == "transcode":
            assert (video.name, video.pix_fmt) == ("h264", "yuv420p")
        else:
            assert video.codec.canonical_name == source.streams.video[0].codec_context.codec.canonical_name
        # The track a player starts with is the one the original marks default, in its language.
        heard = [stream.metadata.get("language") for stream in made.streams.audio]
        heard = [None if language == "und" else language for language in heard]
        assert heard == ([clip.tracks[-1][1] if clip.second_tone else clip.tracks[0][1]] if clip.tracks else [])
    if clip.copy == "remux":
        assert video_units(served) == video_units(original), "a remux keeps the video packets as they are"

    poster = client.get(urlparse(body["url"]).path + "/poster")
    assert poster.status_code == 200
    width, height = picture_size(poster.data)
    assert width / height == pytest.approx(clip.shown[0] / clip.shown[1], rel=0.02)



def field_detection(data: bytes) -> dict[str, int]:
    """What ffmpeg's ``idet`` makes of every frame: counts of ``tff``, ``bff``, ``progressive`` and ``undetermined``."""
    log = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-threads", "1", "-i", "-", "-vf", "idet", "-an", "-f", "null", "-"],
        input=data, check=True, capture_output=True,
    ).stderr.decode()
    line = next(line for line in log.splitlines() if "Multi frame detection" in line)
    words = line.split("detection:")[1].replace(":", " ").split()
    return {name.lower(): int(count) for name, count in zip(words[::2], words[1::2], strict=True)}


def test_an_interlaced_source_gets_a_progressive_copy(immediate_app, corpus):
    original = corpus["ts_mpeg2_interlaced"].read_bytes()
    assert field_detection(original)["tff"] >= 45, "the source is combed where its bar moves"
    client = signed_in_client(immediate_app)
    body = json_body(client.get(json_body(upload(client, original, "broadcast.ts"))["url"]))
    assert body["processing"] == {"state": "done", "error": None}
    copy = client.get(urlparse(body["playback"]["url"]).path).data
    with av.open(io.BytesIO(copy)) as made:
        assert made.streams.video[0].codec_context.field_order == 1, "AV_FIELD_PROGRESSIVE"
    fields = field_detection(copy)
    assert fields["progressive"] >= 40 and fields["tff"] + fields["bff"] <= 5, fields


#: Debian's ffmpeg's tone mapping (zimg's transfer functions and primaries, FFmpeg's Hable curve), the measure of the copy's.
REFERENCE_TONE_MAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)
#: What a conversion without tone mapping makes of HDR: the matrix converted, PQ's values taken for BT.709's.
UNMAPPED = "scale=in_color_matrix=bt2020:in_range=tv:out_color_matrix=bt709:out_range=tv,format=yuv420p"


def raw_frames(source: bytes, filters: str, size: tuple[int, int]) -> list[bytes]:
    """Each picture of ``source`` through Debian ffmpeg's ``filters``, as 8-bit 4:2:0 planes without padding."""
    raw = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", "-", "-vf", filters, "-f", "rawvideo", "-"],
        input=source, check=True, capture_output=True,
    ).stdout
    length = size[0] * size[1] * 3 // 2
    return [raw[offset : offset + length] for offset in range(0, len(raw), length)]


def planes_of(frame: av.VideoFrame) -> bytes:
    """A decoded picture as limited-range yuv420p planes without padding (a JPEG poster's full range converted)."""
    picture = frame.reformat(format="yuv420p", src_color_range=int(frame.color_range) or 1, dst_color_range=1)
    widths = (picture.width, picture.width // 2, picture.width // 2)
    heights = (picture.height, picture.height // 2, picture.height // 2)
    out = bytearray()
    for plane, width, height in zip(picture.planes, widths, heights, strict=True):
        data = bytes(plane)
        for row in range(height):
            out += data[row * plane.line_size : row * plane.line_size + width]
    return bytes(out)


def psnr(ours: bytes, reference: bytes) -> float:
    assert len(ours) == len(reference)
    error = sum((a - b) ** 2 for a, b in zip(ours, reference, strict=True)) / len(ours)
    return math.inf if error == 0 else 10 * math.log10(255**2 / error)


def pegged(planes: bytes, size: tuple[int, int]) -> float:
    """The share of luma samples at or above video white (235): clipped highlights."""
    luma = planes[: size[0] * size[1]]
    return sum(1 for value in luma if value >= 235) / len(luma)


def saturation(planes: bytes, size: tuple[int, int]) -> float:
    """The mean distance of the chroma samples from grey (128, 128): 0 for a picture without colour."""
    quarter = size[0] * size[1] // 4
    blue = planes[size[0] * size[1] : size[0] * size[1] + quarter]
    red = planes[size[0] * size[1] + quarter :]
    return sum(math.hypot(b - 128, r - 128) for b, r in zip(blue, red, strict=True)) / quarter


@pytest.mark.parametrize("name", ["hdr_pq", "hdr_hlg"])
def test_an_hdr_recording_gets_a_tone_mapped_sdr_copy_and_poster(immediate_app, corpus, name):
    original = corpus[name].read_bytes()
    size = CORPUS[name].shown
    references = raw_frames(original, REFERENCE_TONE_MAP, size)
    client = signed_in_client(immediate_app)
    body = json_body(client.get(json_body(upload(client, original, corpus[name].name))["url"]))
    assert body["processing"] == {"state": "done", "error": None}
    with immediate_app.app_context():
        video = db.session.get_one(Video, body["id"])
        transfer = "smpte2084" if name == "hdr_pq" else "arib-std-b67"
        assert (video.color_transfer, video.color_primaries, video.color_space) == (transfer, "bt2020", "bt2020nc")
    copy = client.get(urlparse(body["playback"]["url"]).path).data

    with av.open(io.BytesIO(copy), mode="r") as made:
        stream = made.streams.video[0]
        context = stream.codec_context
        assert (context.color_primaries, context.color_trc, context.colorspace) == (1, 1, 1), "tagged BT.709"
        frames = [planes_of(frame) for frame in made.decode(stream)]
    assert len(frames) == len(references)
    middle = len(frames) // 2
    # The copy's picture is the reference's: not PQ or HLG values shown as if they were SDR's.
    assert psnr(frames[middle], references[middle]) >= 30
    unmapped = raw_frames(original, UNMAPPED, size)[middle]
    assert psnr(unmapped, references[middle]) < 25, "the measure tells a copy that is not tone-mapped"
    # Neither clipped (highlights pegged at white) nor washed out (colours gone grey).
    assert pegged(frames[middle], size) <= pegged(references[middle], size) + 0.02
    assert saturation(frames[middle], size) >= 0.85 * saturation(references[middle], size)
    assert max(frames[middle][: size[0] * size[1]]) > 180, "white stays bright"

    poster = client.get(urlparse(body["url"]).path + "/poster")
    with av.open(io.BytesIO(poster.data), mode="r") as still:
        shown = planes_of(next(still.decode(video=0)))
    # The poster is one of the first frames (a tenth into the clip): the nearest of them to it is the reference.
    assert max(psnr(shown, reference) for reference in references[:6]) >= 30
    assert saturation(shown, size) >= 0.85 * saturation(references[2], size)

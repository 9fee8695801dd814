"""Real clips for the media tests, made by ffmpeg once per session, and a throwaway Redis server."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import av
import pytest

from portal import create_app


def make_clip(path: Path, *args: str, seconds: float = 2, size: str = "320x240", audio: bool = True) -> Path:
    """A test-pattern clip of ``seconds`` (with a sine tone unless ``audio`` is false), encoded as ``args`` say."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (Debian package 'ffmpeg'); .ci/run installs it")
    inputs = ["-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate=25"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", *inputs, *args, "-shortest", "-y", str(path)], check=True
    )
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """The clips by kind: h264_aac (index first), vp9_opus, no_audio, moov_at_end, h264_mkv, hevc_mkv, mpeg4_avi, corrupt, garbage."""
    folder = tmp_path_factory.mktemp("clips")
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    made = {
        "h264_aac": make_clip(folder / "h264_aac.mp4", *h264, "-c:a", "aac", "-movflags", "+faststart"),
        "vp9_opus": make_clip(
            folder / "vp9_opus.webm", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-b:v", "200k", "-c:a", "libopus"
        ),
        "no_audio": make_clip(folder / "no_audio.mp4", *h264, "-movflags", "+faststart", audio=False),
        # Lossless, so that the file is big enough (about 0.5 MiB) for what probing reads of it to tell.
        "moov_at_end": make_clip(
            folder / "moov_at_end.mp4", *h264, "-qp", "0", seconds=4, size="640x360", audio=False
        ),
    }
    # Browsers play none of these as they are: the first is remuxed, the others transcoded.
    made["h264_mkv"] = make_clip(folder / "h264.mkv", *h264, "-c:a", "aac")
    made["hevc_mkv"] = make_clip(
        folder / "hevc.mkv", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "libopus"
    )
    made["mpeg4_avi"] = make_clip(folder / "mpeg4.avi", "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame")
    made["corrupt"] = folder / "corrupt.mp4"
    made["corrupt"].write_bytes(with_garbage_samples(made["no_audio"].read_bytes()))
    made["garbage"] = folder / "garbage.mp4"
    made["garbage"].write_bytes(made["no_audio"].read_bytes()[:32] + random.Random(2).randbytes(20_000))
    return made


def with_garbage_samples(mp4: bytes) -> bytes:
    """The MP4 with its headers and index intact and every byte of its samples (``mdat``) random."""
    data = bytearray(mp4)
    start = data.index(b"mdat") + 4
    size = int.from_bytes(data[start - 8 : start - 4], "big")
    data[start : start - 8 + size] = random.Random(1).randbytes(size - 8)
    return bytes(data)


@pytest.fixture
def immediate_app(tmp_path, database_url):
    """The portal with jobs run at once inside the caller, and retried at once: for tests of what a job does."""
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp_path / "data"),
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "QUEUE_IMMEDIATE": True,
            "JOB_RETRY_DELAY": 0,
            "JOB_RETRIES": 2,
        }
    )
    yield app
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture
def redis_url(tmp_path):
    """A Redis server of this test only, on a Unix socket (``unix://...``), keeping nothing on disk."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package 'redis-server'); .ci/run installs it")
    path = tmp_path / "redis.sock"
    process = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(path), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit status {process.poll()})")
            time.sleep(0.02)
        yield f"unix://{path}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX) as connection:
        try:
            connection.connect(str(path))
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture(scope="session")
def recordings(tmp_path_factory) -> dict[str, Path]:
    """Clips like real recordings, with encoder defaults rather than the fastest settings, made once per session.

    ``bframes_mkv``: x264's default preset (B-frames, so Matroska's first packets have no decoding time);
    ``high10_mp4``, ``yuv422_mp4``, ``yuv444_mp4``: H.264 profiles only Chromium decodes;
    ``theora_ogv``: Theora with Opus in Ogg; ``mpeg1_mpg``: MPEG-1 video with MP2 in MPEG-PS;
    ``anamorphic_mkv``: 360x288 shown 16:9 (512x288), with an English and a French audio track;
    ``rotated_mp4``: 320x240 stored, turned 90 degrees by its display matrix (a phone filming upright);
    ``rotated_hevc_mp4``: the same in HEVC, as an iPhone records;
    ``black_start_mp4``: its first second black, then the test pattern.
    """
    folder = tmp_path_factory.mktemp("recordings")
    x264 = ["-c:v", "libx264", "-preset", "medium"]
    made = {
        "bframes_mkv": make_clip(folder / "bframes.mkv", *x264, "-pix_fmt", "yuv420p", "-c:a", "aac"),
        "high10_mp4": make_clip(folder / "high10.mp4", *x264, "-pix_fmt", "yuv420p10le", "-c:a", "aac", audio=False),
        "yuv422_mp4": make_clip(folder / "yuv422.mp4", *x264, "-pix_fmt", "yuv422p", "-c:a", "aac"),
        "yuv444_mp4": make_clip(folder / "yuv444.mp4", *x264, "-pix_fmt", "yuv444p", audio=False),
        "theora_ogv": make_clip(folder / "theora.ogv", "-c:v", "libtheora", "-q:v", "5", "-c:a", "libopus"),
        "mpeg1_mpg": make_clip(folder / "mpeg1.mpg", "-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg"),
        "anamorphic_mkv": folder / "anamorphic.mkv",
        "black_start_mp4": folder / "black_start.mp4",
    }
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "lavfi", "-i", "sine=frequency=660:duration=2"]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=2:size=360x288:rate=25",
         *tone, "-map", "0", "-map", "1", "-map", "2", *x264, "-pix_fmt", "yuv420p", "-aspect", "16:9", "-c:a", "aac",
         "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-shortest", "-y",
         str(made["anamorphic_mkv"])],
        check=True,
    )
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=black:duration=1:size=320x240:rate=25",
         "-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=25", "-filter_complex", "[0][1]concat=n=2:v=1",
         *x264, "-pix_fmt", "yuv420p", "-y", str(made["black_start_mp4"])],
        check=True,
    )
    made["rotated_mp4"] = with_display_rotation(
        make_clip(folder / "upright.mp4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", audio=False),
        folder / "rotated.mp4",
        degrees=90,
    )
    made["rotated_hevc_mp4"] = with_display_rotation(
        make_clip(folder / "upright_hevc.mp4", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                  "log-level=error:bframes=0", audio=False),
        folder / "rotated_hevc.mp4",
        degrees=90,
    )
    return made


def with_display_rotation(source: Path, target: Path, degrees: float) -> Path:
    """A copy of ``source``'s video turned by its display matrix, as phones write it (Debian's ffmpeg 5.1 has no
    ``-display_rotation``, and no longer turns ``rotate`` metadata into a matrix)."""
    with av.open(str(source), mode="r") as original, av.open(str(target), mode="w") as turned:
        video = original.streams.video[0]
        output = turned.add_stream_from_template(video)
        output.set_display_rotation(degrees)
        for packet in original.demux(video):
            if packet.size:
                packet.stream = output
                turned.mux(packet)
    return target

"""The media jobs against their limits, in one run: probing, posters, remuxes, transcodes, and the pages meanwhile.

``python bench/media.py [--size 1GiB] [--seconds 10] [--quick] [--json PATH]``

- probing reads a bounded part of a ``--size`` 1080p H.264 MP4, with its index
  at the start and at the end (target: under 16 MiB read);
- the poster of that file, from the job's start (target: under 1 s);
- a remux of it (as MKV, to MP4) against the hash+copy limit of the same bytes
  (read, SHA-256, write and fsync in plain Python; target: 0.5 or more);
- a 1080p HEVC to H.264 transcode of ``--seconds`` against Debian's ``ffmpeg``
  with the same codec, preset and CRF on the same input (target: 0.9 or more);
- the library page's p99 latency while the portal's own consumer transcodes
  (target: under 50 ms).

The clips are made with Debian's ``ffmpeg`` first (not timed). It prints one
table and writes the figures as JSON, like ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import MIB  # noqa: E402
from bench.common import Figure  # noqa: E402
from bench.common import hash_copy_limit  # noqa: E402
from bench.common import median  # noqa: E402
from bench.common import parse_size  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.common import signed_in_cookie  # noqa: E402
from bench.common import table  # noqa: E402
from bench.common import write_results  # noqa: E402
from portal.media.playable import CRF  # noqa: E402
from portal.media.playable import PRESET  # noqa: E402
from portal.media.playable import CopyKind  # noqa: E402
from portal.media.playable import CopyPlan  # noqa: E402
from portal.media.playable import make_copy  # noqa: E402
from portal.media.poster import make_poster  # noqa: E402
from portal.media.probe import CountingReader  # noqa: E402
from portal.media.probe import probe  # noqa: E402
from tests.support import RunningPortal  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
TESTSRC = "testsrc2=size=1920x1080:rate=30"


def ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_big_mp4(path: Path, size: int, faststart: bool) -> None:
    """A 1080p H.264/AAC MP4 of about ``size`` bytes: a short encoded loop, repeated by stream copy (fast to make)."""
    loop = path.with_suffix(".loop.mp4")
    ffmpeg(
        "-f", "lavfi", "-i", f"{TESTSRC}:duration=10", "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "40M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(loop),
    )  # fmt: skip
    repeats = max(1, round(size / loop.stat().st_size))
    ffmpeg(
        "-stream_loop", str(repeats - 1), "-i", str(loop), "-c", "copy",
        *(["-movflags", "+faststart"] if faststart else []), str(path),
    )  # fmt: skip
    loop.unlink()


def probe_figures(big: Path, moov_at_end: Path) -> list[Figure]:
    figures = []
    for label, path in (("index first", big), ("index at the end", moov_at_end)):
        with path.open("rb") as raw:
            reader = CountingReader(raw)
            probe(reader, "video/mp4")  # type: ignore[arg-type]
            read = reader.bytes_read
        figures.append(
            Figure(
                "media", f"probe reads, {label}", "MiB", read / MIB, target="< 16 MiB", higher_is_better=False, maximum_value=16
            )
        )
    return figures


def poster_figure(big: Path, duration: float) -> Figure:
    started = time.perf_counter()
    make_poster(lambda: big.open("rb"), duration)
    seconds = time.perf_counter() - started
    return Figure("media", "poster of the big MP4", "s", seconds, target="< 1 s", higher_is_better=False, maximum_value=1)


def remux_figure(big: Path, work: Path) -> list[Figure]:
    mkv = work / "big.mkv"
    ffmpeg("-i", str(big), "-c", "copy", str(mkv))
    size = mkv.stat().st_size
    limit = median(hash_copy_limit(mkv, work, 1))
    target = work / "remuxed.mp4"
    started = time.perf_counter()
    with mkv.open("rb") as source:
        make_copy(source, CopyPlan(CopyKind.REMUX, "mp4", "video/mp4"), target)
    # Then the job stores the copy: read, SHA-256 and write it (what the hash+copy pass does).
    hash_copy_limit(target, work, 1)
    rate = size / MIB / (time.perf_counter() - started)
    target.unlink()
    mkv.unlink()
    return [
        Figure("media", "remux MKV -> MP4, stored", "MB/s", rate, "hash+copy", limit, target=">= 0.5", minimum_ratio=0.5)
    ]


def transcode_figure(work: Path, seconds: int) -> tuple[Figure, Path]:
    hevc = work / "hevc.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", f"{TESTSRC}:duration={seconds}", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p",
        "-c:a", "libopus", "-shortest", str(hevc),
    )  # fmt: skip
    started = time.perf_counter()
    ffmpeg(
        "-i", str(hevc), "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-movflags", "+faststart", str(work / "ffmpeg.mp4"),
    )  # fmt: skip
    reference = seconds / (time.perf_counter() - started)
    started = time.perf_counter()
    with hevc.open("rb") as source:
        make_copy(source, CopyPlan(CopyKind.TRANSCODE, "mp4", "video/mp4"), work / "portal.mp4")
    speed = seconds / (time.perf_counter() - started)
    figure = Figure(
        "media", "transcode 1080p HEVC -> H.264", "x real time", speed, "ffmpeg", reference, target=">= 0.9", minimum_ratio=0.9
    )
    return figure, hevc


def page_latency_figure(work: Path, hevc: Path) -> Figure:
    """The library page's p99 while the portal's own consumer transcodes ``hevc``."""
    running = RunningPortal([sys.executable, "wsgi.py"], work / "portal-data", {"PORTAL_JOB_WORKERS": "1"})
    try:
        created = running.http.post(running.url + "/api/v1/files?filename=hevc.mkv", data=hevc.read_bytes(), timeout=120)
        created.raise_for_status()
        url = created.json()["url"]
        session = requests.Session()
        session.headers.update(signed_in_cookie(running.port))
        deadline = time.monotonic() + 30
        while running.http.get(url, timeout=10).json()["processing"]["state"] != "running":
            if time.monotonic() > deadline:
                raise SystemExit("the transcode did not start within 30 s")
            time.sleep(0.05)
        samples: list[float] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if running.http.get(url, timeout=10).json()["processing"]["state"] != "running":
                    done.set()
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        while not done.is_set() and len(samples) < 2000:
            started = time.perf_counter()
            response = session.get(running.url + "/", timeout=10)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        done.set()
        watcher.join()
    finally:
        running.stop()
    return Figure(
        "media",
        f"library page p99 during a transcode ({len(samples)} requests)",
        "ms",
        percentile(samples, 0.99),
        target="< 50 ms",
        higher_is_better=False,
        maximum_value=50,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GiB"), help="size of the big MP4 (default 1GiB)")
    parser.add_argument("--seconds", type=int, default=10, help="length of the 1080p transcode (default 10)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: a 64 MiB MP4 and a 2 s transcode")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "media.json")
    args = parser.parse_args(argv)
    if FFMPEG is None:
        raise SystemExit("Debian's ffmpeg is needed to make the clips and as the transcode's reference: apt-get install ffmpeg")
    size = 64 * MIB if args.quick else args.size
    seconds = 2 if args.quick else args.seconds
    work = Path(tempfile.mkdtemp(prefix="portal-media-bench-"))
    started = time.monotonic()
    try:
        big, moov_at_end = work / "big.mp4", work / "moov-at-end.mp4"
        make_big_mp4(big, size, faststart=True)
        ffmpeg("-i", str(big), "-c", "copy", str(moov_at_end))
        with big.open("rb") as raw:
            duration = probe(raw, "video/mp4").duration or 0.0
        figures = probe_figures(big, moov_at_end)
        moov_at_end.unlink()
        figures.append(poster_figure(big, duration))
        figures.extend(remux_figure(big, work))
        big.unlink()
        transcode, hevc = transcode_figure(work, seconds)
        figures.append(transcode)
        figures.append(page_latency_figure(work, hevc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"portal media benchmark: {size / MIB:,.0f} MiB MP4, {seconds} s transcode, {os.cpu_count()} CPUs, "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    print("ratio: portal / reference for rates (above 1 = portal better)")
    print(table(figures))
    write_results(args.json, {"figures": [figure.as_json() for figure in figures]})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What resuming costs: a tus upload in chunks against one raw-body upload of the same file, in one run.

``python bench/tus.py [--size 1GiB] [--chunk 16MiB] [--repeat 3] [--quick] [--json PATH]``

It starts the portal as in production (``python wsgi.py``, one waitress process
per CPU, a fresh data folder) and uploads the same file, alternately:

- as one raw body to ``POST /api/v1/files`` (the fastest way in);
- with tus: ``POST /api/v1/uploads``, then ``PATCH`` after ``PATCH`` of
  ``--chunk`` bytes on one kept-alive connection, as tuspy or tus-js-client do,
  timed from the creation to the last chunk's answer (the file checked and stored).

Both send the file with ``sendfile``, never through Python, and are checked to
end with the file's SHA-256. Meanwhile the server's resident memory (all its
processes) is sampled, to show it stays flat whatever the size. The target: tus
at 0.6 of the raw body or better. Figures are medians of ``--repeat`` runs;
``--quick`` (an 8 MiB file in 1 MiB chunks, one run) keeps a test of the bench cheap.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import MIB  # noqa: E402
from bench.common import Figure  # noqa: E402
from bench.common import PeakRss  # noqa: E402
from bench.common import Server  # noqa: E402
from bench.common import connect  # noqa: E402
from bench.common import make_video_file  # noqa: E402
from bench.common import median  # noqa: E402
from bench.common import megabytes_per_second  # noqa: E402
from bench.common import parse_size  # noqa: E402
from bench.common import rss_bytes  # noqa: E402
from bench.common import start_portal  # noqa: E402
from bench.common import table  # noqa: E402
from bench.common import upload  # noqa: E402
from bench.common import write_results  # noqa: E402

#: What the issue asks of tus against the raw body.
TARGET_RATIO = 0.6
#: The most the server's memory may grow during an upload, whatever its size.
GROWTH_LIMIT_MIB = 32


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def tus_upload(server: Server, source: Path, chunk: int, sha256: str) -> tuple[float, str]:
    """Create an upload and PATCH ``source`` in chunks of ``chunk`` bytes; (seconds, the stored file's id)."""
    size = source.stat().st_size
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in {"filename": "bench.mp4", "sha256": sha256}.items()
    )
    started = time.perf_counter()
    connection = connect(server.port)
    try:
        connection.request(
            "POST", "/api/v1/uploads",
            headers={**server.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": metadata},
        )
        created = connection.getresponse()
        created.read()
        if created.status != 201:
            raise RuntimeError(f"creating the upload failed with {created.status}")
        location = created.getheader("Location", "")
        path = "/" + location.split("/", 3)[3]
        offset = 0
        answer: Any = None
        with open(source, "rb") as file:
            while offset < size:
                count = min(chunk, size - offset)
                connection.putrequest("PATCH", path, skip_accept_encoding=True)
                for name, value in {
                    **server.headers,
                    "Tus-Resumable": "1.0.0",
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                    "Content-Length": str(count),
                }.items():
                    connection.putheader(name, value)
                connection.endheaders()
                connection.sock.sendfile(file, offset, count)
                answer = connection.getresponse()
                body = answer.read()
                if answer.status != 204:
                    raise RuntimeError(f"PATCH at {offset} failed with {answer.status}: {body[:300]!r}")
                offset = int(answer.getheader("Upload-Offset", "0"))
        seconds = time.perf_counter() - started
        file_url = answer.getheader("Portal-File-URL", "")
        return seconds, file_url.rsplit("/", 1)[1]
    finally:
        connection.close()


def remove_video(server: Server, video_id: str) -> None:
    """Delete for good (trash, then purge), so a 1 GiB run does not fill the disk."""
    connection = connect(server.port)
    try:
        for path in (f"/api/v1/files/{video_id}", f"/api/v1/trash/{video_id}"):
            connection.request("DELETE", path, headers=server.headers)
            connection.getresponse().read()
    finally:
        connection.close()


def stored_sha256(server: Server, video_id: str) -> str:
    connection = connect(server.port)
    try:
        connection.request("GET", f"/api/v1/files/{video_id}", headers=server.headers)
        return str(json.loads(connection.getresponse().read())["sha256"])
    finally:
        connection.close()


def measure(work: Path, size: int, chunk: int, repeat: int) -> tuple[list[Figure], dict[str, Any]]:
    source = work / "source.mp4"
    make_video_file(source, size)
    sha256 = file_sha256(source)
    portal = start_portal(work)
    samples: dict[str, Any] = {"raw_mb_s": [], "tus_mb_s": [], "rss": {}}
    try:
        idle = rss_bytes(portal.pid)
        peaks = {"raw": idle, "tus": idle}
        for _ in range(repeat):
            with PeakRss(portal.pid) as rss:
                reply = upload(portal.port, "/api/v1/files?filename=bench.mp4", source, headers=portal.headers)
            if reply.status != 201:
                raise RuntimeError(f"the raw upload failed with {reply.status}: {reply.body[:300]!r}")
            peaks["raw"] = max(peaks["raw"], rss.peak)
            samples["raw_mb_s"].append(megabytes_per_second(size, reply.seconds))
            remove_video(portal, json.loads(reply.body)["id"])
            os.sync()
            with PeakRss(portal.pid) as rss:
                seconds, video_id = tus_upload(portal, source, chunk, sha256)
            peaks["tus"] = max(peaks["tus"], rss.peak)
            if stored_sha256(portal, video_id) != sha256:
                raise RuntimeError("the tus upload stored other bytes than were sent")
            samples["tus_mb_s"].append(megabytes_per_second(size, seconds))
            remove_video(portal, video_id)
            os.sync()
        samples["rss"] = {"idle": idle, **peaks}
    finally:
        portal.stop()
    raw, tus = median(samples["raw_mb_s"]), median(samples["tus_mb_s"])
    label = f"tus, {chunk / MIB:g} MiB PATCHes"
    figures = [
        Figure("upload", "raw body", "MB/s", raw),
        Figure("upload", label, "MB/s", tus, "raw body", raw, f"ratio >= {TARGET_RATIO}", minimum_ratio=TARGET_RATIO),
        Figure("memory", "server RSS idle", "MiB", idle / MIB),
        Figure("memory", "server RSS peak, raw body", "MiB", peaks["raw"] / MIB, "idle", idle / MIB, higher_is_better=False),
        Figure("memory", f"server RSS peak, {label}", "MiB", peaks["tus"] / MIB, "idle", idle / MIB, higher_is_better=False),
        Figure(
            "memory", f"server RSS peak, {label}", "MiB", peaks["tus"] / MIB, "raw body", peaks["raw"] / MIB,
            higher_is_better=False,
        ),
        # Flat: the growth over idle does not follow the file's size (the same bound as bench/run.py's).
        Figure(
            "memory", f"server RSS growth, {label}", "MiB", (peaks["tus"] - idle) / MIB, target=f"< {GROWTH_LIMIT_MIB} MiB",
            maximum_value=GROWTH_LIMIT_MIB,
        ),
    ]
    return figures, samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1GiB"), help="size of the test file (default 1GiB)")
    parser.add_argument("--chunk", type=parse_size, default=parse_size("16MiB"), help="bytes per PATCH (default 16MiB)")
    parser.add_argument("--repeat", type=int, help="runs of each upload; the median is reported (default 3, 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: an 8 MiB file in 1 MiB chunks, one run")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "tus.json", help="where to write the results")
    args = parser.parse_args(argv)
    size = 8 * MIB if args.quick and args.size == parse_size("1GiB") else args.size
    chunk = MIB if args.quick and args.chunk == parse_size("16MiB") else args.chunk
    if size < 2 * MIB or chunk < 1:
        parser.error("--size must be at least 2MiB and --chunk at least 1 byte")
    repeat = args.repeat or (1 if args.quick else 3)
    work = Path(tempfile.mkdtemp(prefix="portal-bench-tus-"))
    started = time.monotonic()
    try:
        figures, samples = measure(work, size, chunk, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"portal tus benchmark: {size / MIB:,.0f} MiB file in {chunk / MIB:g} MiB PATCHes, median of {repeat} run(s), "
        f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s"
    )
    print("ratio: tus / raw body for rates, reference / value for memory (above 1 = smaller than the reference)")
    print(table(figures))
    result = {
        "meta": {
            "size": size,
            "chunk": chunk,
            "repeat": repeat,
            "quick": args.quick,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
        },
        "figures": [figure.as_json() for figure in figures],
        "samples": samples,
    }
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Many slow viewers against the portal: does everyone else still get an answer?

``python bench/viewers.py [--viewers 200] [--rate 64KiB] [--seconds 20] [--size 16MiB]``

It starts the portal as in production (``python wsgi.py``, one process per
CPU) on 127.0.0.1, stores two videos, then opens ``--viewers`` connections:
half download the first video whole, half stream the second with
``Range: bytes=0-`` just after its bytes were touched (so every stream is
hashed, like the first plays after an upload). Each reads ``--rate`` bytes per
second. Once every viewer has its answer's headers, and while they read, the
library page and the API listing are fetched one after the other on fresh connections, ``/healthz`` is checked and one upload is
made; the server's resident memory (every process) is sampled throughout.
It prints the latencies (p50, p99, max), what failed, and the memory growth.
Bounded: it stops by itself after ``--seconds``; loopback only.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from typing import Mapping

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import rss_bytes  # noqa: E402
from tests.slow_viewers import Probe  # noqa: E402
from tests.slow_viewers import SlowViewers  # noqa: E402
from tests.slow_viewers import probe_while  # noqa: E402
from tests.support import mp4_header  # noqa: E402

MIB = 1024 * 1024
KIB = 1024


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(|B|KiB|MiB|GiB)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 64KiB, 16MiB)")
    return int(match.group(1)) * {"": 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": 1024 * MIB}[match.group(2)]


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by ``pid`` and all its descendants (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_seconds(int(child)) for child in children)


class PeakMemory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.peak = max(self.peak, rss_bytes(self.pid))


def video_bytes(size: int, seed: bytes) -> bytes:
    body = hashlib.shake_256(seed).digest(size - len(mp4_header(size)))
    return mp4_header(size) + body


def post_video(port: int, headers: Mapping[str, str], name: str, data: bytes, timeout: float = 120) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", f"/api/v1/files?filename={name}", body=data, headers=dict(headers))
        response = connection.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else {}
    finally:
        connection.close()


def stored_path(data_dir: Path, video_id: str) -> Path:
    return next(path for path in (data_dir / "files").rglob(video_id) if path.is_file())


def measure_viewers(
    port: int,
    server_pid: int,
    api_headers: Mapping[str, str],
    page_headers: Mapping[str, str],
    data_dir: Path,
    viewers: int = 200,
    rate: int = 64 * KIB,
    seconds: float = 20,
    size: int = 16 * MIB,
) -> dict[str, Any]:
    """The load described in this module's docstring against a running portal; every figure measured."""
    whole_status, whole = post_video(port, api_headers, "viewers-whole.mp4", video_bytes(size, b"whole"))
    stream_status, stream = post_video(port, api_headers, "viewers-stream.mp4", video_bytes(size, b"stream"))
    if whole_status != 201 or stream_status != 201:
        raise RuntimeError(f"storing the viewers' videos answered {whole_status} and {stream_status}")
    # A change behind the portal's back: every bytes=0- stream must hash the file again.
    os.utime(stored_path(data_dir, stream["id"]))
    time.sleep(0.05)
    downloads = [(f"/api/v1/files/{whole['id']}/content", dict(api_headers)) for _ in range(viewers // 2)]
    downloads += [
        (f"/api/v1/files/{stream['id']}/content", {**api_headers, "Range": "bytes=0-"})
        for _ in range(viewers - viewers // 2)
    ]
    probes = [Probe("/", page_headers), Probe("/api/v1/files", api_headers)]
    health = Probe("/healthz", {})
    for probe in probes:
        probe.once(port, timeout=30)  # warm caches (templates, statements) before measuring
        probe.samples_ms.clear()
    before = rss_bytes(server_pid)
    cpu_before = tree_cpu_seconds(server_pid)
    memory = PeakMemory(server_pid)
    memory.start()
    started = time.monotonic()
    with SlowViewers(port, downloads, rate) as load:
        # Measured once every viewer is being served: their arrival, all in the same few
        # milliseconds, is a burst no audience makes (how long it took is "all_answered_s").
        load.wait_for_answers(timeout=60)
        connected = time.monotonic() - started
        upload_result: dict[str, Any] = {}

        def upload_during_load() -> None:
            time.sleep(seconds / 3)
            data = video_bytes(MIB, b"upload during load")
            began = time.perf_counter()
            status, body = post_video(port, api_headers, "during-load.mp4", data, timeout=60)
            upload_result.update(status=status, ms=(time.perf_counter() - began) * 1000)
            upload_result["sha256_matches"] = body.get("sha256") == hashlib.sha256(data).hexdigest()

        uploader = threading.Thread(target=upload_during_load, daemon=True)
        uploader.start()
        probe_while(port, [*probes, health], seconds, interval=0.1, timeout=30)
        uploader.join(timeout=60)
        still_open = load.open_count
        received = sum(viewer.received for viewer in load.viewers)
        statuses = sorted({viewer.status or 0 for viewer in load.viewers})
        elapsed = time.monotonic() - started
        cpu = tree_cpu_seconds(server_pid) - cpu_before
    memory.done.set()
    memory.join()
    peak = max(memory.peak, rss_bytes(server_pid))
    return {
        "viewers": viewers,
        "rate_kib_s": rate / KIB,
        "seconds": round(elapsed, 1),
        "all_answered_s": round(connected, 2),
        "viewer_statuses": statuses,
        "viewers_still_open": still_open,
        "viewers_mean_kib_s": round(received / viewers / elapsed / KIB, 1),
        #: CPU the server used meanwhile, in percent of one CPU (probes and upload included).
        "server_cpu_percent": round(cpu / elapsed * 100, 1),
        "probes": {
            probe.path: {
                "count": len(probe.samples_ms),
                "p50_ms": probe.percentile(0.5),
                "p99_ms": probe.percentile(0.99),
                "max_ms": max(probe.samples_ms, default=None),
                "non_200": [status for status in probe.statuses if status != 200],
                "failures": probe.failures[:3],
            }
            for probe in probes
        },
        "healthz": {
            "count": len(health.statuses),
            "non_200": [status for status in health.statuses if status != 200],
            "failures": health.failures[:3],
        },
        "upload": upload_result,
        "rss_before_mib": round(before / MIB, 1),
        "rss_growth_mib": round((peak - before) / MIB, 1),
        "rss_after_mib": round(rss_bytes(server_pid) / MIB, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.common import signed_in_cookie  # the benchmark's sign-in through the /login form
    from tests.support import RunningPortal

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--rate", type=parse_size, default=64 * KIB, help="bytes per second each viewer reads")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--size", type=parse_size, default=16 * MIB, help="size of the videos viewed")
    parser.add_argument("--processes", type=int, help="PORTAL_PROCESSES (default: one per CPU)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="portal-viewers-") as work:
        data_dir = Path(work) / "data"
        portal = RunningPortal(
            [sys.executable, "wsgi.py"], data_dir, {}, log_path=Path(work) / "portal.log", processes=args.processes
        )
        try:
            result = measure_viewers(
                portal.port, portal.process.pid, portal.auth_headers, signed_in_cookie(portal.port), data_dir,
                args.viewers, args.rate, args.seconds, args.size,
            )
            log = portal.output().splitlines()
        finally:
            portal.stop()
    result["log_lines_not_startup"] = [line for line in log[2:] if line.strip()][:10]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

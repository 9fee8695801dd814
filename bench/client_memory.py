"""The command-line client's memory while it moves large files: it must stay flat, whatever the size.

``python bench/client_memory.py [--sizes 64MiB 512MiB] [--json PATH]``

It starts the portal (``python wsgi.py``, a fresh data folder) on 127.0.0.1,
then for each size makes a file (an MP4 header and zeros), uploads it with
``portal-client upload`` (tus, 16 MiB PATCHes) and downloads it again with
``portal-client download``, each a child process run from ``client/``. The
peak resident memory of each child comes from the kernel (``VmHWM``),
beside that of a client that only starts (``--help``): what
the transfer itself costs is the difference, and it should not grow with the
size. Throughput is printed too, but it is the server's and the disk's as much
as the client's. Only the standard library drives it (the portal's own code
seeds the database, the client needs its own dependencies installed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import RunningPortal  # noqa: E402
from tests.support import mp4_header  # noqa: E402

MIB = 1024 * 1024
UNITS = {"kib": 1024, "mib": MIB, "gib": 1024 * MIB}


def parse_size(text: str) -> int:
    lowered = text.strip().lower()
    for unit, factor in UNITS.items():
        if lowered.endswith(unit):
            return int(lowered[: -len(unit)]) * factor
    return int(lowered)


def make_video(path: Path, size: int) -> str:
    """A file of ``size`` bytes the portal takes for an MP4; its SHA-256."""
    digest = hashlib.sha256()
    header = mp4_header(size)
    block = bytes(MIB)
    with path.open("wb") as file:
        file.write(header)
        digest.update(header)
        left = size - len(header)
        while left > 0:
            piece = block[: min(left, MIB)]
            file.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def high_water_mark(pid: int) -> int | None:
    """The peak resident bytes of process ``pid`` so far (``VmHWM``), None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def run_client(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Seconds taken, peak resident bytes and standard output of ``portal-client args``.

    The peak is the kernel's ``VmHWM`` of the child, read until it exits (it
    only grows). ``wait4``'s ``ru_maxrss`` would not do: it counts the copy of
    this process the child was before it ran Python anew.
    """
    started = time.monotonic()
    peak = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([sys.executable, "-m", "portal_client", *args], env=env, cwd=cwd, stdout=out, stderr=errors)
        while child.poll() is None:
            peak = max(peak, high_water_mark(child.pid) or 0)
            time.sleep(0.02)
        seconds = time.monotonic() - started
        out.seek(0)
        errors.seek(0)
        if child.returncode != 0:
            message = errors.read().decode(errors="replace")
            raise SystemExit(f"portal-client {' '.join(args)} failed ({child.returncode}): {message}")
        return seconds, peak, out.read().decode()


def measure(sizes: list[int], folder: Path) -> dict[str, Any]:
    portal = RunningPortal([sys.executable, "wsgi.py"], folder / "data", {"PORTAL_MAX_CONTENT_LENGTH": str(max(sizes) * 2)})
    try:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "client"),
            "PORTAL_URL": portal.url,
            "PORTAL_TOKEN": str(portal.token),
            "XDG_STATE_HOME": str(folder / "state"),
            "XDG_CONFIG_HOME": str(folder / "config"),
        }
        _seconds, baseline, _out = run_client(["--help"], env, folder)
        results: dict[str, Any] = {"baseline_rss": baseline, "sizes": []}
        for size in sizes:
            video = folder / f"bench-{size}.mp4"
            sha256 = make_video(video, size)
            up_seconds, up_rss, out = run_client(["upload", str(video)], env, folder)
            file_id, _name, _label, stored = out.split()
            if stored != sha256:
                raise SystemExit(f"the portal stored SHA-256 {stored}, not {sha256}")
            video.unlink()
            target = folder / f"back-{size}.mp4"
            down_seconds, down_rss, _out = run_client(["download", file_id, "-o", str(target)], env, folder)
            target.unlink()
            portal.http.delete(f"{portal.url}/api/v1/files/{file_id}", timeout=30)
            portal.http.delete(f"{portal.url}/api/v1/trash/{file_id}", timeout=30)
            results["sizes"].append({
                "size": size,
                "upload": {"seconds": up_seconds, "mb_s": size / MIB / up_seconds, "peak_rss": up_rss},
                "download": {"seconds": down_seconds, "mb_s": size / MIB / down_seconds, "peak_rss": down_rss},
            })
        return results
    finally:
        portal.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=parse_size, default=[64 * MIB, 512 * MIB], metavar="SIZE")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="portal-client-bench-") as scratch:
        results = measure(args.sizes, Path(scratch))
    base = results["baseline_rss"] / MIB
    print(f"client at rest (--help): {base:.1f} MiB resident")
    print(f"{'size':>10}  {'upload MiB/s':>12}  {'upload peak':>12}  {'download MiB/s':>14}  {'download peak':>13}")
    for row in results["sizes"]:
        print(
            f"{row['size'] / MIB:>7.0f} MiB  {row['upload']['mb_s']:>12.1f}  {row['upload']['peak_rss'] / MIB:>8.1f} MiB"
            f"  {row['download']['mb_s']:>14.1f}  {row['download']['peak_rss'] / MIB:>9.1f} MiB"
        )
    peaks = [row[kind]["peak_rss"] for row in results["sizes"] for kind in ("upload", "download")]
    growth = (max(peaks) - min(peaks)) / MIB
    print(f"peak memory varies by {growth:.1f} MiB across sizes {' '.join(str(s // MIB) + 'MiB' for s in args.sizes)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a backup costs: a first backup against ``cp -r`` of the same folder, and a second one of an unchanged library.

``python bench/backup.py [--videos 10000] [--size 64KiB] [--json PATH]``

It seeds a fresh SQLite portal with ``--videos`` videos (rows as
``bench/library.py`` makes them, each with a real object of ``--size`` random
bytes in the local storage, its SHA-256 in its row), then, on a local folder:

- ``cp -r`` of the storage folder, timed alone and followed by ``sync`` (the
  backup fsyncs each object it writes, ``cp`` does not);
- ``backup create`` (the service, in-process): the first, which copies every
  object, and a second of the unchanged library, which copies only the
  database and a manifest (it still lists the destination and reads every row).

Targets (the issue's): the first backup at 0.7 of ``cp``'s rate or better; the
second under 10 s for 10,000 videos (projected from ``--videos`` when fewer).
Both backups are verified (``backup verify``'s check) before their figures count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.library import ADMIN_PASSWORD  # noqa: E402
from bench.library import ADMIN_USERNAME  # noqa: E402
from bench.library import bulk_insert_sqlite  # noqa: E402
from bench.library import video_rows  # noqa: E402
from bench.run import MIB  # noqa: E402
from bench.run import Figure  # noqa: E402
from bench.run import megabytes_per_second  # noqa: E402
from bench.run import parse_size  # noqa: E402
from bench.run import table  # noqa: E402

#: The first backup's rate against ``cp -r``'s, at least.
TARGET_RATIO = 0.7
#: Seconds a second backup of an unchanged library of :data:`TARGET_VIDEOS` videos may take.
TARGET_SECOND_S = 10.0
TARGET_VIDEOS = 10_000


def seed(app: Any, count: int, size: int) -> int:
    """``count`` video rows, each naming an object of ``size`` random bytes written through the storage; the bytes."""
    import hashlib

    from portal.accounts import service
    from portal.extensions import db
    from portal.storage import current_storage

    def rows() -> Any:
        storage = current_storage()
        for row, tags in video_rows(count, owners):
            data = os.urandom(size)
            upload = storage.create(row["storage_key"])
            upload.write(data)
            upload.commit()
            yield {**row, "size": size, "sha256": hashlib.sha256(data).hexdigest()}, tags

    with app.app_context():
        owners = [service.create_user(ADMIN_USERNAME, ADMIN_PASSWORD, "admin").id]
        db.session.remove()
        bulk_insert_sqlite(db.engine, rows(), {})
        db.engine.dispose()
    return count * size


def timed_cp(source: Path, target: Path, sync: bool) -> float:
    shutil.rmtree(target, ignore_errors=True)
    os.sync()
    started = time.perf_counter()
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    if sync:
        os.sync()
    return time.perf_counter() - started


def timed_backup(app: Any, dest: Path) -> tuple[float, Any]:
    from portal.backup import create_backup
    from portal.backup import destination
    from portal.backup import read_manifest
    from portal.backup import verify_backup

    with app.app_context():
        os.sync()
        started = time.perf_counter()
        created = create_backup(destination(str(dest)))
        seconds = time.perf_counter() - started
        target = destination(str(dest))
        problems = list(verify_backup(target, read_manifest(target, created.backup_id)))
    if problems:
        raise RuntimeError(f"backup {created.backup_id} does not verify: {problems[:5]}")
    return seconds, created


def measure(work: Path, count: int, size: int) -> tuple[list[Figure], dict[str, Any]]:
    from portal import create_app

    data = work / "data"
    app = create_app({"DATA_DIR": str(data), "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data / 'portal.db'}",
                      "PASSWORD_HASH_PROFILE": "CHEAPEST"})
    print(f"seeding {count:,} videos of {size:,} bytes ...", flush=True)
    total = seed(app, count, size)
    files = data / "files"
    cp = timed_cp(files, work / "cp-copy", sync=False)
    cp_sync = timed_cp(files, work / "cp-copy", sync=True)
    shutil.rmtree(work / "cp-copy", ignore_errors=True)
    first, created = timed_backup(app, work / "dest")
    if created.copied != count:
        raise RuntimeError(f"the first backup copied {created.copied} objects, not {count}")
    second, again = timed_backup(app, work / "dest")
    if again.copied:
        raise RuntimeError(f"the second backup of an unchanged library copied {again.copied} objects")
    projected = second / count * TARGET_VIDEOS
    cp_rate, cp_sync_rate = megabytes_per_second(total, cp), megabytes_per_second(total, cp_sync)
    first_rate = megabytes_per_second(total, first)
    figures = [
        Figure("first backup", "cp -r", "MB/s", cp_rate),
        Figure("first backup", "cp -r, then sync", "MB/s", cp_sync_rate),
        Figure("first backup", "backup create", "MB/s", first_rate, "cp -r", cp_rate, f"ratio >= {TARGET_RATIO}",
               minimum_ratio=TARGET_RATIO),
        Figure("first backup", "backup create", "MB/s", first_rate, "cp -r, then sync", cp_sync_rate),
        Figure("second backup", f"unchanged, {count:,} videos", "s", second, higher_is_better=False),
        Figure("second backup", f"unchanged, projected to {TARGET_VIDEOS:,} videos", "s", projected,
               target=f"< {TARGET_SECOND_S:g} s", maximum_value=TARGET_SECOND_S),
    ]
    samples = {"bytes": total, "cp_s": cp, "cp_sync_s": cp_sync, "first_s": first, "second_s": second}
    return figures, samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=TARGET_VIDEOS, help=f"videos in the library (default {TARGET_VIDEOS:,})")
    parser.add_argument("--size", type=parse_size, default=parse_size("64KiB"), help="bytes of each video (default 64KiB)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "backup.json", help="where to write results")
    args = parser.parse_args(argv)
    if args.videos < 1 or args.size < 1:
        parser.error("--videos and --size must be 1 or more")
    work = Path(tempfile.mkdtemp(prefix="portal-bench-backup-"))
    started = time.monotonic()
    try:
        figures, samples = measure(work, args.videos, args.size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"portal backup benchmark: {args.videos:,} videos of {args.size / MIB:g} MiB, SQLite, local folders, "
        f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s"
    )
    print("ratio: backup create / cp for rates")
    print(table(figures))
    result = {
        "meta": {"videos": args.videos, "size": args.size, "cpus": os.cpu_count(), "python": platform.python_version(),
                 "finished_at": datetime.now(timezone.utc).isoformat()},
        "figures": [figure.as_json() for figure in figures],
        "samples": samples,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

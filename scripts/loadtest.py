#!/usr/bin/env python3
"""Bounded load test of the portal served by waitress (``python wsgi.py``) on 127.0.0.1.

Starts the portal on a data folder of its own (a fresh temporary one unless
``--data-dir`` is given), then runs concurrent uploads, downloads, range
requests, listings, lookups and deletes for a fixed time (and at most
``--max-requests`` requests). Every answer is checked: its status, and the
bytes against what was sent. Afterwards every file the portal still lists is
downloaded and hashed against its SHA-256, and the database and the storage
folder must agree exactly: no row without its file, no file without its row,
no temporary file left.

Exit status 0 only when there was no error and every check passed.

    python scripts/loadtest.py                          # 5 s, 8 clients
    python scripts/loadtest.py --duration 120 --workers 16 --max-size 8000000
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# The helpers shared with the tests and the benchmark (tests/support.py: standard library only).
sys.path.insert(0, str(ROOT))
from tests.support import MP4_FTYP  # noqa: E402
from tests.support import ChildExited  # noqa: E402
from tests.support import bearer_headers  # noqa: E402
from tests.support import free_port  # noqa: E402
from tests.support import minimal_mp4  # noqa: E402
from tests.support import portal_environment  # noqa: E402
from tests.support import seed_admin_token  # noqa: E402
from tests.support import start_process  # noqa: E402
from tests.support import stop_process  # noqa: E402
from tests.support import wait_until_answering  # noqa: E402

INCOMING = ".incoming"
#: Kinds of request and how often each is chosen (each delete is followed by a
#: download that must answer 404, counted as "gone").
WEIGHTS = {"upload": 25, "download": 15, "range": 20, "list": 10, "lookup": 5, "verify": 3, "others": 10, "delete": 15}


def video_bytes(seed: int, size: int) -> bytes:
    """A recognisable MP4 (ftyp + mdat) of ``size`` bytes, the same for the same seed."""
    return minimal_mp4(random.Random(seed).randbytes(max(size - len(MP4_FTYP) - 8, 1)))


@dataclass
class Sent:
    """A file this client uploaded: enough to rebuild its bytes without keeping them in memory."""

    video_id: str
    seed: int
    size: int
    sha256: str

    def content(self) -> bytes:
        return video_bytes(self.seed, self.size)


@dataclass
class Tally:
    requests: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str) -> None:
        with self.lock:
            self.requests[kind] += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.requests.values())


class Worker(threading.Thread):
    """One client: uploads, reads and deletes its own files; lists and downloads everyone's.

    Downloading another client's file races that client's deletes: the answer
    must be the whole, intact file or 404, nothing in between.
    """

    def __init__(
        self, number: int, url: str, args: argparse.Namespace, tally: Tally, deadline: float, headers: dict[str, str]
    ) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.url = url
        self.args = args
        self.tally = tally
        self.deadline = deadline
        self.random = random.Random(args.seed * 1000 + number)
        self.files: dict[str, Sent] = {}
        self.session = requests.Session()
        self.session.headers.update(headers)

    def run(self) -> None:
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        while time.monotonic() < self.deadline and self.tally.total < self.args.max_requests:
            kind = self.random.choices(kinds, weights)[0]
            if not self.files and kind not in ("upload", "list", "others"):
                kind = "upload"
            if len(self.files) >= self.args.max_files_per_worker and kind == "upload":
                kind = "delete"
            self.tally.count(kind)
            try:
                getattr(self, kind)()
            except (requests.RequestException, ValueError, KeyError) as error:
                self.tally.error(f"{kind}: {type(error).__name__}: {error}")
        self.session.close()

    def expect(self, response: requests.Response, status: int, what: str) -> bool:
        if response.status_code != status:
            self.tally.error(f"{what}: expected {status}, got {response.status_code}: {response.text[:200]}")
            return False
        return True

    def pick(self) -> Sent:
        return self.files[self.random.choice(sorted(self.files))]

    def upload(self) -> None:
        seed = self.random.getrandbits(64)
        size = self.random.randint(self.args.min_size, self.args.max_size)
        data = video_bytes(seed, size)
        sha256 = hashlib.sha256(data).hexdigest()
        name = f"load-{seed:x}.mp4"
        if self.random.random() < 0.5:
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
            response = self.session.post(
                f"{self.url}/api/v1/files", params={"filename": name}, data=data,
                headers={"Content-Type": "video/mp4", "Content-Digest": f"sha-256=:{digest}:"}, timeout=self.args.timeout,
            )
        else:
            response = self.session.post(
                f"{self.url}/api/v1/files", files={"file": (name, data, "video/mp4")}, data={"sha256": sha256},
                timeout=self.args.timeout,
            )
        if self.expect(response, 201, "upload"):
            body = response.json()
            if body["sha256"] != sha256 or body["size"] != size:
                self.tally.error(f"upload: stored {body['size']} bytes {body['sha256']}, sent {size} bytes {sha256}")
            self.files[body["id"]] = Sent(body["id"], seed, size, sha256)

    def download(self) -> None:
        sent = self.pick()
        response = self.session.get(f"{self.url}/api/v1/files/{sent.video_id}/content", timeout=self.args.timeout)
        if self.expect(response, 200, "download") and hashlib.sha256(response.content).hexdigest() != sent.sha256:
            self.tally.error(f"download: bytes of {sent.video_id} do not match their SHA-256")

    def range(self) -> None:
        sent = self.pick()
        start = self.random.randrange(sent.size)
        stop = self.random.randint(start + 1, sent.size)
        response = self.session.get(
            f"{self.url}/api/v1/files/{sent.video_id}/content", headers={"Range": f"bytes={start}-{stop - 1}"},
            timeout=self.args.timeout,
        )
        if self.expect(response, 206, "range") and response.content != sent.content()[start:stop]:
            self.tally.error(f"range: bytes {start}-{stop - 1} of {sent.video_id} differ from what was sent")

    def list(self) -> None:
        per_page = self.random.randint(1, 100)
        params: dict[str, int | str] = {
            "page": self.random.randint(1, 3), "per_page": per_page,
            "sort": self.random.choice(["-created_at", "filename", "-size"]),
        }
        response = self.session.get(
            f"{self.url}/api/v1/files", params=params,
            timeout=self.args.timeout,
        )
        if self.expect(response, 200, "list"):
            body = response.json()
            if len(body["items"]) > per_page or body["per_page"] != per_page:
                self.tally.error(f"list: {len(body['items'])} items on a page of {per_page}")

    def lookup(self) -> None:
        sent = self.pick()
        response = self.session.get(f"{self.url}/api/v1/files/{sent.video_id}", timeout=self.args.timeout)
        if self.expect(response, 200, "lookup"):
            body = response.json()
            if (body["sha256"], body["size"], body["status"]) != (sent.sha256, sent.size, "ok"):
                self.tally.error(f"lookup: {sent.video_id} is {body}")

    def verify(self) -> None:
        sent = self.pick()
        response = self.session.post(f"{self.url}/api/v1/files/{sent.video_id}/verify", timeout=self.args.timeout)
        if self.expect(response, 200, "verify") and response.json()["status"] != "ok":
            self.tally.error(f"verify: {sent.video_id} is {response.json()['status']}")

    def others(self) -> None:
        response = self.session.get(
            f"{self.url}/api/v1/files", params={"per_page": 20, "page": self.random.randint(1, 2)}, timeout=self.args.timeout
        )
        if not self.expect(response, 200, "list for others") or not response.json()["items"]:
            return
        item = self.random.choice(response.json()["items"])
        self.tally.count("others")
        download = self.session.get(item["content_url"], timeout=self.args.timeout)
        if download.status_code == 404:
            return
        if not self.expect(download, 200, "download of another client's file"):
            return
        if hashlib.sha256(download.content).hexdigest() != item["sha256"]:
            self.tally.error(f"others: bytes of {item['id']} do not match their SHA-256")

    def delete(self) -> None:
        sent = self.files.pop(self.pick().video_id)
        response = self.session.delete(f"{self.url}/api/v1/files/{sent.video_id}", timeout=self.args.timeout)
        if self.expect(response, 204, "delete"):
            self.tally.count("gone")
            gone = self.session.get(f"{self.url}/api/v1/files/{sent.video_id}/content", timeout=self.args.timeout)
            self.expect(gone, 404, "download after delete")


def start_portal(data_dir: Path, threads: int, log_path: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    """``python wsgi.py`` as in production (one process per CPU) with ``threads`` threads each.

    Also answers the headers that authenticate the clients: the token of an
    admin seeded into the database first (every request but /healthz needs one).
    """
    port = free_port()
    env = portal_environment(data_dir, port, {"PORTAL_THREADS": str(threads)}, processes=None)
    headers = bearer_headers(seed_admin_token(env))
    process = start_process([sys.executable, "wsgi.py"], env, log_path)
    try:
        wait_until_answering(process, port, "/healthz", timeout=30, interval=0.1)
    except ChildExited as error:
        raise SystemExit(f"the portal {error}; see {log_path}") from None
    except TimeoutError:
        process.kill()
        raise SystemExit(f"the portal did not answer /healthz within 30 s; see {log_path}") from None
    return process, f"http://127.0.0.1:{port}", headers


def stop_portal(process: subprocess.Popen) -> None:
    stop_process(process, timeout=15)


def check_every_listed_file(
    url: str, sent: dict[str, Sent], timeout: float, headers: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Download every file the portal lists and hash it; return (files checked, problems)."""
    problems: list[str] = []
    listed: dict[str, str] = {}
    page = 1
    with requests.Session() as session:
        session.headers.update(headers or {})
        while True:
            body = session.get(f"{url}/api/v1/files", params={"page": page, "per_page": 100}, timeout=timeout).json()
            listed.update((item["id"], item["sha256"]) for item in body["items"])
            if page * 100 >= body["total"]:
                break
            page += 1
        for video_id in sorted(set(sent) - set(listed)):
            problems.append(f"{video_id} was uploaded and never deleted, but is not listed")
        for video_id, sha256 in sorted(listed.items()):
            digest = hashlib.sha256()
            with session.get(f"{url}/api/v1/files/{video_id}/content", stream=True, timeout=timeout) as response:
                if response.status_code != 200:
                    problems.append(f"{video_id}: download answered {response.status_code}")
                    continue
                try:
                    for chunk in response.iter_content(1024 * 1024):
                        digest.update(chunk)
                except requests.RequestException as error:
                    # How the portal stops a download whose bytes no longer match: it never completes.
                    problems.append(f"{video_id}: download broke off ({type(error).__name__})")
                    continue
            if digest.hexdigest() != sha256:
                problems.append(f"{video_id}: bytes do not match the stored SHA-256")
            if video_id in sent and sent[video_id].sha256 != sha256:
                problems.append(f"{video_id}: stored SHA-256 differs from the uploaded file's")
    return len(listed), problems


def compare_database_and_folder(data_dir: Path) -> list[str]:
    """Rows and files must name the same ids; nothing may be left in the temporary folder."""
    with sqlite3.connect(f"file:{data_dir / 'portal.db'}?mode=ro", uri=True, timeout=30) as connection:
        rows = {row[0]: row[1] for row in connection.execute("SELECT id, size FROM videos")}
    root = data_dir / "files"
    files = {}
    leftovers = []
    for path in root.rglob("*"):
        if path.is_file():
            if INCOMING in path.relative_to(root).parts:
                leftovers.append(path.name)
            else:
                files[path.name] = path.stat().st_size
    problems = [f"orphan row (no file): {video_id}" for video_id in sorted(set(rows) - set(files))]
    problems += [f"orphan file (no row): {name}" for name in sorted(set(files) - set(rows))]
    problems += [
        f"size of {key}: row says {rows[key]}, file has {files[key]}"
        for key in sorted(set(rows) & set(files))
        if rows[key] != files[key]
    ]
    problems += [f"temporary file left: {name}" for name in sorted(leftovers)]
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load (default 5)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads (default 8)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    parser.add_argument("--min-size", type=int, default=10_000, help="smallest upload in bytes")
    parser.add_argument("--max-size", type=int, default=1_000_000, help="largest upload in bytes")
    parser.add_argument("--max-files-per-worker", type=int, default=20, help="a client holding this many deletes one")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds any one request may take")
    parser.add_argument("--seed", type=int, default=1, help="makes a run's choices repeatable")
    parser.add_argument("--data-dir", type=Path, help="the portal's data folder (default: a fresh temporary one)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.workers < 1 or args.max_requests < 1 or not 64 <= args.min_size <= args.max_size:
        parser.error("need a positive duration, at least one worker and request, and 64 <= min-size <= max-size")
    return args


def run(args: argparse.Namespace, data_dir: Path) -> dict:
    log_path = data_dir.parent / f"{data_dir.name}-portal.log"
    process, url, headers = start_portal(data_dir, args.threads, log_path)
    try:
        tally = Tally()
        started = time.monotonic()
        workers = [Worker(number, url, args, tally, started + args.duration, headers) for number in range(args.workers)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(args.duration + args.timeout + 60)
        stuck = [worker.name for worker in workers if worker.is_alive()]
        elapsed = time.monotonic() - started
        sent = {video_id: item for worker in workers for video_id, item in worker.files.items()}
        files_checked, problems = check_every_listed_file(url, sent, args.timeout, headers)
        problems += [f"{name} did not finish" for name in stuck]
    finally:
        stop_portal(process)
    problems += compare_database_and_folder(data_dir)
    return {
        "url": url,
        "data_dir": str(data_dir),
        "duration_s": round(elapsed, 1),
        "workers": args.workers,
        "requests": tally.total,
        "requests_per_s": round(tally.total / elapsed, 1) if elapsed else 0,
        "by_kind": dict(sorted(tally.requests.items())),
        "errors": len(tally.errors),
        "error_samples": tally.errors[:20],
        "files_checked": files_checked,
        "problems": problems,
        "ok": not tally.errors and not problems,
    }


def print_report(report: dict) -> None:
    print(f"portal on {report['url']}, data in {report['data_dir']}")
    print(f"{report['requests']} requests in {report['duration_s']} s by {report['workers']} clients "
          f"({report['requests_per_s']}/s): " + ", ".join(f"{kind} {count}" for kind, count in report["by_kind"].items()))
    print(f"errors: {report['errors']}")
    for message in report["error_samples"]:
        print(f"  {message}")
    print(f"files checked against their SHA-256 afterwards: {report['files_checked']}")
    print("database and data folder: " + ("agree exactly" if not report["problems"] else "DISAGREE"))
    for problem in report["problems"]:
        print(f"  {problem}")
    print("OK" if report["ok"] else "FAILED")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is not None:
        report = run(args, args.data_dir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="portal-load-") as folder:
            report = run(args, Path(folder) / "data")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""How close the portal comes to the machine's limits and to its peers, in one run.

``python bench/run.py [--size 1GiB] [--repeat 3] [--quick] [--viewers 200] [--json PATH]``, and
``python bench/run.py --library N [--database sqlite|postgresql|both]``: the library at N videos
(:mod:`library`).

It starts the portal exactly as in production (``python wsgi.py`` with the
settings of :mod:`portal.ops.server`, a fresh data folder) on 127.0.0.1, and beside
it: the stack's floor (a WSGI app that only reads and discards request bodies,
under the same waitress settings), Debian's nginx with ``sendfile on`` serving
the very file the portal stored, and the FastAPI + uvicorn baseline of
``bench/fastapi_app.py``. Then it measures, on the same file:

- uploads (raw body, multipart, and the web form when the portal has one)
  against plain Python reading, hashing, writing and fsyncing the file;
- a repeated upload of the same bytes against its first upload (the repeat's
  time over the first's: hashed in full, but not stored again);
- downloads (the verified whole file, ``bytes=0-`` playback streams and 1 MiB
  ranges at random offsets) against a cached sequential read and nginx;
- the server's resident memory during the largest upload and download;
- 16 concurrent verified whole-file downloads, aggregate MB/s against nginx's
  serving the same file to the same 16 clients;
- listing latency with 10,000 videos and requests per second with 16 clients;
- the listing's and library page's latency while slow viewers (200; 40 with
  ``--quick``) each read a download at 64 KiB/s (``bench/viewers.py``).

Figures that move gigabytes are the median of ``--repeat`` runs. It prints one
table and writes every figure, with the raw samples, as JSON. Only the
standard library is needed to drive it (and the portal's own code to seed the
database); ``wrk`` is used for the concurrent figure when installed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The helpers shared with the tests and the load test (tests/support.py: standard library only).
sys.path.insert(0, str(ROOT))
from bench.common import MIB  # noqa: E402
from bench.common import Figure  # noqa: E402
from bench.common import Form  # noqa: E402
from bench.common import PeakRss  # noqa: E402
from bench.common import Reply  # noqa: E402
from bench.common import Server  # noqa: E402
from bench.common import connect  # noqa: E402
from bench.common import fetch_body  # noqa: E402
from bench.common import hash_copy_limit  # noqa: E402
from bench.common import make_video_file  # noqa: E402
from bench.common import median  # noqa: E402
from bench.common import megabytes_per_second  # noqa: E402
from bench.common import parse_size  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.common import rss_bytes  # noqa: E402
from bench.common import signed_in_cookie  # noqa: E402
from bench.common import start_portal  # noqa: E402
from bench.common import table  # noqa: E402
from bench.common import upload  # noqa: E402
from bench.common import write_results  # noqa: E402
from tests.support import free_port  # noqa: E402

SEARCH_WORDS = ("beach", "birthday", "concert", "drone", "garden", "hiking", "kitchen", "lecture", "snow", "wedding")
SEED_VIDEOS = 10_000
CLIENTS = 16


# --- the servers ---------------------------------------------------------------


def stored_file_of(data_dir: Path, video_id: str) -> Path:
    """Where the portal keeps ``video_id``'s bytes: its shared original's key (the same file is uploaded again and again)."""
    import sqlite3

    with sqlite3.connect(data_dir / "portal.db") as connection:
        (key,) = connection.execute(
            "SELECT originals.storage_key FROM originals JOIN videos ON videos.sha256 = originals.sha256 WHERE videos.id = ?",
            (video_id,),
        ).fetchone()
    return data_dir / "files" / key


def start_floor(work: Path) -> Server:
    port = free_port()
    env = {
        "PORTAL_DATA_DIR": str(work / "floor-data"),
        "PORTAL_HOST": "127.0.0.1",
        "PORTAL_PORT": str(port),
        "BENCH_FLOOR_ROOT": str(work),
    }
    return Server("floor", [sys.executable, "bench/floor_app.py"], env, port, work, "/healthz")


def start_fastapi(work: Path) -> Server:
    port = free_port()
    env = {"BENCH_DATA_DIR": str(work / "fastapi-data"), "BENCH_HOST": "127.0.0.1", "BENCH_PORT": str(port)}
    return Server("fastapi", [sys.executable, "bench/fastapi_app.py"], env, port, work, "/healthz")


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def start_nginx(nginx: str, work: Path, root: Path) -> Server:
    """Debian's nginx with its own prefix and config, serving ``root`` with sendfile."""
    prefix = work / "nginx"
    prefix.mkdir()
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(NGINX_CONF.format(prefix=prefix, port=port, root=root))
    return Server(
        "nginx", [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")], {}, port, work, "/"
    )


# --- HTTP, as cheaply as a client can do it ----------------------------------------


def fetch(
    connection: http.client.HTTPConnection,
    path: str,
    headers: dict[str, str] | None = None,
    buffer: bytearray | None = None,
) -> tuple[int, int]:
    """GET ``path`` and read the body into ``buffer`` (discarded); answers (status, bytes read)."""
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    view = memoryview(buffer if buffer is not None else bytearray(4 * MIB))
    received = 0
    while read := response.readinto(view):
        received += read
    return response.status, received


# --- measuring ------------------------------------------------------------------


def cached_read(path: Path, repeat: int) -> list[float]:
    """Sequential reads of a file already in the page cache: the ceiling of any download."""
    buffer = bytearray(MIB)
    rates = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        with open(path, "rb", buffering=0) as reader:
            while reader.readinto(buffer):
                pass
        if run:  # the first run only fills the cache
            rates.append(megabytes_per_second(path.stat().st_size, time.perf_counter() - started))
    return rates


def timed_download(port: int, path: str, expected: int, headers: dict[str, str] | None = None) -> float:
    connection = connect(port)
    try:
        started = time.perf_counter()
        status, received = fetch(connection, path, headers)
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    if status not in (200, 206) or received != expected:
        raise RuntimeError(f"GET {path} on port {port} gave {status} with {received} of {expected} bytes")
    return megabytes_per_second(received, seconds)


def random_ranges(
    port: int, path: str, size: int, count: int, headers: dict[str, str] | None = None
) -> dict[str, float]:
    """1 MiB ranges at random (but for every server the same) offsets, on one keep-alive connection."""
    length = min(MIB, size)
    rng = random.Random(6)
    offsets = [rng.randrange(0, size - length + 1) for _ in range(count)]
    connection = connect(port)
    buffer = bytearray(length)
    latencies = []
    try:
        for offset in offsets:
            started = time.perf_counter()
            wanted = {**(headers or {}), "Range": f"bytes={offset}-{offset + length - 1}"}
            status, received = fetch(connection, path, wanted, buffer)
            latencies.append(time.perf_counter() - started)
            if status != 206 or received != length:
                raise RuntimeError(f"range request on port {port} gave {status} with {received} bytes")
    finally:
        connection.close()
    return {
        "mb_s": megabytes_per_second(length * count, sum(latencies)),
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def concurrent_downloads(port: int, path: str, size: int, headers: dict[str, str] | None = None) -> float:
    """:data:`CLIENTS` whole downloads of ``path`` at once, each on its own connection: their aggregate MB/s."""
    failures: list[str] = []

    def client() -> None:
        try:
            timed_download(port, path, size, headers)
        except (OSError, RuntimeError) as error:
            failures.append(str(error))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {CLIENTS} concurrent downloads failed: {failures[0]}")
    return megabytes_per_second(size * CLIENTS, seconds)


def _failed_requests(result: dict[str, Any]) -> int:
    """Requests of the slow-viewers run that failed or did not answer 200 (201 for the upload)."""
    probes = [*result["probes"].values(), result["healthz"]]
    failed = sum(len(probe["non_200"]) + len(probe["failures"]) for probe in probes)
    return failed + (0 if result["upload"].get("status") == 201 else 1)


def latencies_ms(port: int, path: str, count: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    connection = connect(port)
    samples = []
    try:
        fetch(connection, path, headers)  # warm caches: templates, statements
        for _ in range(count):
            started = time.perf_counter()
            status, _received = fetch(connection, path, headers)
            samples.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path} on port {port} gave {status}")
    finally:
        connection.close()
    return {"p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99)}


def requests_per_second(
    port: int, path: str, seconds: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """16 clients on keep-alive connections for ``seconds``: wrk when installed, else threads."""
    wrk = shutil.which("wrk")
    url = f"http://127.0.0.1:{port}{path}"
    if wrk:
        duration = max(1, round(seconds))
        header_options = [option for name, value in (headers or {}).items() for option in ("-H", f"{name}: {value}")]
        output = subprocess.run(
            [wrk, "-t2", f"-c{CLIENTS}", f"-d{duration}s", "--timeout", "10s", *header_options, url],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        ).stdout
        requests_line = re.search(r"Requests/sec:\s+([\d.]+)", output)
        assert requests_line is not None, f"wrk printed no Requests/sec: {output}"
        rate = float(requests_line.group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if errors:
            raise RuntimeError(f"wrk got {errors.group(1)} error responses from {url}")
        return {"rps": rate, "client": "wrk"}
    counts = [0] * CLIENTS
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        connection = connect(port)
        buffer = bytearray(MIB)
        try:
            while time.monotonic() < deadline:
                status, _received = fetch(connection, path, headers, buffer)
                if status != 200:
                    raise RuntimeError(f"GET {url} gave {status}")
                counts[index] += 1
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": sum(counts) / (time.monotonic() - started), "client": "python threads"}


# --- seeding ---------------------------------------------------------------------


def seed_rows(count: int) -> list[dict[str, Any]]:
    """Rows for ``count`` videos: names with a searchable word, one per minute going back."""
    rng = random.Random(10)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = []
    for index in range(count):
        name = f"{SEARCH_WORDS[index % len(SEARCH_WORDS)]} {index:05d}.mp4"
        moment = now - timedelta(minutes=count - index)
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "filename": name,
                "search_name": name.casefold(),
                "content_type": "video/mp4",
                "size": rng.randrange(10**6, 10**10),
                "sha256": hashlib.sha256(name.encode()).hexdigest(),
                "status": "ok",
                "created_at": moment,
                "verified_at": moment,
            }
        )
    return rows


def seed_portal(data_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through the portal's own model into the database the running portal uses."""
    from portal import create_app
    from portal.extensions import db
    from portal.library.models import Video

    app = create_app({"DATA_DIR": str(data_dir)})
    with app.app_context():
        db.session.execute(db.insert(Video), rows)
        db.session.commit()
        db.engine.dispose()


def seed_fastapi(data_dir: Path, rows: list[dict[str, Any]]) -> None:
    import sqlite3

    with sqlite3.connect(data_dir / "baseline.db") as connection:
        connection.executemany(
            "INSERT INTO videos VALUES (:id, :filename, :search_name, :content_type, :size, :sha256, :status, :created_at)",
            [{**row, "created_at": row["created_at"].isoformat()} for row in rows],
        )


# --- the run ------------------------------------------------------------------------


class Bench:
    def __init__(self, work: Path, size: int, repeat: int, quick: bool, viewers: int = 200) -> None:
        self.work = work
        self.size = size
        self.repeat = repeat
        self.quick = quick
        self.viewers = viewers
        self.samples: dict[str, Any] = {}
        self.figures: list[Figure] = []
        self.servers: list[Server] = []
        #: The copy of the test file kept in the FastAPI baseline for its downloads.
        self.fastapi_id = ""

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def started(self, server: Server) -> Server:
        self.servers.append(server)
        return server

    def stop_servers(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def run(self) -> None:
        nginx = find_nginx()
        if nginx is None:
            raise SystemExit("nginx is not installed (Debian package 'nginx'): it is the download peer.")
        source = self.work / "source.mp4"
        warmup = self.work / "warmup.mp4"
        make_video_file(source, self.size)
        make_video_file(warmup, min(self.size, 64 * MIB))
        portal = self.started(start_portal(self.work))
        floor = self.started(start_floor(self.work))
        fastapi = self.started(start_fastapi(self.work))

        limit = self.measure_limit(source)
        stored_id = self.measure_uploads(source, warmup, portal, floor, fastapi, limit)
        self.measure_repeated_upload(portal)
        # The uploads leave gigabytes for the kernel to write back (the baseline
        # does not fsync); flush them now rather than during the downloads.
        os.sync()
        stored = stored_file_of(self.work / "portal-data", stored_id)
        nginx_server = self.started(start_nginx(nginx, self.work, stored.parent.parent.parent))
        self.measure_downloads(stored, stored_id, portal, floor, fastapi, nginx_server)
        self.measure_concurrent_downloads(stored, stored_id, portal, nginx_server)
        self.measure_listing(portal, fastapi)
        self.measure_slow_viewers(portal)

    # upload -------------------------------------------------------------------------

    def measure_limit(self, source: Path) -> float:
        self.samples["hash_copy_limit_mb_s"] = hash_copy_limit(source, self.work / "portal-data", self.repeat)
        return median(self.samples["hash_copy_limit_mb_s"])

    def web_form(self, portal: Server) -> tuple[str, Form, dict[str, str]] | None:
        """The portal's upload page, when it has one: its form's action, fields and session cookie."""
        session = signed_in_cookie(portal.port)
        page = fetch_body(portal.port, "/upload", session)
        if page.status != 200 or "html" not in page.headers.get("Content-Type", ""):
            return None
        html = page.body.decode(errors="replace")
        file_input = re.search(r'<input[^>]*type="file"[^>]*>', html)
        if file_input is None:
            return None
        name = re.search(r'name="([^"]+)"', file_input.group(0))
        assert name is not None, f"the upload page's file input has no name: {file_input.group(0)}"
        field = name.group(1)
        form_tag = re.search(r'<form[^>]*enctype="multipart/form-data"[^>]*>', html)
        action = re.search(r'action="([^"]*)"', form_tag.group(0)) if form_tag else None
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', html
        )
        fields = {"csrf_token": token.group(1)} if token else {}
        cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
        return (
            (action.group(1) if action and action.group(1) else "/upload"),
            Form(field, fields),
            ({"Cookie": cookie} if cookie else session),
        )

    def upload_rates(
        self,
        server: Server,
        path: str,
        source: Path,
        warmup: Path,
        form: Form | None,
        headers: dict[str, str] | None = None,
    ) -> tuple[list[float], dict[str, int]]:
        """Upload ``warmup`` once, then ``source`` ``repeat`` times, watching the server's memory."""
        headers = {**server.headers, **(headers or {})}
        reply = upload(server.port, path, warmup, form, headers)
        self.check_upload(server, reply)
        self.delete_uploaded(server, reply)
        rates = []
        memory = {"before": rss_bytes(server.pid), "peak": 0}
        for _ in range(self.repeat):
            with PeakRss(server.pid) as rss:
                reply = upload(server.port, path, source, form, headers)
            self.check_upload(server, reply)
            memory["peak"] = max(memory["peak"], rss.peak)
            rates.append(megabytes_per_second(self.size, reply.seconds))
            self.delete_uploaded(server, reply)
        return rates, memory

    def check_upload(self, server: Server, reply: Reply) -> None:
        if reply.status >= 400:
            raise RuntimeError(f"upload to {server.name} failed with {reply.status}: {reply.body[:500]!r}")

    def delete_uploaded(self, server: Server, reply: Reply) -> None:
        """Keep the disk from filling: remove what an upload stored (the floor stores nothing).

        The portal's video is purged from the trash too, so that the next upload of the same file
        stores its bytes again (the portal stores identical bytes once): each is a first upload.
        """
        if server.name == "portal":
            if reply.status == 201:
                video_id = json.loads(reply.body)["id"]
            else:  # the web form answers with a page or a redirect: take the newest file
                newest = fetch_body(server.port, "/api/v1/files?per_page=1", server.headers)
                video_id = json.loads(newest.body)["items"][0]["id"]
            self.purge_uploaded(server, video_id)
        elif server.name == "fastapi":
            (self.work / "fastapi-data" / "files" / json.loads(reply.body)["id"]).unlink()

    def measure_uploads(
        self, source: Path, warmup: Path, portal: Server, floor: Server, fastapi: Server, limit: float
    ) -> str:
        api = "/api/v1/files"
        raw_path = api + "?filename=bench.mp4"
        multipart = Form("file", {})
        results: dict[str, dict[str, Any]] = {}
        for name, server, path, form, headers in (
            ("portal_raw", portal, raw_path, None, None),
            ("portal_multipart", portal, api, multipart, None),
            ("floor_raw", floor, raw_path, None, None),
            ("floor_multipart", floor, api, multipart, None),
            ("fastapi_raw", fastapi, raw_path, None, None),
            ("fastapi_multipart", fastapi, api, multipart, None),
        ):
            rates, memory = self.upload_rates(server, path, source, warmup, form, headers)
            results[name] = {"mb_s": rates, "rss": memory}
        web = self.web_form(portal)
        if web is not None:
            web_action, web_form, web_headers = web
            rates, memory = self.upload_rates(portal, web_action, source, warmup, web_form, web_headers)
            results["portal_web_form"] = {"mb_s": rates, "rss": memory}
        self.samples["uploads"] = results
        rate = {name: median(result["mb_s"]) for name, result in results.items()}
        floor_raw, floor_multipart = rate["floor_raw"], rate["floor_multipart"]
        fastapi_raw, fastapi_multipart = rate["fastapi_raw"], rate["fastapi_multipart"]
        web_rate = rate.get("portal_web_form")
        self.add(
            Figure("upload", "hash+copy limit (plain Python)", "MB/s", limit),
            Figure(
                "upload",
                "raw body",
                "MB/s",
                rate["portal_raw"],
                "hash+copy limit",
                limit,
                "ratio >= 0.45",
                minimum_ratio=0.45,
            ),
            Figure("upload", "raw body", "MB/s", rate["portal_raw"], "waitress floor", floor_raw),
            Figure(
                "upload",
                "raw body",
                "MB/s",
                rate["portal_raw"],
                "FastAPI",
                fastapi_raw,
                "ratio >= 0.85",
                minimum_ratio=0.85,
            ),
            Figure(
                "upload",
                "multipart",
                "MB/s",
                rate["portal_multipart"],
                "hash+copy limit",
                limit,
                "ratio >= 0.40",
                minimum_ratio=0.40,
            ),
            Figure("upload", "multipart", "MB/s", rate["portal_multipart"], "waitress floor", floor_multipart),
            Figure("upload", "multipart", "MB/s", rate["portal_multipart"], "FastAPI", fastapi_multipart),
            Figure("upload", "web form", "MB/s", web_rate, "hash+copy limit", limit),
            Figure("upload", "web form", "MB/s", web_rate, "FastAPI multipart", fastapi_multipart),
            Figure("upload", "waitress floor, raw (reads, discards)", "MB/s", floor_raw, "hash+copy limit", limit),
            Figure("upload", "FastAPI raw body", "MB/s", fastapi_raw, "hash+copy limit", limit),
        )
        for name, label in (("portal_raw", "raw body"), ("portal_multipart", "multipart")):
            memory = results[name]["rss"]
            self.add(
                Figure(
                    "memory",
                    f"server RSS peak, {label} upload",
                    "MiB",
                    memory["peak"] / MIB,
                    "FastAPI",
                    results[name.replace("portal", "fastapi")]["rss"]["peak"] / MIB,
                    higher_is_better=False,
                ),
                Figure(
                    "memory",
                    f"server RSS growth, {label} upload",
                    "MiB",
                    (memory["peak"] - memory["before"]) / MIB,
                    target="< 32 MiB",
                    higher_is_better=False,
                    maximum_value=32,
                ),
            )
        # Keep one copy of the file in the portal for the downloads.
        reply = upload(portal.port, raw_path, source, headers=portal.headers)
        self.check_upload(portal, reply)
        self.fastapi_id = json.loads(upload(fastapi.port, raw_path, source).body)["id"]
        return json.loads(reply.body)["id"]

    def measure_repeated_upload(self, portal: Server) -> None:
        """The same bytes uploaded twice: the second is hashed like the first, but not stored again.

        Each run uploads a file of fresh bytes (so the first upload stores
        them), then the same file again; both are purged after, so the disk
        does not fill with runs.
        """
        raw_path = "/api/v1/files?filename=again.mp4"
        first, again = [], []
        for run in range(self.repeat):
            source = self.work / f"repeated-{run}.mp4"
            make_video_file(source, self.size)
            replies = [upload(portal.port, raw_path, source, headers=portal.headers) for _ in range(2)]
            for reply in replies:
                self.check_upload(portal, reply)
            if json.loads(replies[1].body).get("duplicate_of") != json.loads(replies[0].body)["id"]:
                raise RuntimeError(f"the repeated upload was not found stored already: {replies[1].body[:500]!r}")
            first.append(replies[0].seconds)
            again.append(replies[1].seconds)
            for reply in replies:
                self.purge_uploaded(portal, json.loads(reply.body)["id"])
            source.unlink()
        self.samples["repeated_upload"] = {"first_s": first, "repeated_s": again}
        self.add(
            Figure(
                "upload",
                f"repeated upload of the same {self.size // MIB} MiB",
                "s",
                median(again),
                "its first upload",
                median(first),
                "ratio <= 1.0",
                higher_is_better=False,
                maximum_ratio=1.0,
            )
        )

    def purge_uploaded(self, portal: Server, video_id: str) -> None:
        """Delete a video and purge it from the trash (answered 404 where there is none: deleted at once)."""
        for path in (f"/api/v1/files/{video_id}", f"/api/v1/trash/{video_id}"):
            connection = connect(portal.port)
            connection.request("DELETE", path, headers=portal.headers)
            connection.getresponse().read()
            connection.close()

    # download -----------------------------------------------------------------------

    def measure_downloads(
        self, stored: Path, video_id: str, portal: Server, floor: Server, fastapi: Server, nginx: Server
    ) -> None:
        size = self.size
        paths = {
            "portal": (portal, f"/api/v1/files/{video_id}/content"),
            "floor": (floor, "/" + stored.relative_to(self.work).as_posix()),
            "fastapi": (fastapi, f"/api/v1/files/{self.fastapi_id}/content"),
            "nginx": (nginx, "/" + stored.relative_to(stored.parent.parent.parent).as_posix()),
        }
        cached = cached_read(stored, self.repeat)
        results: dict[str, Any] = {"cached_read_mb_s": cached}
        range_count = 30 if self.quick else 200
        for name, (server, path) in paths.items():
            timed_download(server.port, path, size, server.headers)  # warm up
            whole_rates: list[float] = []
            stream_rates: list[float] = []
            memory = {"before": rss_bytes(server.pid), "peak": 0}
            for _ in range(self.repeat):
                with PeakRss(server.pid) as rss:
                    whole_rates.append(timed_download(server.port, path, size, server.headers))
                memory["peak"] = max(memory["peak"], rss.peak)
                stream_rates.append(timed_download(server.port, path, size, {**server.headers, "Range": "bytes=0-"}))
            results[name] = {
                "whole_mb_s": whole_rates,
                "stream_mb_s": stream_rates,
                "ranges": random_ranges(server.port, path, size, range_count, server.headers),
                "rss": memory,
            }
        self.samples["downloads"] = results
        whole = {name: median(results[name]["whole_mb_s"]) for name in paths}
        stream = {name: median(results[name]["stream_mb_s"]) for name in paths}
        ranges = {name: results[name]["ranges"] for name in paths}
        cached_rate = median(cached)
        self.add(
            Figure("download", "cached sequential read (plain Python)", "MB/s", cached_rate),
            Figure(
                "download",
                "whole file, verified",
                "MB/s",
                whole["portal"],
                "nginx",
                whole["nginx"],
                "ratio >= 0.5",
                minimum_ratio=0.5,
            ),
            Figure("download", "whole file, verified", "MB/s", whole["portal"], "cached read", cached_rate),
            Figure(
                "download", "whole file, verified", "MB/s", whole["portal"], "FastAPI (unverified)", whole["fastapi"]
            ),
            Figure(
                "download",
                "bytes=0- stream",
                "MB/s",
                stream["portal"],
                "nginx",
                stream["nginx"],
                "ratio >= 0.9",
                minimum_ratio=0.9,
            ),
            Figure("download", "bytes=0- stream", "MB/s", stream["portal"], "FastAPI", stream["fastapi"]),
            Figure(
                "download",
                "1 MiB ranges",
                "MB/s",
                ranges["portal"]["mb_s"],
                "nginx",
                ranges["nginx"]["mb_s"],
                "ratio >= 0.9",
                minimum_ratio=0.9,
            ),
            Figure(
                "download", "1 MiB ranges", "MB/s", ranges["portal"]["mb_s"], "waitress floor", ranges["floor"]["mb_s"]
            ),
            Figure("download", "1 MiB ranges", "MB/s", ranges["portal"]["mb_s"], "FastAPI", ranges["fastapi"]["mb_s"]),
            Figure(
                "download",
                "waitress floor, 1 MiB ranges (file_wrapper)",
                "MB/s",
                ranges["floor"]["mb_s"],
                "nginx",
                ranges["nginx"]["mb_s"],
            ),
            Figure(
                "download",
                "1 MiB range p50",
                "ms",
                ranges["portal"]["p50_ms"],
                "nginx",
                ranges["nginx"]["p50_ms"],
                higher_is_better=False,
            ),
            Figure(
                "download",
                "1 MiB range p99",
                "ms",
                ranges["portal"]["p99_ms"],
                "nginx",
                ranges["nginx"]["p99_ms"],
                higher_is_better=False,
            ),
            Figure(
                "download",
                "1 MiB range p50",
                "ms",
                ranges["portal"]["p50_ms"],
                "FastAPI",
                ranges["fastapi"]["p50_ms"],
                higher_is_better=False,
            ),
            Figure(
                "download",
                "waitress floor, 1 MiB range p50",
                "ms",
                ranges["floor"]["p50_ms"],
                "nginx",
                ranges["nginx"]["p50_ms"],
                higher_is_better=False,
            ),
            Figure(
                "download",
                "waitress floor, whole file (file_wrapper)",
                "MB/s",
                whole["floor"],
                "nginx",
                whole["nginx"],
            ),
            Figure("download", "nginx whole file (sendfile)", "MB/s", whole["nginx"], "cached read", cached_rate),
            Figure("download", "FastAPI whole file", "MB/s", whole["fastapi"], "nginx", whole["nginx"]),
        )
        memory = results["portal"]["rss"]
        self.add(
            Figure(
                "memory",
                "server RSS peak, whole-file download",
                "MiB",
                memory["peak"] / MIB,
                "FastAPI",
                results["fastapi"]["rss"]["peak"] / MIB,
                higher_is_better=False,
            ),
            Figure(
                "memory",
                "server RSS growth, whole-file download",
                "MiB",
                (memory["peak"] - memory["before"]) / MIB,
                target="< 32 MiB",
                higher_is_better=False,
                maximum_value=32,
            ),
        )

    def measure_concurrent_downloads(self, stored: Path, video_id: str, portal: Server, nginx: Server) -> None:
        """16 clients downloading the whole file at once, as fast as they can: aggregate MB/s."""
        paths = {
            "portal": (portal, f"/api/v1/files/{video_id}/content"),
            "nginx": (nginx, "/" + stored.relative_to(stored.parent.parent.parent).as_posix()),
        }
        results: dict[str, list[float]] = {}
        for name, (server, path) in paths.items():
            results[name] = [concurrent_downloads(server.port, path, self.size, server.headers) for _ in range(self.repeat)]
        self.samples["concurrent_downloads"] = {"clients": CLIENTS, **results}
        self.add(
            Figure(
                "download",
                f"{CLIENTS} concurrent whole files, verified",
                "MB/s",
                median(results["portal"]),
                "nginx",
                median(results["nginx"]),
                "ratio >= 0.5",
                minimum_ratio=0.5,
            )
        )

    def measure_slow_viewers(self, portal: Server) -> None:
        """The listing's latency while many slow viewers download (see bench/viewers.py), with 10,000 videos listed."""
        from bench.viewers import measure_viewers

        seconds = 4 if self.quick else 20
        result = measure_viewers(
            portal.port, portal.pid, portal.headers, signed_in_cookie(portal.port), self.work / "portal-data",
            viewers=self.viewers, seconds=seconds, size=min(self.size, 16 * MIB),
        )
        self.samples["slow_viewers"] = result
        api, page = result["probes"]["/api/v1/files"], result["probes"]["/"]
        label = f"{self.viewers} slow viewers"
        self.add(
            Figure("viewers", f"API listing p99, {label}", "ms", api["p99_ms"], target="< 500 ms",
                   higher_is_better=False, maximum_value=500),
            Figure("viewers", f"library page p99, {label}", "ms", page["p99_ms"], target="< 500 ms",
                   higher_is_better=False, maximum_value=500),
            Figure("viewers", f"API listing max, {label}", "ms", api["max_ms"], higher_is_better=False),
            Figure("viewers", f"failed requests (listing, page, /healthz, upload), {label}", "count",
                   float(_failed_requests(result)), target="0", higher_is_better=False, maximum_value=0.5),
            Figure("viewers", f"server RSS growth, {label}", "MiB", result["rss_growth_mib"], target="< 256 MiB",
                   higher_is_better=False, maximum_value=256),
            Figure("viewers", f"mean viewer rate, {label}", "KiB/s", result["viewers_mean_kib_s"]),
        )

    # listing ------------------------------------------------------------------------

    def measure_listing(self, portal: Server, fastapi: Server) -> None:
        rows = seed_rows(SEED_VIDEOS)
        seed_portal(self.work / "portal-data", rows)
        seed_fastapi(self.work / "fastapi-data", rows)
        count = 30 if self.quick else 300
        middle = SEED_VIDEOS // 20 // 2
        queries = {"first page": "", "middle page": f"?page={middle}", "search": f"?q={SEARCH_WORDS[3]}"}
        session = signed_in_cookie(portal.port)
        has_page = fetch_body(portal.port, "/", session).status == 200
        results: dict[str, Any] = {}
        for label, query in queries.items():
            results[label] = {
                "api": latencies_ms(portal.port, "/api/v1/files" + query, count, portal.headers),
                "fastapi": latencies_ms(fastapi.port, "/api/v1/files" + query, count),
                "page": latencies_ms(portal.port, "/" + query, count, session) if has_page else None,
            }
        seconds = 1 if self.quick else 5
        throughput: dict[str, Any] = {
            "api": requests_per_second(portal.port, "/api/v1/files", seconds, portal.headers),
            "fastapi": requests_per_second(fastapi.port, "/api/v1/files", seconds),
            "page": requests_per_second(portal.port, "/", seconds, session) if has_page else None,
        }
        self.samples["listing"] = {**results, "throughput": throughput, "videos": SEED_VIDEOS}
        for label, result in results.items():
            page = result["page"] or {}
            for stat in ("p50_ms", "p99_ms"):
                target, maximum = ("< 15 ms", 15) if stat == "p50_ms" else ("", None)
                name = f"{label} {stat[:3]}"
                self.add(
                    Figure(
                        "listing",
                        f"API {name}",
                        "ms",
                        result["api"][stat],
                        "FastAPI",
                        result["fastapi"][stat],
                        higher_is_better=False,
                        target=target,
                        maximum_value=maximum,
                    ),
                    Figure(
                        "listing",
                        f"page {name}",
                        "ms",
                        page.get(stat),
                        "FastAPI API",
                        result["fastapi"][stat],
                        higher_is_better=False,
                        target=target,
                        maximum_value=maximum,
                    ),
                )
        fastapi_rps = throughput["fastapi"]["rps"]
        self.add(
            Figure(
                "listing",
                f"API req/s, {CLIENTS} clients",
                "req/s",
                throughput["api"]["rps"],
                "FastAPI",
                fastapi_rps,
                ">= 700",
                minimum_value=700,
            ),
            Figure(
                "listing",
                f"page req/s, {CLIENTS} clients",
                "req/s",
                (throughput["page"] or {}).get("rps"),
                "FastAPI API",
                fastapi_rps,
                ">= 700",
                minimum_value=700,
            ),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", type=parse_size, default=parse_size("1GiB"), help="size of the test file (default 1GiB)"
    )
    parser.add_argument(
        "--repeat", type=int, help="runs of each transfer; the median is reported (default 3, 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke test: an 8 MiB file, one run each, short loops")
    parser.add_argument(
        "--viewers", type=int, help="slow viewers while the listing is measured (default 200, 40 with --quick)"
    )
    parser.add_argument(
        "--json", type=Path, default=ROOT / "bench" / "results" / "last.json", help="where to write the results"
    )
    # The library at scale: a run of its own (bench/library.py).
    parser.add_argument("--library", type=int, metavar="N", help="instead: list and search a library of N videos")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both", help="with --library")
    parser.add_argument("--postgres-url", help="with --library: a server to fill instead of a temporary cluster")
    parser.add_argument("--samples", type=int, default=200, help="with --library: requests per figure (default 200)")
    args = parser.parse_args(argv)
    if args.library is not None:
        from bench import library

        if args.library < 1:
            parser.error("--library must be at least 1")
        databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
        json_path = args.json if "--json" in (argv or sys.argv) else ROOT / "bench" / "results" / "library.json"
        return library.run(args.library, databases, args.samples, json_path, args.postgres_url)
    size = 8 * MIB if args.quick and args.size == parse_size("1GiB") else args.size
    if size < 2 * MIB:
        parser.error("--size must be at least 2MiB")
    repeat = args.repeat or (1 if args.quick else 3)

    work = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    work.chmod(0o755)  # nginx's worker runs as an unprivileged user and must reach the stored file
    viewers = args.viewers or (40 if args.quick else 200)
    bench = Bench(work, size, repeat, args.quick, viewers)
    started = time.monotonic()
    try:
        bench.run()
    finally:
        bench.stop_servers()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"portal benchmark: {size / MIB:,.0f} MiB file, median of {repeat} run(s), {SEED_VIDEOS:,} videos listed, "
        f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s"
    )
    print("ratio: portal / reference for rates, reference / portal for times and memory (above 1 = portal better)")
    print(table(bench.figures))
    result = {
        "meta": {
            "size": size,
            "repeat": repeat,
            "quick": args.quick,
            "videos": SEED_VIDEOS,
            "clients": CLIENTS,
            "viewers": viewers,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
        },
        "figures": [figure.as_json() for figure in bench.figures],
        "samples": bench.samples,
    }
    write_results(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

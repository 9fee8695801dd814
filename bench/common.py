"""What the benchmark scripts share: sizes, servers, HTTP as cheaply as a client can do it, memory, figures and results.

Each script of ``bench/`` (``run.py``, ``library.py``, ``viewers.py``, ``tus.py``, ``media.py``,
``backup.py``) imports from here, and none imports another script for a helper: the scripts
are leaves, this module is below them all.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import socket
import statistics
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support import ADMIN_PASSWORD  # noqa: E402
from tests.support import ADMIN_USERNAME  # noqa: E402
from tests.support import ChildExited  # noqa: E402
from tests.support import bearer_headers  # noqa: E402
from tests.support import free_port  # noqa: E402
from tests.support import mp4_header  # noqa: E402
from tests.support import portal_environment  # noqa: E402
from tests.support import seed_admin_token  # noqa: E402
from tests.support import start_process  # noqa: E402
from tests.support import stop_process  # noqa: E402
from tests.support import wait_until_answering  # noqa: E402

MIB = 1024 * 1024


HTTP_TIMEOUT = 300



def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1GiB, 256MiB)")
    units = {"b": 1, "kib": 1024, "mib": MIB, "gib": 1024 * MIB, "kb": 10**3, "mb": 10**6, "gb": 10**9}
    return int(match.group(1)) * units[(match.group(2) or "b").lower()]



def megabytes_per_second(size: int, seconds: float) -> float:
    return size / seconds / 1e6



def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]



def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its children (a server's workers), from /proc (0 once gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    own = int(match.group(1)) * 1024 if match else 0
    return own + sum(rss_bytes(int(child)) for child in children)



class Server:
    """A child process answering HTTP on 127.0.0.1, stopped by :meth:`stop`.

    ``headers`` go with every request to it (the portal's API wants a token; the peers want nothing).
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        port: int,
        log_dir: Path,
        health: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.headers = headers or {}
        self.log_path = log_dir / f"{name}.log"
        self.process = start_process(command, {**os.environ, **env}, self.log_path)
        try:
            wait_until_answering(self.process, port, health, timeout=30, accept=lambda status: status < 500)
        except ChildExited as error:
            raise RuntimeError(f"{name} {error}:\n{self.log_path.read_text()}") from None
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{name} did not answer {health} within 30 s") from None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process, timeout=15)



def start_portal(work: Path) -> Server:
    """The portal as in production: one waitress process per CPU; an admin's token authenticates the API."""
    port = free_port()
    env = portal_environment(work / "portal-data", port, processes=None)
    headers = bearer_headers(seed_admin_token(env))
    return Server("portal", [sys.executable, "wsgi.py"], env, port, work, "/healthz", headers)



def connect(port: int) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection



@dataclass
class Form:
    """A multipart body around a file: the file's bytes go with sendfile, never through Python."""

    field: str
    fields: dict[str, str]
    boundary: str = "bench-" + uuid.uuid4().hex

    def preamble(self) -> bytes:
        parts = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in self.fields.items()
        ]
        parts.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{self.field}"; filename="bench.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        )
        return "".join(parts).encode()

    def epilogue(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()



@dataclass
class Reply:
    status: int
    seconds: float
    body: bytes
    headers: dict[str, str]



def upload(
    port: int, path: str, source: Path, form: Form | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """POST ``source`` as the raw body or inside ``form``; time from connect to the full answer."""
    size = source.stat().st_size
    preamble = form.preamble() if form else b""
    epilogue = form.epilogue() if form else b""
    started = time.perf_counter()
    connection = connect(port)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        content_type = f"multipart/form-data; boundary={form.boundary}" if form else "video/mp4"
        for name, value in {
            "Content-Type": content_type,
            "Content-Length": str(len(preamble) + size + len(epilogue)),
            **(headers or {}),
        }.items():
            connection.putheader(name, value)
        connection.endheaders()
        try:
            connection.sock.sendall(preamble)
            with open(source, "rb") as file:
                connection.sock.sendfile(file)
            connection.sock.sendall(epilogue)
        except OSError:
            pass  # the server answered early (an error): read what it said
        response = connection.getresponse()
        body = response.read()
        return Reply(response.status, time.perf_counter() - started, body, dict(response.getheaders()))
    finally:
        connection.close()



def signed_in_cookie(port: int) -> dict[str, str]:
    """Sign the seeded admin in through the portal's /login form; the session cookie the pages want."""
    page = fetch_body(port, "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.body.decode(errors="replace"))
    if page.status != 200 or token is None:
        raise RuntimeError(f"the portal's sign-in page answered {page.status} without a form")
    cookie = page.headers.get("Set-Cookie", "").split(";", 1)[0]
    body = urllib.parse.urlencode({"csrf_token": token.group(1), "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD})
    connection = connect(port)
    try:
        connection.request(
            "POST", "/login", body=body,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        # The session, and the device cookie that keeps sign-in limits off a known browser.
        signed_in = "; ".join(cookie.split(";", 1)[0] for cookie in response.headers.get_all("Set-Cookie") or [])
    finally:
        connection.close()
    if response.status != 303 or not signed_in:
        raise RuntimeError(f"signing in to the portal answered {response.status}")
    return {"Cookie": signed_in}



def fetch_body(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    connection = connect(port)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, 0.0, response.read(), dict(response.getheaders()))
    finally:
        connection.close()



class PeakRss(threading.Thread):
    """Samples a process's resident memory every few milliseconds while an operation runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.before = rss_bytes(pid)
        self.peak = self.before
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.join()
        self.peak = max(self.peak, rss_bytes(self.pid))



def make_video_file(path: Path, size: int) -> None:
    """An MP4 the portal recognises by its bytes (ftyp + one mdat box), filled with random bytes."""
    header = mp4_header(size)
    block = os.urandom(8 * MIB)
    with open(path, "wb") as file:
        file.write(header)
        remaining = size - len(header)
        while remaining > 0:
            remaining -= file.write(block[: min(len(block), remaining)])



def hash_copy_limit(source: Path, folder: Path, repeat: int) -> list[float]:
    """Read + SHA-256 + write + fsync in plain Python: what any upload has to do with the bytes."""
    rates = []
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    for _ in range(repeat):
        target = folder / "limit.part"
        started = time.perf_counter()
        digest = hashlib.sha256()
        with open(source, "rb", buffering=0) as reader, open(target, "wb", buffering=0) as writer:
            while read := reader.readinto(buffer):
                digest.update(view[:read])
                writer.write(view[:read])
            os.fsync(writer.fileno())
        digest.hexdigest()
        rates.append(megabytes_per_second(source.stat().st_size, time.perf_counter() - started))
        target.unlink()
    return rates



@dataclass
class Figure:
    group: str
    name: str
    unit: str
    value: float | None
    against: str = ""
    reference: float | None = None
    target: str = ""
    higher_is_better: bool = True
    #: When set, the target is on the ratio; otherwise on the value itself.
    minimum_ratio: float | None = None
    #: A ceiling on the value over the reference (a time against another time: at most so many times
    #: as long); the ratio is then that share, whichever way is better.
    maximum_ratio: float | None = None
    maximum_value: float | None = None
    minimum_value: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.reference is None or not self.value or not self.reference:
            return None
        share = self.higher_is_better or self.maximum_ratio is not None
        return self.value / self.reference if share else self.reference / self.value

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        if self.minimum_ratio is not None:
            return None if self.ratio is None else self.ratio >= self.minimum_ratio
        if self.maximum_ratio is not None:
            return None if self.ratio is None else self.ratio <= self.maximum_ratio
        if self.maximum_value is not None:
            return self.value < self.maximum_value
        if self.minimum_value is not None:
            return self.value >= self.minimum_value
        return None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}



def median(samples: list[float]) -> float:
    return statistics.median(samples)



def number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"



def table(figures: list[Figure]) -> str:
    header = ("group", "figure", "value", "unit", "against", "reference", "ratio", "target", "met")
    rows = [header]
    for figure in figures:
        met = {True: "yes", False: "NO", None: ""}[figure.met] if figure.target else ""
        rows.append(
            (
                figure.group,
                figure.name,
                number(figure.value),
                figure.unit,
                figure.against,
                number(figure.reference) if figure.against else "",
                f"{figure.ratio:.2f}" if figure.ratio else ("n/a" if figure.against else ""),
                figure.target,
                met,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def write_results(path: Path, result: dict[str, Any]) -> None:
    """Write a run's results as JSON to ``path`` (its folder made if need be), and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path}")

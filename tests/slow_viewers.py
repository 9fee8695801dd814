"""Many slow viewers at once: raw sockets that read their downloads at a fixed pace, driven by one thread.

Shared by the viewers test, ``bench/viewers.py`` and ``bench/run.py``; only the
standard library is used. One selector loop reads every socket at no more than
``rate`` bytes per second each, so 200 viewers cost the client side almost
nothing, and a small receive buffer makes the server feel each slow reader
instead of the kernel's buffers hiding it.
"""

from __future__ import annotations

import hashlib
import http.client
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Mapping
from typing import Sequence

#: A small receive buffer: a viewer that reads slowly stops the server's sending early.
RECEIVE_BUFFER = 32 * 1024
#: How often the loop wakes to let each viewer read what its pace allows.
TICK = 0.05


@dataclass
class Viewer:
    """One connection downloading ``path``: what it received so far, and how it ended."""

    path: str
    headers: Mapping[str, str]
    sock: socket.socket | None = None
    head: bytes = b""
    status: int | None = None
    content_length: int | None = None
    received: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    #: True once the server closed the connection (or it failed); the body may be short.
    closed: bool = False
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.content_length is not None and self.received == self.content_length

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def request(self) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def take(self, data: bytes) -> None:
        if self.status is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end].decode("latin-1"), self.head[end + 4 :]
            self.head = b""
            lines = head.split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    self.content_length = int(value.strip())
        if self.content_length is not None:
            data = data[: self.content_length - self.received]
        self.received += len(data)
        self.digest.update(data)


class SlowViewers:
    """Open one connection per ``(path, headers)`` to 127.0.0.1:``port`` and read each at ``rate`` bytes/s.

    :meth:`start` connects them all and starts the reading thread; :meth:`unthrottle`
    lets every viewer read as fast as it can; :meth:`wait` waits for every
    connection to end; :meth:`stop` closes what is left.
    """

    def __init__(self, port: int, downloads: Sequence[tuple[str, Mapping[str, str]]], rate: float) -> None:
        self.port = port
        self.viewers = [Viewer(path, headers) for path, headers in downloads]
        self.rate: float | None = rate
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-viewers", daemon=True)
        self._lock = threading.Lock()
        self._started = 0.0
        self._allowance_base = 0.0

    def __enter__(self) -> SlowViewers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for viewer in self.viewers:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(viewer.request())
            sock.setblocking(False)
            viewer.sock = sock
            self._selector.register(sock, selectors.EVENT_READ, viewer)
        self._started = time.monotonic()
        self._thread.start()

    def unthrottle(self) -> None:
        with self._lock:
            self.rate = None

    @property
    def open_count(self) -> int:
        return sum(not viewer.closed for viewer in self.viewers)

    def wait(self, timeout: float) -> bool:
        """True when every connection ended within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.open_count:
                return True
            time.sleep(TICK)
        return not self.open_count

    def wait_for_answers(self, timeout: float) -> bool:
        """True when every viewer has its response's status line and headers (or was closed) within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(viewer.status is not None or viewer.closed for viewer in self.viewers):
                return True
            time.sleep(TICK)
        return False

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for viewer in self.viewers:
            if viewer.sock is not None:
                viewer.sock.close()
        self._selector.close()

    def _allowance(self, viewer: Viewer, now: float) -> int:
        with self._lock:
            rate = self.rate
        if rate is None:
            return 1024 * 1024
        return int(rate * (now - self._started)) - viewer.received - len(viewer.head)

    def _run(self) -> None:
        while not self._stop.is_set() and self._selector.get_map():
            events = self._selector.select(timeout=TICK)
            now = time.monotonic()
            for key, _mask in events:
                viewer: Viewer = key.data
                allowance = self._allowance(viewer, now)
                if allowance <= 0:
                    continue
                self._read(viewer, min(allowance, 256 * 1024))
            if self.rate is not None:
                # Readable sockets that may not read yet would wake the loop at once: wait a tick.
                time.sleep(TICK)

    def _read(self, viewer: Viewer, size: int) -> None:
        assert viewer.sock is not None
        try:
            data = viewer.sock.recv(size)
        except BlockingIOError:
            return
        except OSError as error:
            viewer.error = str(error)
            data = b""
        if data:
            viewer.take(data)
            return
        viewer.closed = True
        self._selector.unregister(viewer.sock)
        viewer.sock.close()
        viewer.sock = None


@dataclass
class Probe:
    """Latencies of GETs of one path, one at a time on fresh connections, while something else runs."""

    path: str
    headers: Mapping[str, str]
    samples_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def once(self, port: int, timeout: float) -> None:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            connection.request("GET", self.path, headers=dict(self.headers))
            response = connection.getresponse()
            response.read()
            self.statuses.append(response.status)
            self.samples_ms.append((time.perf_counter() - started) * 1000)
        except OSError as error:
            self.failures.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    def percentile(self, fraction: float) -> float | None:
        if not self.samples_ms:
            return None
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def probe_while(port: int, probes: list[Probe], seconds: float, interval: float, timeout: float) -> None:
    """Run each probe in turn every ``interval`` seconds for ``seconds`` seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for probe in probes:
            probe.once(port, timeout)
        time.sleep(interval)

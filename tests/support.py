"""What the tests, the benchmark and the load test all build: sample MP4 bytes, free ports, child servers.

Only the standard library is used, so ``python bench/run.py`` and
``python scripts/loadtest.py`` import it from the repository root (they put
the root on ``sys.path``) without pytest or anything else installed.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable
from typing import Mapping

ROOT = Path(__file__).resolve().parent.parent

#: The ``ftyp`` box of an ISO BMFF file: what makes the portal recognise bytes as MP4.
MP4_FTYP = (24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"


def mp4_header(size: int) -> bytes:
    """The first bytes of an MP4 of ``size`` bytes in all: ``ftyp``, then the header of one ``mdat`` box."""
    mdat_size = size - len(MP4_FTYP)
    return MP4_FTYP + (mdat_size if mdat_size < 2**32 else 1).to_bytes(4, "big") + b"mdat"


def minimal_mp4(payload: bytes = b"") -> bytes:
    """An ISO BMFF header (ftyp + mdat): recognised as MP4 by its bytes, not playable."""
    body = payload or os.urandom(2048)
    return mp4_header(len(MP4_FTYP) + 8 + len(body)) + body


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_environment(
    data_dir: Path, port: int, env: Mapping[str, str] | None = None, processes: int | None = 1
) -> dict[str, str]:
    """The environment of a child ``python wsgi.py`` on 127.0.0.1:``port`` with its data in ``data_dir``.

    ``processes`` sets ``PORTAL_PROCESSES`` (one waitress process is enough
    unless the process model itself is measured or tested); ``None`` keeps the
    portal's default of one per CPU. ``env`` comes last and wins.
    """
    full = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "PORTAL_HOST": "127.0.0.1", "PORTAL_PORT": str(port)}
    if processes is not None:
        full["PORTAL_PROCESSES"] = str(processes)
    full.update(env or {})
    return full


def start_process(command: list[str], env: Mapping[str, str], log_path: Path | None = None) -> subprocess.Popen:
    """``command`` run from the repository root; its output to ``log_path`` (appended), else to a pipe."""
    # A long run logs more than a pipe holds; a log file never blocks the server.
    output = open(log_path, "ab") if log_path else subprocess.PIPE
    try:
        return subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log_path:
            output.close()


def wait_until_answering(
    process: subprocess.Popen,
    port: int,
    path: str = "/healthz",
    timeout: float = 20,
    accept: Callable[[int], bool] = lambda status: status == 200,
    interval: float = 0.05,
) -> None:
    """Wait until ``GET path`` on 127.0.0.1:``port`` answers a status ``accept`` takes.

    Raises :class:`ChildExited` when the process ends first and
    :class:`TimeoutError` when it has not answered within ``timeout`` seconds
    (the process is left running: the caller stops it).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChildExited(process.returncode)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", path)
            if accept(connection.getresponse().status):
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(interval)
    raise TimeoutError(f"nothing answered GET {path} on port {port} within {timeout} s")


class ChildExited(RuntimeError):
    """The child server ended before it answered."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"exited with {returncode}")
        self.returncode = returncode


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """Ask a child server to stop; kill it when it has not within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RunningPortal:
    """``python wsgi.py`` (or another command line) serving on 127.0.0.1 in a child process.

    One waitress process unless ``processes`` says otherwise (``None``: the
    portal's default, one per CPU); ``env`` may set ``PORTAL_PROCESSES`` too.
    """

    def __init__(
        self,
        command: list[str],
        data_dir: Path,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        processes: int | None = 1,
        timeout: float = 20,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path
        self.process = start_process(command, portal_environment(data_dir, self.port, env, processes), log_path)
        self.wait_until_healthy(timeout)

    def wait_until_healthy(self, timeout: float = 20) -> None:
        try:
            wait_until_answering(self.process, self.port, "/healthz", timeout)
        except ChildExited:
            raise RuntimeError(f"the portal exited with {self.process.returncode}:\n{self.output()}") from None
        except TimeoutError:
            self.stop()
            raise RuntimeError("the portal did not answer /healthz in time") from None

    def output(self) -> str:
        """What the server printed (the whole pipe when no log file was given: only once it exited)."""
        if self.log_path:
            return self.log_path.read_text(errors="replace")
        return self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=10)
        if self.process.stdout:
            self.process.stdout.close()

"""Small helpers for tests: upload, and look at what is stored."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from portal.storage.local import INCOMING


def upload(client, data: bytes, filename: str = "clip.mp4", **form):
    return client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(data), filename), **form},
        content_type="multipart/form-data",
    )


def stored_files(data_dir: Path) -> list[Path]:
    """Every file in the storage folder, temporary ones included."""
    return sorted(path for path in (data_dir / "files").rglob("*") if path.is_file())


def incoming_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "files" / INCOMING).iterdir())


def row_count(app) -> int:
    from portal.extensions import db
    from portal.library.models import Video

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Video))


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """Ask a child server to stop; kill it when it has not within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server and its worker processes), from Linux's /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(descendant for child in children for descendant in process_tree(int(child)))]


def process_state(pid: int) -> str | None:
    """The state letter Linux's /proc gives ``pid`` ("Z": exited, not yet reaped), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def open_descriptors(pid: int) -> list[str]:
    """What the open file descriptors of ``pid`` point at (paths, ``socket:[...]``), from /proc."""
    targets = []
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for link in links:
        try:
            targets.append(os.readlink(link))
        except OSError:
            continue  # closed meanwhile
    return targets


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningPortal:
    """``python wsgi.py`` (or another command line) serving on 127.0.0.1 in a child process."""

    def __init__(
        self, command: list[str], data_dir: Path, env: dict[str, str] | None = None, log_path: Path | None = None
    ) -> None:
        import os

        root = Path(__file__).resolve().parent.parent
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path
        full_env = {
            **os.environ,
            "PORTAL_DATA_DIR": str(data_dir),
            "PORTAL_HOST": "127.0.0.1",
            "PORTAL_PORT": str(self.port),
            **(env or {}),
        }
        # A long run logs more than a pipe holds; a log file never blocks the server.
        output = open(log_path, "ab") if log_path else subprocess.PIPE
        self.process = subprocess.Popen(command, cwd=root, env=full_env, stdout=output, stderr=subprocess.STDOUT)
        if log_path:
            output.close()
        self.wait_until_healthy()

    def wait_until_healthy(self, timeout: float = 20) -> None:
        import time
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                raise RuntimeError(f"the portal exited with {self.process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the portal did not answer /healthz in time")

    def output(self) -> str:
        """What the server printed (the whole pipe when no log file was given: only once it exited)."""
        if self.log_path:
            return self.log_path.read_text(errors="replace")
        return self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""

    def stop(self) -> None:
        stop_process(self.process, timeout=10)
        if self.process.stdout:
            self.process.stdout.close()

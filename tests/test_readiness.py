"""Started with the database or the store unreachable, the portal runs, says so on /healthz, and serves once they are back.

"Back" is real each time: a SQLite file whose folder appears (a volume mounted
late), PostgreSQL and SeaweedFS reached through a port that only starts
forwarding to them partway through the test.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.support import announced_port
from tests.support import bearer_headers
from tests.support import found
from tests.support import free_port
from tests.support import minimal_mp4
from tests.support import portal_environment
from tests.support import seed_admin_token
from tests.support import start_process
from tests.support import stop_process
from tests.support import wait_until_answering

pytestmark = pytest.mark.server


class Forwarder:
    """Once started, forwards every connection to 127.0.0.1:``port`` on to ``target``: a server coming up."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = port
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self._spawn(self._accept)

    def _spawn(self, run, *args) -> None:
        thread = threading.Thread(target=run, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._spawn(self._pipe, client, upstream)
            self._spawn(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.listener.close()


class StartedPortal:
    """``python wsgi.py`` started without waiting for it to be healthy (it is not, at first)."""

    def __init__(self, data_dir: Path, env: dict[str, str], token: bool) -> None:
        self.log = data_dir.parent / "portal.log"
        environment = portal_environment(data_dir, 0, env)
        self.headers = bearer_headers(seed_admin_token(environment)) if token else {}
        self.process = start_process([sys.executable, "wsgi.py"], environment, self.log)
        self.port = announced_port(self.process, lambda: self.log.read_text(errors="replace"), timeout=30)
        self.url = f"http://127.0.0.1:{self.port}"

    def health(self) -> requests.Response:
        return requests.get(self.url + "/healthz", timeout=30)

    def wait_for_health(self, status: int, timeout: float = 30) -> None:
        wait_until_answering(self.process, self.port, "/healthz", timeout, accept=lambda answer: answer == status)

    def stop(self) -> None:
        stop_process(self.process, timeout=10)


def test_started_before_its_sqlite_folder_exists_it_answers_503_then_serves(tmp_path):
    later = tmp_path / "mounted-later"
    portal = StartedPortal(tmp_path / "data", {"PORTAL_SQLALCHEMY_DATABASE_URI": f"sqlite:///{later / 'portal.db'}"}, token=False)
    try:
        portal.wait_for_health(503)
        assert portal.health().json() == {"status": "unavailable", "problems": ["database unavailable"]}
        listing = requests.get(portal.url + "/api/v1/files", timeout=10)
        assert listing.status_code == 503 and listing.json()["error"]["code"] == "service_unavailable"
        assert portal.process.poll() is None
        later.mkdir()
        portal.wait_for_health(200)
        assert portal.health().json() == {"status": "ok"}
        # The one-time setup link it printed works now that the database is there.
        code = found(r"setup\?code=(\S+)", portal.log.read_text()).group(1)
        assert requests.get(portal.url + f"/setup?code={code}", timeout=10).status_code == 200
        assert (later / "portal.db").exists()
    finally:
        portal.stop()
    assert "cannot be reached" in portal.log.read_text()


def test_started_while_postgresql_is_unreachable_it_answers_503_then_serves(tmp_path, postgres_url):
    real = make_url(postgres_url)
    closed_port = free_port()
    unreachable = real.set(host="127.0.0.1", port=closed_port).render_as_string(hide_password=False)
    portal = StartedPortal(tmp_path / "data", {"PORTAL_SQLALCHEMY_DATABASE_URI": unreachable}, token=False)
    forwarder = Forwarder(closed_port, (real.host or "127.0.0.1", real.port or 5432))
    try:
        portal.wait_for_health(503)
        assert "database unavailable" in portal.health().json()["problems"]
        assert portal.process.poll() is None
        forwarder.start()
        portal.wait_for_health(200)
        assert requests.get(portal.url + "/login", timeout=10).status_code == 200
    finally:
        portal.stop()
        forwarder.stop()


def test_started_while_the_object_store_is_down_it_answers_503_then_serves(tmp_path, s3_server, s3_url):
    closed_port = free_port()
    env = {
        **s3_server.environment(),
        "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{closed_port}",
        "PORTAL_STORAGE_URL": s3_url,
    }
    portal = StartedPortal(tmp_path / "data", env, token=True)
    forwarder = Forwarder(closed_port, ("127.0.0.1", s3_server.port))
    try:
        portal.wait_for_health(503, timeout=60)
        assert portal.health().json()["problems"] == ["storage unavailable"]
        assert portal.process.poll() is None
        forwarder.start()
        portal.wait_for_health(200, timeout=60)
        data = minimal_mp4(os.urandom(64 * 1024))
        created = requests.post(portal.url + "/api/v1/files?filename=a.mp4", data=data, headers=portal.headers, timeout=30)
        assert created.status_code == 201, created.text
        assert requests.get(created.json()["content_url"], headers=portal.headers, timeout=30).content == data
    finally:
        portal.stop()
        forwarder.stop()


def test_the_job_consumer_waits_for_the_database_instead_of_stopping_the_server(tmp_path):
    later = tmp_path / "mounted-later"
    env = {"PORTAL_SQLALCHEMY_DATABASE_URI": f"sqlite:///{later / 'portal.db'}", "PORTAL_JOB_WORKERS": "1"}
    portal = StartedPortal(tmp_path / "data", env, token=False)
    try:
        portal.wait_for_health(503)
        time.sleep(3)  # long enough for a consumer that failed to have stopped the whole server
        assert portal.process.poll() is None
        later.mkdir()
        portal.wait_for_health(200)
    finally:
        portal.stop()

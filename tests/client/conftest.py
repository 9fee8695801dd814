"""Fixtures of the client's tests: one real portal per module, the client installed from client/, its folders.

The client runs in two ways: its ``main()`` in this process (so a test can
look at the requests it makes), and as the ``portal-client`` console script of
a copy installed with pip into a folder of its own (``--target``), never into
the shared virtual environment, with only the client's own code on top of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ADMIN_USERNAME
from tests.support import ROOT
from tests.support import RunningPortal
from tests.support import minimal_mp4
from tests.support import portal_environment
from tests.support import portal_settings


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    running = RunningPortal([sys.executable, "wsgi.py"], tmp_path_factory.mktemp("portal") / "data")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def v1_portal(tmp_path_factory):
    """A portal whose /api/v2 answers 404 to everything, as one from before v2 did (tests/client/v1_only.py)."""
    running = RunningPortal([sys.executable, "tests/client/v1_only.py"], tmp_path_factory.mktemp("v1-portal") / "data")
    yield running
    running.stop()


@pytest.fixture
def v1_signed_in(folders, v1_portal, monkeypatch) -> ClientFolders:
    """The client pointed at the v1-only portal with its admin's token."""
    monkeypatch.setenv("PORTAL_URL", v1_portal.url)
    monkeypatch.setenv("PORTAL_TOKEN", v1_portal.token)
    return folders


@pytest.fixture(scope="session")
def installed_client(tmp_path_factory) -> Path:
    """The folder ``pip install --target`` put the client into (its console script in ``bin/``).

    pip builds a local folder in place, so a copy of client/ is installed,
    leaving no build output in the repository.
    """
    scratch = tmp_path_factory.mktemp("client-install")
    source = shutil.copytree(ROOT / "client", scratch / "source", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = scratch / "target"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )
    return target


@dataclass
class ClientFolders:
    """The config and state folders the client uses in a test (XDG_CONFIG_HOME, XDG_STATE_HOME)."""

    config_home: Path
    state_home: Path

    @property
    def config_file(self) -> Path:
        return self.config_home / "portal-client" / "config.json"

    @property
    def uploads_file(self) -> Path:
        return self.state_home / "portal-client" / "uploads.json"


@pytest.fixture
def folders(tmp_path, monkeypatch) -> ClientFolders:
    """Folders of the user's config and state of their own, and no PORTAL_URL/PORTAL_TOKEN from outside."""
    made = ClientFolders(tmp_path / "config", tmp_path / "state")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(made.config_home))
    monkeypatch.setenv("XDG_STATE_HOME", str(made.state_home))
    monkeypatch.delenv("PORTAL_URL", raising=False)
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    return made


@pytest.fixture
def signed_in(folders, portal, monkeypatch) -> ClientFolders:
    """The client pointed at the test portal with the admin's token (through the environment)."""
    monkeypatch.setenv("PORTAL_URL", portal.url)
    monkeypatch.setenv("PORTAL_TOKEN", portal.token)
    return folders


def client_command(installed: Path, *args: str) -> list[str]:
    return [str(installed / "bin" / "portal-client"), *args]


def run_installed(installed: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed console script with ``args``, in the environment of the test (plus ``env``)."""
    environment = {**os.environ, "PYTHONPATH": str(installed), **(env or {})}
    return subprocess.run(client_command(installed, *args), cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def upload_through_api(portal: RunningPortal, name: str, size: int = 200_000) -> tuple[dict, bytes]:
    """A video stored with the plain ``POST /api/v1/files``: its JSON and its bytes."""
    data = minimal_mp4(os.urandom(size))
    response = portal.http.post(f"{portal.url}/api/v1/files?filename={name}", data=data, timeout=30)
    assert response.status_code == 201, response.text
    return response.json(), data


def make_token(portal: RunningPortal, scopes: tuple[str, ...]) -> str:
    """A new API token of ``admin`` with only ``scopes``, made in the running portal's database."""
    import tempfile

    from portal import create_app
    from portal.accounts import service
    from portal.extensions import db

    settings = portal_settings(portal_environment(portal.data_dir, portal.port))
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app({**settings, "STORAGE_URL": Path(scratch).as_uri()})
        with app.app_context():
            try:
                _token, value = service.create_token(ADMIN_USERNAME, scopes, label="client tests")
            finally:
                db.session.remove()
                db.engine.dispose()
    return value


def stored_path(portal: RunningPortal, file_id: str) -> Path:
    """Where the local storage keeps the original bytes of ``file_id``."""
    [path] = [p for p in (portal.data_dir / "files").rglob(file_id) if p.is_file() and "original" in p.parts]
    return path

"""What the tests, the benchmark and the load test all build: sample MP4 bytes, free ports, child servers.

Only the standard library is used at import time, so ``python bench/run.py``
and ``python scripts/loadtest.py`` import it from the repository root (they
put the root on ``sys.path``) without pytest or anything else installed. The
portal's own code is imported only to seed an account, and ``requests`` only
for :attr:`RunningPortal.http`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable
from typing import Mapping

if TYPE_CHECKING:
    import requests

ROOT = Path(__file__).resolve().parent.parent

#: The ``ftyp`` box of an ISO BMFF file: what makes the portal recognise bytes as MP4.
MP4_FTYP = (24).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2"


def found(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """``re.search`` where ``text`` is known to hold a match (a clear failure when it does not)."""
    match = re.search(pattern, text, flags)
    assert match is not None, f"no {pattern!r} in {text[:1000]!r}"
    return match


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
    portal's default of one per CPU. No job consumer is started unless ``env``
    asks for one (``PORTAL_JOB_WORKERS``): the tests of the job queue do, and
    the others count the web workers. ``env`` comes last and wins.
    """
    full = {
        **os.environ,
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_HOST": "127.0.0.1",
        "PORTAL_PORT": str(port),
        "PORTAL_JOB_WORKERS": "0",
    }
    if processes is not None:
        full["PORTAL_PROCESSES"] = str(processes)
    full.update(env or {})
    return full


#: What a child portal logs at start-up under the suite's cheap password hashes (tests/conftest.py).
CHEAP_HASH_WARNING = "PORTAL_PASSWORD_HASH_PROFILE is CHEAPEST"

#: The port in a child's start-up line (plain or inside a JSON log line).
STARTUP_PORT = re.compile(r"portal \S+ on http://127\.0\.0\.1:(\d+)/")

#: The account every child portal of the tests gets (unless told not to): an admin may do everything.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password"
ADMIN_SCOPES = ("read", "upload", "delete")
#: Where the value of the seeded token is kept in the data folder, for a portal restarted on it.
ADMIN_TOKEN_FILE = "admin-token"


def portal_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings the ``PORTAL_*`` variables of ``env`` give, parsed as JSON where they can be (as Flask does)."""
    settings: dict[str, Any] = {}
    for key in sorted(env):
        if key.startswith("PORTAL_"):
            try:
                settings[key.removeprefix("PORTAL_")] = json.loads(env[key])
            except ValueError:
                settings[key.removeprefix("PORTAL_")] = env[key]
    return settings


_migrated_sqlite: list[Path] = []


def migrated_sqlite_template() -> Path:
    """A SQLite database file the migrations ran on, made once per process and removed at its exit.

    A new portal copies it instead of running every migration again: the copy
    keeps its ``alembic_version`` row, so the upgrade at start-up finds nothing
    to do. Each parallel test worker is a process of its own, with its own copy.
    """
    if not _migrated_sqlite:
        import atexit
        import shutil
        import sqlite3
        from contextlib import closing

        from portal import create_app
        from portal.extensions import db

        folder = Path(tempfile.mkdtemp(prefix="portal-migrated-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "portal.db"
        app = create_app({"DATA_DIR": str(folder), "SECRET_KEY": "template", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context():
            db.engine.dispose()
        # Fold the write-ahead log into the file, so that the file alone is the whole database.
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _migrated_sqlite.append(path)
    return _migrated_sqlite[0]


def start_from_migrated_sqlite(env: Mapping[str, str]) -> None:
    """Give a new SQLite library the migrated template (nothing when its file exists or it is not SQLite)."""
    import shutil

    url = portal_settings(env).get("SQLALCHEMY_DATABASE_URI") or f"sqlite:///{Path(env['PORTAL_DATA_DIR']) / 'portal.db'}"
    if not url.startswith("sqlite:///") or "?" in url:
        return
    target = Path(url.removeprefix("sqlite:///"))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite_template(), target)


def seed_admin_token(env: Mapping[str, str]) -> str:
    """An API token with every scope, of the user ``admin``, in the database a child with ``env`` will use.

    The user is made when missing (with :data:`ADMIN_PASSWORD`) and the token's
    value is kept in the data folder: a portal restarted on the same folder
    reuses it without the database being opened here again, so nothing runs
    before the child that it should find undone (leftovers of a killed upload,
    say). The bytes are kept out of it: the app built here stores into a
    throwaway folder, whatever ``PORTAL_STORAGE_URL`` says.
    """
    data_dir = Path(env["PORTAL_DATA_DIR"])
    saved = data_dir / ADMIN_TOKEN_FILE
    if saved.exists():
        return saved.read_text().strip()
    from portal import create_app
    from portal import errors
    from portal.accounts import service
    from portal.extensions import db

    start_from_migrated_sqlite(env)
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app({**portal_settings(env), "STORAGE_URL": Path(scratch).as_uri()})
        with app.app_context():
            try:
                if service.find_user(ADMIN_USERNAME) is None:
                    try:
                        service.create_user(ADMIN_USERNAME, ADMIN_PASSWORD, "admin")
                    except errors.UserExists:
                        pass  # another portal on the same database made it in between
                _token, value = service.create_token(ADMIN_USERNAME, ADMIN_SCOPES, label="tests")
            finally:
                # The child opens the same database: no connection of this process may linger.
                db.session.remove()
                db.engine.dispose()
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value)
    return value


def bearer_headers(token: str | None) -> dict[str, str]:
    """The header that authenticates an API request with ``token`` (none without a token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def start_process(command: list[str], env: Mapping[str, str], log_path: Path | None = None) -> subprocess.Popen:
    """``command`` run from the repository root; its output to ``log_path`` (appended), else to a pipe."""
    # A long run logs more than a pipe holds; a log file never blocks the server.
    if log_path is None:
        return subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(log_path, "ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT)


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Whether ``condition()`` came true within ``timeout`` seconds, asked every 50 ms (and once more at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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


def announced_port(process: subprocess.Popen, output: Callable[[], str], timeout: float = 20) -> int:
    """The port of the start-up line (``portal X on http://127.0.0.1:PORT/ ...``) in ``output()``.

    A child started with ``PORTAL_PORT=0`` binds a free port itself and says
    which, so two servers started at the same moment (parallel test workers)
    are never handed the same one, as they can be by :func:`free_port`.
    Raises :class:`ChildExited` when the process ends first, :class:`TimeoutError`
    when no such line came within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = STARTUP_PORT.search(output())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise ChildExited(process.returncode)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the portal printed no start-up line within {timeout} s")
        time.sleep(0.02)


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

    Before it starts, the database gets the user ``admin`` and an API token with
    every scope (see :func:`seed_admin_token`), unless ``seed_admin`` is false:
    :attr:`token`, :attr:`auth_headers` and :attr:`http` (a ``requests``
    session sending it) are what a test talks to the API with.
    """

    def __init__(
        self,
        command: list[str],
        data_dir: Path,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        processes: int | None = 1,
        timeout: float = 60,
        seed_admin: bool = True,
    ) -> None:
        self.data_dir = data_dir
        # The child's output always goes to a file: its start-up line says the port it took.
        self.log_path = log_path or data_dir.parent / f"portal-{uuid.uuid4().hex[:8]}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        asked_port = (env or {}).get("PORTAL_PORT")
        # Port 0 lets the child bind a free port itself, so that two servers started at the same
        # moment (parallel test workers) can never be handed the same one.
        environment = portal_environment(data_dir, int(asked_port or 0), env, processes)
        #: An API token of ``admin`` with every scope; None when not seeded.
        self.token = seed_admin_token(environment) if seed_admin else None
        self._http: requests.Session | None = None
        self.process = start_process(command, environment, self.log_path)
        # Waiting for this child's own line also tells it apart from another server on an asked port.
        self.port = self._announced_port(timeout)
        self.url = f"http://127.0.0.1:{self.port}"
        self.wait_until_healthy(timeout)

    def _announced_port(self, timeout: float) -> int:
        try:
            return announced_port(self.process, self.output, timeout)
        except ChildExited:
            raise RuntimeError(f"the portal exited with {self.process.returncode}:\n{self.output()}") from None
        except TimeoutError as timed_out:
            self.stop()
            raise RuntimeError(f"{timed_out}:\n{self.output()}") from None

    @property
    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <token>`` (empty when no account was seeded)."""
        return bearer_headers(self.token)

    @property
    def auth_line(self) -> bytes:
        """:attr:`auth_headers` as header lines of a request written by hand (for a raw socket)."""
        return "".join(f"{name}: {value}\r\n" for name, value in self.auth_headers.items()).encode()

    @property
    def http(self) -> requests.Session:
        """A ``requests`` session that sends :attr:`auth_headers` with every request; closed by :meth:`stop`."""
        if self._http is None:
            import requests

            self._http = requests.Session()
            self._http.headers.update(self.auth_headers)
        return self._http

    def wait_until_healthy(self, timeout: float = 60) -> None:
        try:
            wait_until_answering(self.process, self.port, "/healthz", timeout)
        except ChildExited:
            raise RuntimeError(f"the portal exited with {self.process.returncode}:\n{self.output()}") from None
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the portal did not answer /healthz within {timeout} s; it printed:\n{self.output()}") from None

    def output(self) -> str:
        """What this server printed so far (of a log file given to several servers in turn: its own part)."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, timeout=10)
        if self._http is not None:
            self._http.close()
            self._http = None

"""Fixtures shared by the whole suite: an app on a fresh data folder, its client, sample videos.

Tests that need something a bare machine may lack (ffmpeg, Chromium, a
database server) skip with a reason; with ``PORTAL_TEST_STRICT=1`` (set by
``.ci/run``) every skip is turned into a failure, so CI always runs everything.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.util import LRUCache
from werkzeug.routing import Rule

from portal import create_app

# The browser tests' Chromium (one per module) and signed-in page, for any module that defines ``portal``.
from tests.browsing import browser  # noqa: F401
from tests.browsing import page  # noqa: F401
from tests.databases import DATABASE_URL
from tests.databases import POSTGRES_URL
from tests.databases import database_for_test
from tests.databases import postgres_schema
from tests.databases import run_script
from tests.databases import schema_of
from tests.databases import schema_script
from tests.databases import sqlite_url
from tests.helpers import signed_in_client

# Fixtures of the S3-compatible test server (SeaweedFS), for any test that asks for them.
from tests.objectstore import s3_server  # noqa: F401
from tests.objectstore import s3_url  # noqa: F401
from tests.support import migrated_sqlite_template
from tests.support import minimal_mp4

STRICT = os.environ.get("PORTAL_TEST_STRICT") == "1"

# Every app and child portal of the suite hashes passwords with argon2-cffi's cheapest profile:
# with RFC 9106's 64 MiB a sign-in costs a quarter of a CPU-second, and the suite signs in
# thousands of times. tests/accounts checks the production profile on its own.
os.environ.setdefault("PORTAL_PASSWORD_HASH_PROFILE", "CHEAPEST")


class TemplateCodeOfTheSession(BytecodeCache):
    """Compiled templates kept for every app a test process builds (Jinja checks each against its source).

    A deployed portal builds one app per process; the suite builds one per test, and compiling
    the templates again for each cost a tenth of a second of every page test.
    """

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": TemplateCodeOfTheSession()}

_werkzeug_compile_builder = Rule._compile_builder
_url_builders: dict[tuple[object, ...], object] = {}


def _compile_url_builder_once(self: Rule, append_unknown: bool = True):
    """Werkzeug's URL builder of a rule, compiled once per process for every app that has the same rule.

    Each app's URL map compiles two builders per rule from an AST (a third of the CPU of
    building an app, which the suite does per test). The builder is a function of the rule's
    text, its parts and defaults; it reads the converters from the rule it is bound to.
    """
    key = (
        self.rule, tuple(self._trace), append_unknown, repr(sorted((self.defaults or {}).items())),
        tuple(sorted((name, type(converter).__qualname__) for name, converter in self._converters.items())),
    )
    if key not in _url_builders:
        _url_builders[key] = _werkzeug_compile_builder(self, append_unknown)
    return _url_builders[key]


Rule._compile_builder = _compile_url_builder_once  # type: ignore[method-assign]


class CompiledSqlOfTheSession(LRUCache):
    """SQLAlchemy's cache of compiled statements, shared by every engine a test process makes.

    Each engine keeps its own cache, keyed by its dialect object, and the suite makes an
    engine per app, so every test compiled every statement it ran again (a third of the
    CPU of an average app test, half of the search grid's). Dialects of one kind whose
    settings are the same compile alike: the key holds those settings instead of the
    object (leaving out the default schema, which is each PostgreSQL test's own and is in
    no compiled statement).
    """

    @staticmethod
    def _shared(key):
        dialect, *rest = key
        settings = tuple(
            (name, value) for name, value in sorted(vars(dialect).items())
            if name != "default_schema_name" and isinstance(value, (bool, int, float, str, tuple, type(None)))
        )
        return (type(dialect), settings, *rest)

    def get(self, key, default=None):
        return super().get(self._shared(key), default)

    def __getitem__(self, key):
        return super().__getitem__(self._shared(key))

    def __setitem__(self, key, value):
        super().__setitem__(self._shared(key), value)


_compiled_sql = CompiledSqlOfTheSession(5000)


@event.listens_for(Engine, "engine_connect")
def _use_the_shared_cache(connection) -> None:
    if connection.engine._compiled_cache is not None:
        connection.engine._compiled_cache = _compiled_sql


#: Markers a test gets from the fixtures it uses, directly or through other fixtures.
FIXTURE_MARKERS = {
    "start_portal": "server",  # tests/reliability: python wsgi.py
    "portal": "server",  # tests/test_server.py, the browser tests: python wsgi.py
    "two_workers": "server",
    "browser": "browser",  # the playwright browser of the browser tests
    "s3_server": "s3",
    "redis_url": "redis",  # a redis-server of the test's own
    "postgres_url": "postgres",
    "api_schema": "fuzz",  # schemathesis over an OpenAPI document: minutes of generated requests
}
#: Markers a test gets from a parameter of a fixture: (fixture, parameter) -> marker.
PARAMETER_MARKERS = {("storage", "s3"): "s3", ("empty_database", "postgresql"): "postgres"}


def pytest_collection_modifyitems(items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in names:
                item.add_marker(marker)
        params = getattr(getattr(item, "callspec", None), "params", {})
        for (fixture, value), marker in PARAMETER_MARKERS.items():
            if params.get(fixture) == value:
                item.add_marker(marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and PORTAL_TEST_STRICT=1 forbids skips: {reason}"


@pytest.fixture(scope="session")
def migrated_sqlite() -> Path:
    """A SQLite database the migrations ran on once per session (per worker); each test's app starts from a copy."""
    path = migrated_sqlite_template()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall(), "the migrations left no version"
    return path


@pytest.fixture(scope="session")
def migrated_postgres(tmp_path_factory) -> str | None:
    """SQL that recreates a schema the migrations ran on once per session (None: migrate each schema).

    Replaying pg_dump's statements, ``alembic_version`` row included, makes the
    same tables and indexes under the same names as the migrations, in a
    fraction of the time they take.
    """
    with postgres_schema(DATABASE_URL) as url:
        folder = tmp_path_factory.mktemp("migrated")
        app = create_app({"TESTING": True, "DATA_DIR": str(folder), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()
        script = schema_script(DATABASE_URL, schema_of(url))
    assert script is None or "INSERT INTO alembic_version" in script, "the migrations left no version"
    return script


def copy_migrated_sqlite(template: Path, url: str) -> None:
    """Put a copy of the migrated database where ``url`` points, unless a database is there already."""
    target = Path(url.removeprefix("sqlite:///"))
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)


@pytest.fixture
def database_url(request, tmp_path: Path):
    """SQLite in the test's data folder, or a fresh PostgreSQL schema (``PORTAL_TEST_DATABASE_URL``).

    Either is already migrated to the latest revision (as the portal's own
    start-up would leave it), which saves running the migrations per test.
    """
    with database_for_test(tmp_path / "data") as url:
        if url.startswith("sqlite"):
            copy_migrated_sqlite(request.getfixturevalue("migrated_sqlite"), url)
        elif script := request.getfixturevalue("migrated_postgres"):
            run_script(url, script)
        yield url


@pytest.fixture
def app(tmp_path: Path, database_url: str):
    """The portal on its own data folder; PORTAL_* variables still apply (e.g. a small size limit)."""
    app = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_url}
    )
    yield app
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture(params=["local", "s3"])
def storage_app(request, tmp_path: Path, database_url: str):
    """The portal with its bytes in a local folder, or in the S3 test server."""
    settings = {"TESTING": True, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_url}
    if request.param == "s3":
        settings["STORAGE_URL"] = request.getfixturevalue("s3_url")
    app = create_app(settings)
    yield app
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture
def limited_app(app, tmp_path, database_url):
    """The app with a small upload limit: PORTAL_MAX_CONTENT_LENGTH's if it is small, else 64 KiB.

    It works on the test's database (already migrated) with a data folder of its own.
    """
    if app.config["MAX_CONTENT_LENGTH"] <= 8 * 1024 * 1024:
        yield app
        return
    limited = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "limited"), "SQLALCHEMY_DATABASE_URI": database_url, "MAX_CONTENT_LENGTH": 64 * 1024}
    )
    yield limited
    with limited.app_context():
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture
def client(app):
    """Signed in as ``tester``, an admin: the session cookie for the pages, a bearer token for the API."""
    return signed_in_client(app)


@pytest.fixture
def data_dir(app) -> Path:
    return Path(app.config["DATA_DIR"])


@pytest.fixture
def video_bytes() -> bytes:
    return minimal_mp4()


def _make_with_ffmpeg(path: Path, *args: str) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (Debian package 'ffmpeg'); .ci/run installs it")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc=duration=2:size=320x240:rate=25", *args, "-y", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def real_mp4(tmp_path_factory) -> bytes:
    """A playable two-second H.264 MP4 made by ffmpeg."""
    path = tmp_path_factory.mktemp("videos") / "sample.mp4"
    return _make_with_ffmpeg(path, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart").read_bytes()


@pytest.fixture(scope="session")
def real_webm(tmp_path_factory) -> bytes:
    """A playable two-second VP9 WebM made by ffmpeg."""
    path = tmp_path_factory.mktemp("videos") / "sample.webm"
    return _make_with_ffmpeg(path, "-c:v", "libvpx-vp9", "-b:v", "200k", "-deadline", "realtime").read_bytes()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """An empty database of each kind (PostgreSQL: a fresh schema on ``PORTAL_TEST_POSTGRES_URL``)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    with postgres_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL schema, for a test about what only PostgreSQL has."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set PORTAL_TEST_POSTGRES_URL (.ci/run starts one)")
    with postgres_schema(POSTGRES_URL) as url:
        yield url

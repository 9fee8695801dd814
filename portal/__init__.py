"""The portal: a self-hosted video store."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any
from typing import Mapping

from flask import Flask
from sqlalchemy import event

from .config import Config
from .config import check_settings
from .extensions import csrf
from .extensions import db
from .extensions import migrate
from .http.links import RowIdConverter
from .jobs import bind_queue
from .storage import bind_storage
from .storage import storage_from_url
from .uploads.request import PortalRequest

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Seconds a new PostgreSQL connection may take.
DATABASE_CONNECT_TIMEOUT = 5


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then ``PORTAL_*`` variables, then ``config``."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.request_class = PortalRequest
    app.url_map.converters["row_id"] = RowIdConverter
    app.config.from_object(Config)
    app.config.from_prefixed_env("PORTAL")
    if config:
        app.config.update(config)
    check_settings(app.config)
    configure_data_dir(app)
    register_extensions(app)
    register_events(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    register_static_files(app)
    register_traffic(app)
    prepare_database(app)
    return app


def configure_data_dir(app: Flask) -> None:
    """Create the data folder and derive the settings that live in it."""
    data_dir = Path(app.config["DATA_DIR"]).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    app.config["DATA_DIR"] = str(data_dir)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{data_dir / 'portal.db'}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Writers wait for each other (up to DATABASE_BUSY_TIMEOUT seconds: SQLite's
        # busy timeout) instead of failing with "database is locked" at once.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("timeout", float(app.config["DATABASE_BUSY_TIMEOUT"]))
    else:
        # A database server restarts now and then: test a pooled connection before using it.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("pool_pre_ping", True)
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            # An unreachable server fails a connection in seconds, not after the system's
            # minutes of retries: start-up goes on without it (portal.ops.readiness).
            options.setdefault("connect_args", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(data_dir / "secret_key")
    bind_storage(app, storage_from_url(app.config.get("STORAGE_URL"), data_dir))


def load_or_create_secret_key(path: Path) -> str:
    """A key generated once and kept, so that sessions and forms survive restarts."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        key = secrets.token_hex(32)
        file.write(key)
    return key


def register_extensions(app: Flask) -> None:
    from .backup import models as backup_models  # noqa: F401
    from .http.auth import register_authentication
    from .sharing import models as sharing_models  # noqa: F401  (every model is mapped before first use)
    from .uploads import models as upload_models  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    register_authentication(app)
    csrf.init_app(app)
    bind_queue(app)


def register_events(app: Flask) -> None:
    """Connect each floor's receivers to the events of the floors below it (:mod:`portal.events`), for this app."""
    from .jobs import events as job_events
    from .library import events as library_events
    from .sharing import events as sharing_events

    library_events.connect(app)
    sharing_events.connect(app)
    job_events.connect(app)


def register_request_hooks(app: Flask) -> None:
    from .uploads.request import refuse_file_parts_off_upload_views

    app.before_request(refuse_file_parts_off_upload_views)


def register_blueprints(app: Flask) -> None:
    from .api.v1 import bp as api_v1
    from .api.v2 import bp as api_v2
    from .ops.health import bp as health
    from .web import bp as web
    from .web.shares import bp as share_links

    app.register_blueprint(health)
    app.register_blueprint(web)
    app.register_blueprint(share_links)
    app.register_blueprint(api_v1)
    app.register_blueprint(api_v2)
    register_metrics(app)
    # CSRFProtect looks for the token in form fields, which would parse an upload's body first;
    # the API checks the X-CSRFToken header itself, for requests sent with the session cookie
    # (portal.http.auth). Bearer requests carry no ambient credential and need none.
    csrf.exempt(api_v1)
    csrf.exempt(api_v2)


def register_metrics(app: Flask) -> None:
    from .ops.metrics import bp as metrics

    app.register_blueprint(metrics)


def register_error_handlers(app: Flask) -> None:
    from .http.errors import register_error_handlers as register
    from .http.security import register_security_headers

    register(app)
    register_security_headers(app)


def register_static_files(app: Flask) -> None:
    """Static files under hashed names, compressed, before the traffic middleware that counts them too."""
    from .http.assets import register_static_files as register

    register(app)


def register_traffic(app: Flask) -> None:
    """Count and log every request once its response is finished (``/metrics``, the access log)."""
    from .ops.traffic import register_traffic as register

    register(app)


def register_commands(app: Flask) -> None:
    from .ops.cli import register_commands as register

    register(app)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers go on while one writer writes; NORMAL sync is safe in WAL mode."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def prepare_database(app: Flask) -> None:
    """Bring the schema up to date and clear what a killed process left behind, now or once reachable.

    A database or store that cannot be reached at start-up no longer stops the
    portal: :mod:`portal.ops.readiness` tries again at the next requests, and
    ``/healthz`` says what is missing meanwhile.
    """
    from .ops.readiness import prepare

    with app.app_context():
        event.listen(db.engine, "connect", _sqlite_pragmas)
    prepare(app, MIGRATIONS)

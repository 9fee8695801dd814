"""Start-up work that needs the database and the store: done at start when they answer, else as soon as they do.

Bringing the schema up to date needs the database; removing what killed
uploads left needs the store. A portal that exited when either could not be
reached at that moment was crash-looped by its supervisor (the compose file's
restart policy) for as long as the database or store was down, and answered
nothing meanwhile. Now it starts anyway: ``/healthz`` answers 503 naming what
is unreachable, every other request that needs the database answers 503 until
the schema is known to be up to date, and the work is tried again, at most
every :data:`RETRY_INTERVAL` seconds, by the next request that comes (in every
worker process: the work is safe to repeat, and upgrades take turns,
:mod:`portal.schema`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from flask import Flask
from flask import current_app
from flask import request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import SQLAlchemyError

from ..accounts.service import SETUP_CODE
from ..accounts.service import setup_needed
from ..errors import DatabaseUnavailable
from ..extensions import db
from ..schema import migration_lock
from ..schema import upgrade_schema
from ..storage import storage_of

log = logging.getLogger(__name__)

READINESS = "portal.readiness"
#: Seconds between two tries of the start-up work while the database or store is unreachable.
RETRY_INTERVAL = 2.0
#: What ``/healthz`` names for each part not reached yet.
DATABASE_PROBLEM = "database unavailable"
STORAGE_PROBLEM = "storage unavailable"
#: Paths answered while the schema is not known to be ready: the health check, and static files.
WITHOUT_DATABASE = ("/healthz", "/readyz", "/static/")


class Readiness:
    """What of the start-up work is done, in this process."""

    def __init__(self, migrations: Path) -> None:
        self.migrations = migrations
        self.schema_ready = False
        self.leftovers_removed = False
        #: Whether setup was checked for (a first admin is needed or not); unknown while the database is down.
        self.setup_checked = False
        #: Whether this process's start-up upgrade applied a revision: only then is the library folded
        #: (:func:`_fold_small_library`), not at every start, which would look at every shared video again.
        self.upgraded = False
        #: Whether the upgrade's fold of second copies of originals was tried (once per process).
        self.folded = False
        self._lock = threading.Lock()
        self._next_try = 0.0

    @property
    def complete(self) -> bool:
        return self.schema_ready and self.leftovers_removed

    @property
    def problems(self) -> list[str]:
        """What keeps the start-up work from being done: the database first, then the store."""
        if not self.schema_ready:
            return [DATABASE_PROBLEM]
        return [] if self.leftovers_removed else [STORAGE_PROBLEM]

    def try_now(self, app: Flask) -> None:
        """Do what is left of the start-up work, within an application context; log what failed."""
        with self._lock:
            self._next_try = time.monotonic() + RETRY_INTERVAL
            if not self.schema_ready:
                try:
                    before = _revision()
                    upgrade_schema(db.engine, str(self.migrations))
                    self.upgraded = before != _revision()
                    self._check_setup(app)
                    self.schema_ready = True
                    log.info("the database is reachable and its schema up to date")
                except (DBAPIError, SQLAlchemyError, OSError) as error:
                    db.session.rollback()
                    log.warning("the database cannot be reached; tried again at the next request: %s", _short(error))
            # After the schema: which keys are leftovers may take the database to tell.
            if self.schema_ready and not self.leftovers_removed:
                try:
                    _remove_leftovers(app)
                    self.leftovers_removed = True
                except OSError as error:
                    log.warning("the store cannot be reached; tried again at the next request: %s", _short(error))
            if self.leftovers_removed and self.upgraded and not self.folded:
                self.folded = True
                _fold_small_library(app)

    def due(self) -> bool:
        return not self.complete and time.monotonic() >= self._next_try and not self._lock.locked()

    def _check_setup(self, app: Flask) -> None:
        if self.setup_checked:
            return
        if setup_needed():
            # While no account exists, this code (printed by ``python wsgi.py``) lets one person
            # create the first admin at /setup. Made before the workers fork, so all share it.
            app.extensions.setdefault(SETUP_CODE, secrets.token_urlsafe(24))
        else:
            app.extensions.pop(SETUP_CODE, None)
        self.setup_checked = True


def _remove_leftovers(app: Flask) -> None:
    """What interrupted uploads of dead processes left in the store (not unfinished resumable uploads)."""
    from ..uploads.resumable import keys_in_progress

    storage_of(app).remove_leftovers(resuming=keys_in_progress())


def _revision() -> str | None:
    """The schema's revision now (None for an empty database)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _fold_small_library(app: Flask) -> None:
    """After the upgrade, fold the second copies of originals a small library still keeps (:mod:`.dedupe`).

    Only the process whose upgrade applied the new revisions does it (under
    the migration lock); a failure, or a start killed half-way, is logged or
    left, never a failed start: the library is as readable as before, and
    the command does the rest.
    """
    from .dedupe import fold_at_start_up

    try:
        with migration_lock(db.engine):
            fold_at_start_up(storage_of(app), int(app.config["DEDUPE_AT_START_MAX_VIDEOS"]))
    except (DBAPIError, SQLAlchemyError, OSError) as error:
        db.session.rollback()
        log.warning("the start-up fold of identical originals failed (run `flask --app wsgi storage dedupe`): %s",
                    _short(error))


def _short(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def readiness_of(app: Flask) -> Readiness:
    readiness: Readiness = app.extensions[READINESS]
    return readiness


def prepare(app: Flask, migrations: Path) -> None:
    """At start-up: do the work now if the database and store answer, and retry it at requests until it is done.

    With the database down it is unknown whether an account exists, so a setup
    code is made anyway (before the workers fork, so that they all share it);
    ``/setup`` refuses it as soon as an account is found to exist.
    """
    readiness = Readiness(migrations)
    app.extensions[READINESS] = readiness
    with app.app_context():
        readiness.try_now(app)
    if not readiness.setup_checked:
        app.extensions.setdefault(SETUP_CODE, secrets.token_urlsafe(24))
    # First of all hooks: the others (who is signed in, say) need the schema.
    app.before_request_funcs.setdefault(None, []).insert(0, _finish_start_up)


def wait_for_database(app: Flask) -> None:
    """Block until the start-up work that needs the database is done (for the job consumer, which has no requests)."""
    readiness = readiness_of(app)
    while True:
        with app.app_context():
            readiness.try_now(app)
        if readiness.schema_ready:
            return
        time.sleep(RETRY_INTERVAL)


def _finish_start_up() -> None:
    """Before a request: retry the start-up work when due; refuse what needs a database not ready yet."""
    readiness = readiness_of(current_app)
    if readiness.complete:
        return
    if readiness.due():
        readiness.try_now(current_app)
    if not readiness.schema_ready and not request.path.startswith(WITHOUT_DATABASE):
        raise DatabaseUnavailable()

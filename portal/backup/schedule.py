"""Scheduled backups: one every PORTAL_BACKUP_EVERY to PORTAL_BACKUP_DEST, then a prune to PORTAL_BACKUP_KEEP.

The job queue asks :func:`run_if_due` (every minute, and at the moment one is
due when the schedule is shorter than a minute); whether one is due is read
from the ``backup_runs`` rows, not from the queue, so several consumers, a
restarted one, or a queue that lost its jobs never take two for one period.

One backup at a time, across processes and machines, under a lock the kernel
or the database releases when its holder dies (kill -9 included): a lock file
in the data folder for SQLite (whose database is on one machine), an advisory
lock of the database's own for PostgreSQL. ``backup create`` and ``backup
prune`` take it too, so that a prune never removes the objects of a backup
still being written.

Each run is a row, written when it starts and again when it ends, with its
outcome and message: ``/readyz``, the admins' page and ``/metrics`` show the
last one. A row left ``running`` by a process that died is marked
``interrupted`` by the next run, which holds the lock and so knows no other runs.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..config import check_backup_settings
from ..extensions import db
from ..library.models import as_utc
from ..library.models import utcnow
from . import _dialect
from . import create_backup
from . import destination
from . import prune
from .errors import BackupError
from .models import BackupRun
from .models import RunStatus

log = logging.getLogger(__name__)

#: The lock file of SQLite portals, in the data folder.
LOCK_FILE = "backup.lock"
#: The advisory lock's key on PostgreSQL, per schema (several portals may share one database).
PG_LOCK_KEY = "hashtext('portal.backup.' || current_schema())"


class BackupBusy(BackupError):
    """Another backup (or prune) of this portal holds the lock."""


def every_seconds() -> float | None:
    """The schedule's period, or None when no backup is scheduled."""
    return check_backup_settings(current_app.config)


@contextmanager
def backup_lock(wait: bool) -> Iterator[None]:
    """Hold the portal's backup lock; :class:`BackupBusy` at once unless ``wait``."""
    if _dialect() == "postgresql":
        with _advisory_lock(wait):
            yield
        return
    path = Path(current_app.config["DATA_DIR"]) / LOCK_FILE
    with open(path, "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise BackupBusy("another backup of this portal is running; try again once it ends") from None
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(wait: bool) -> Iterator[None]:
    """A session-level advisory lock on a connection of its own, which dies with its process."""
    with db.engine.connect() as connection:
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        held = connection.execute(sa.text(f"SELECT {function}({PG_LOCK_KEY})")).scalar()
        connection.commit()
        if not wait and not held:
            raise BackupBusy("another backup of this portal is running; try again once it ends")
        try:
            yield
        finally:
            try:
                connection.execute(sa.text(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})"))
                connection.commit()
            except sa.exc.DBAPIError:
                # The connection is gone, and its lock with it; never hand it back to the pool.
                connection.invalidate()


def last_run() -> BackupRun | None:
    return db.session.execute(
        sa.select(BackupRun).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def last_success() -> BackupRun | None:
    return _latest(BackupRun.status == RunStatus.SUCCEEDED.value)


def last_ended() -> BackupRun | None:
    """The last run that is over, whatever its outcome."""
    return _latest(BackupRun.status != RunStatus.RUNNING.value)


def _latest(condition: sa.ColumnElement[bool]) -> BackupRun | None:
    return db.session.execute(
        sa.select(BackupRun).where(condition).order_by(BackupRun.started_at.desc(), BackupRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def seconds_until_due(now: datetime | None = None) -> float | None:
    """Seconds until the next scheduled backup is due (0 or less: now), from the last run's start; None: unscheduled."""
    every = every_seconds()
    if every is None:
        return None
    last = last_run()
    if last is None:
        return 0.0
    moment = now or utcnow()
    return (as_utc(last.started_at) + timedelta(seconds=every) - moment).total_seconds()


def run_if_due() -> BackupRun | None:
    """Take the scheduled backup if one is due and none is running; the run's row, or None when nothing was due.

    A failure (the destination unreachable, a full disk, a damaged store) is
    recorded in the row and logged, never raised: the next one is due a
    period later, as after a success, and the row says what to fix.
    """
    due = seconds_until_due()
    if due is None or due > 0:
        return None
    try:
        with backup_lock(wait=False):
            # Under the lock, the question again: another process may have just taken this period's backup.
            db.session.expire_all()
            due = seconds_until_due()
            if due is None or due > 0:
                return None
            _mark_interrupted()
            run = BackupRun(status=RunStatus.RUNNING.value, started_at=utcnow())
            db.session.add(run)
            db.session.commit()
            _take(run)
            return run
    except BackupBusy:
        log.info("scheduled backup: another backup is running; skipped")
        return None
    finally:
        db.session.rollback()


def _mark_interrupted() -> None:
    for run in db.session.execute(sa.select(BackupRun).where(BackupRun.status == RunStatus.RUNNING.value)).scalars():
        run.status = RunStatus.INTERRUPTED.value
        run.finished_at = utcnow()
        run.message = "interrupted: the process taking it stopped before it ended"
    db.session.commit()


def _take(run: BackupRun) -> None:
    """Back up to BACKUP_DEST and prune to BACKUP_KEEP, recording the outcome in ``run``."""
    config = current_app.config
    log.info("scheduled backup %d to %s started", run.id, config["BACKUP_DEST"])
    try:
        target = destination(config["BACKUP_DEST"])
        created = create_backup(target)
        run.backup_id = created.backup_id
        removed = prune(target, int(config["BACKUP_KEEP"]))
    except Exception as error:
        db.session.rollback()
        run.status = RunStatus.FAILED.value
        run.message = _failure_message(error)
        log.warning("scheduled backup %d failed: %s", run.id, run.message)
    else:
        run.status = RunStatus.SUCCEEDED.value
        run.message = (
            f"{created.objects} objects, {created.copied} copied ({created.copied_bytes} bytes); "
            f"{len(removed)} older backups pruned, keeping {config['BACKUP_KEEP']}"
        )
        log.info("scheduled backup %d done: backup %s, %s", run.id, created.backup_id, run.message)
    run.finished_at = utcnow()
    db.session.add(run)
    db.session.commit()


def _failure_message(error: Exception) -> str:
    if isinstance(error, BackupError):
        return error.message
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class ScheduleState:
    """What ``/readyz``, the admins' page and ``/metrics`` show of the schedule."""

    every_seconds: float | None
    destination: str | None
    keep: int
    last: BackupRun | None
    last_ended: BackupRun | None
    last_success: BackupRun | None
    next_due_in: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "scheduled": self.every_seconds is not None,
            "every_seconds": self.every_seconds,
            "keep": self.keep,
            "last": _run_json(self.last),
            "last_success_at": _moment(self.last_success.finished_at) if self.last_success else None,
            "next_due_in_seconds": None if self.next_due_in is None else max(0.0, round(self.next_due_in, 1)),
        }


def schedule_state() -> ScheduleState:
    every = every_seconds()
    return ScheduleState(
        every_seconds=every,
        destination=current_app.config.get("BACKUP_DEST") or None,
        keep=int(current_app.config["BACKUP_KEEP"]),
        last=last_run(),
        last_ended=last_ended(),
        last_success=last_success(),
        next_due_in=seconds_until_due(),
    )


def _moment(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _run_json(run: BackupRun | None) -> dict[str, Any] | None:
    """A run as ``/readyz`` shows it to anyone: no message, which may name the destination's paths (admins' page only)."""
    if run is None:
        return None
    return {
        "status": run.status,
        "started_at": _moment(run.started_at),
        "finished_at": _moment(run.finished_at),
        "backup_id": run.backup_id,
    }

"""The portal's tasks, registered on each application's queue; each runs in an app context of its own.

A task's body is a function of :mod:`portal.media.processing` (that owns the
rules and the row's state); this module adds what a queue needs: the app
context, a priority, a time limit, and retries with backoff for failures that
pass. A failure that does not pass (an undecodable file, a bug) marks the
video ``failed`` at once instead of being tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask
from huey import crontab
from huey.exceptions import TaskTimeout
from sqlalchemy.exc import OperationalError

from .. import errors
from ..extensions import db
from ..library import trash
from ..media import processing
from ..storage import StorageUnavailable
from ..uploads import resumable
from . import PRIORITY_COPIES
from . import PRIORITY_FACTS
from . import Jobs

log = logging.getLogger(__name__)

#: Failures that pass: the job is tried again later, JOB_RETRIES times.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (StorageUnavailable, OperationalError, errors.DatabaseUnavailable)
UNEXPECTED = "An unexpected error stopped the processing of this video; try again, and tell the portal's admin if it persists."


def register_tasks(huey: Any, app: Flask) -> Jobs:
    retries = {
        "retries": int(app.config["JOB_RETRIES"]),
        "retry_delay": float(app.config["JOB_RETRY_DELAY"]),
        "retry_backoff": 2,
    }
    probe_timeout = int(app.config["PROBE_TIMEOUT"])
    copy_timeout = int(app.config["COPY_TIMEOUT"])

    @huey.task(name="probe_video", priority=PRIORITY_FACTS, timeout=probe_timeout, context=True, **retries)
    def probe_video(video_id: str, task: Any = None) -> None:
        with app.app_context():
            run_job(processing.probe_video, video_id, task)

    @huey.task(name="make_playable_copy", priority=PRIORITY_COPIES, timeout=copy_timeout, context=True, **retries)
    def make_playable_copy(video_id: str, task: Any = None) -> None:
        with app.app_context():
            run_job(processing.make_playable_copy, video_id, task)

    @huey.periodic_task(crontab(minute="17"), name="purge_trash")
    def purge_trash() -> None:
        """Hourly: purge the videos in the trash longer than TRASH_DAYS (run again next hour if it fails)."""
        with app.app_context():
            purged = trash.purge_expired()
            if purged:
                log.info("purged %d videos from the trash", len(purged))

    @huey.periodic_task(crontab(minute="47"), name="remove_expired_uploads")
    def remove_expired_uploads() -> None:
        """Hourly: remove the resumable uploads past UPLOAD_EXPIRY_HOURS since their last chunk."""
        with app.app_context():
            removed = resumable.remove_expired()
            if removed:
                log.info("removed %d expired resumable uploads", removed)

    @huey.on_startup()
    def start_worker() -> None:
        from .consumer import prepare_worker_process

        prepare_worker_process(app)

    return Jobs(huey=huey, probe_video=probe_video, make_playable_copy=make_playable_copy)


def run_job(body: Callable[[str], None], video_id: str, task: Any) -> None:
    """Run ``body(video_id)``; re-raise a failure that passes (huey tries again), record any other."""
    try:
        body(video_id)
    except TRANSIENT_ERRORS as error:
        db.session.rollback()
        if task is None or not task.retries:
            _record_failure(video_id, f"Processing gave up after several tries: {error}. Try again later.")
        raise
    except TaskTimeout:
        db.session.rollback()
        # The limit travels with the job: the one of the portal that queued it.
        _record_failure(video_id, f"Processing took longer than its limit of {task.timeout} seconds, so it was stopped.")
    except Exception:
        db.session.rollback()
        log.exception("the job of video %s failed", video_id)
        _record_failure(video_id, UNEXPECTED)


def _record_failure(video_id: str, message: str) -> None:
    try:
        processing.mark_failed(video_id, message)
    except TRANSIENT_ERRORS as error:
        db.session.rollback()
        # Left "running": the next consumer to start queues it again.
        log.warning("could not record that video %s failed: %s", video_id, error)

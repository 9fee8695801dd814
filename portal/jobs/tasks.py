"""The portal's tasks, registered on each application's queue; each runs in an app context of its own.

A task's body is a function of :mod:`portal.media.processing` (that owns the
rules and the row's state); this module adds what a queue needs: the app
context, a priority (and the owner's turn: :mod:`.turns`), a time limit, and retries with backoff for failures that
pass. A failure that does not pass (an undecodable file, a bug) marks the
video ``failed`` at once instead of being tried again.

Each job logs a line when it starts and one when it ends, both naming the
video and the step (``probe``, which makes the poster too, ``copy``,
``purge``), the last with the outcome and the time taken: huey's own lines
name only the queue's task id, which nobody reading the log can look up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from huey import crontab
from huey.exceptions import TaskTimeout
from sqlalchemy.exc import OperationalError

from .. import errors
from ..backup import schedule as backup_schedule
from ..config import check_backup_settings
from ..extensions import db
from ..library import trash
from ..library.models import ProcessingState
from ..library.models import Video
from ..media import processing
from ..metrics import count_job_failure
from ..storage import StorageUnavailable
from ..uploads import resumable
from . import PRIORITY_BACKUP
from . import PRIORITY_COPIES
from . import PRIORITY_FACTS
from . import Jobs
from .turns import job_started

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
        job_started(huey, PRIORITY_FACTS, task.priority if task is not None else None)
        with app.app_context():
            run_job("probe", processing.probe_video, video_id, task)

    @huey.task(name="make_playable_copy", priority=PRIORITY_COPIES, timeout=copy_timeout, context=True, **retries)
    def make_playable_copy(video_id: str, task: Any = None) -> None:
        job_started(huey, PRIORITY_COPIES, task.priority if task is not None else None)
        with app.app_context():
            run_job("copy", processing.make_playable_copy, video_id, task)

    @huey.periodic_task(crontab(minute="17"), name="purge_trash")
    def purge_trash() -> None:
        """Hourly: purge the videos in the trash longer than TRASH_DAYS (run again next hour if it fails)."""
        with app.app_context():
            started = time.monotonic()
            purged = trash.purge_expired()
            took = time.monotonic() - started
            for video in purged:
                log.info("video %s: purge done (kept in the trash %s days) in %.2fs", video.id, trash.trash_days(), took)
            if purged:
                log.info("purged %d videos from the trash in %.2fs", len(purged), took)

    @huey.periodic_task(crontab(minute="47"), name="remove_expired_uploads")
    def remove_expired_uploads() -> None:
        """Hourly: remove the resumable uploads past UPLOAD_EXPIRY_HOURS since their last chunk."""
        with app.app_context():
            removed = resumable.remove_expired()
            if removed:
                log.info("removed %d expired resumable uploads", removed)

    register_backup_tasks(huey, app, scheduled=check_backup_settings(app.config) is not None)

    @huey.on_startup()
    def start_worker() -> None:
        from .consumer import prepare_worker_process

        prepare_worker_process(app)

    return Jobs(huey=huey, probe_video=probe_video, make_playable_copy=make_playable_copy)


#: Seconds after its due moment a backup queued for that moment is taken: past it, not before.
DUE_MARGIN = 0.5


def register_backup_tasks(huey: Any, app: Flask, scheduled: bool) -> None:
    """The scheduled backup (PORTAL_BACKUP_EVERY): asked every minute, and at its moment when that comes sooner.

    huey's periodic tasks are asked once a minute, so a schedule shorter than
    that (or a moment between two minutes) is met by queueing the task for
    its moment. Each such task queues the next only after it took a backup, and
    a task that finds nothing due ends there, so duplicates die out instead of
    adding up; the rows, under the lock, decide whether one is due. The task
    is known to every portal, so that one left queued by a schedule since
    turned off ends quietly (nothing is due) instead of as an unknown task.
    """

    @huey.task(name="scheduled_backup", priority=PRIORITY_BACKUP, expires=3600)
    def scheduled_backup() -> None:
        with app.app_context():
            if backup_schedule.run_if_due() is not None:
                _queue_next_backup(scheduled_backup)

    if not scheduled:
        return

    @huey.periodic_task(lambda _moment: True, name="scheduled_backup_check", priority=PRIORITY_BACKUP, expires=60)
    def scheduled_backup_check() -> None:
        """Every minute: take the backup if it is due, or queue it for its moment if that comes before the next check."""
        with app.app_context():
            backup_schedule.run_if_due()
            _queue_next_backup(scheduled_backup)


def _queue_next_backup(task: Any) -> None:
    """Queue ``task`` for the next backup's moment when that comes before the next minute's check."""
    due = backup_schedule.seconds_until_due()
    if due is not None and due < 60:
        task.schedule(delay=max(0.0, due) + DUE_MARGIN)


def run_job(step: str, body: Callable[[str], None], video_id: str, task: Any) -> None:
    """Run ``body(video_id)``; re-raise a failure that passes (huey tries again), record any other.

    Logs the start and the end of ``step``, the end with its outcome and its time.
    """
    started = time.monotonic()
    log.info("video %s: %s started (job %s)", video_id, step, task.id if task is not None else "run at once")
    outcome, level = "failed unexpectedly", logging.WARNING
    try:
        body(video_id)
        outcome, level = _outcome_of(video_id)
    except TRANSIENT_ERRORS as error:
        db.session.rollback()
        if task is None or not task.retries:
            _record_failure(video_id, f"Processing gave up after several tries: {error}. Try again later.")
            outcome = f"gave up after its last try: {error}"
        else:
            count_job_failure("retried")
            outcome = f"to be tried again ({task.retries} tries left): {error}"
        raise
    except TaskTimeout:
        db.session.rollback()
        # The limit travels with the job: the one of the portal that queued it.
        _record_failure(video_id, f"Processing took longer than its limit of {task.timeout} seconds, so it was stopped.")
        outcome = f"stopped at its time limit of {task.timeout}s"
    except Exception:
        db.session.rollback()
        log.exception("the job of video %s failed", video_id)
        _record_failure(video_id, UNEXPECTED)
    finally:
        log.log(level, "video %s: %s %s in %.2fs", video_id, step, outcome, time.monotonic() - started)


def _outcome_of(video_id: str) -> tuple[str, int]:
    """How a step that returned left its video, in words for the log, and the level to log it at."""
    video = db.session.get(Video, video_id, populate_existing=True)
    if video is None:
        return "skipped: the video was deleted", logging.INFO
    state = video.processing_state
    if state == ProcessingState.FAILED.value:
        return f"failed: {video.processing_error}", logging.WARNING
    if state == ProcessingState.QUEUED.value:
        return "done, the copy is queued", logging.INFO
    return ("done" if state == ProcessingState.DONE.value else f"ended with the video {state}"), logging.INFO


def _record_failure(video_id: str, message: str) -> None:
    try:
        processing.mark_failed(video_id, message)
    except TRANSIENT_ERRORS as error:
        db.session.rollback()
        # Left "running": the next consumer to start queues it again.
        log.warning("could not record that video %s failed: %s", video_id, error)

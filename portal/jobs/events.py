"""What the queue does on the events of the floors below it (:mod:`portal.events`): the work that follows them.

The library announces an upload, a request to process again and a lost copy;
the media work asks for its next job. Each receiver here puts that work on the
application's queue, with the behaviour the senders document: a stored upload
never fails for a queue that cannot be reached (the video stays ``queued``, for
``flask --app wsgi jobs backfill``), an explicit request does.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import OperationalError

from .. import events
from ..errors import QueueUnavailable
from ..extensions import db
from ..media import processing
from . import jobs_of

log = logging.getLogger(__name__)


def connect(app: Flask) -> None:
    """Have ``app``'s events (and only its own) queue its work."""
    events.video_stored.connect(queue_stored, sender=app)
    events.processing_requested.connect(queue_requested, sender=app)
    events.copy_lost.connect(make_lost_copy_again, sender=app)
    events.probe_wanted.connect(queue_probe, sender=app)
    events.copy_wanted.connect(queue_copy, sender=app)


def queue_stored(app: Flask, video_id: str) -> None:
    """Queue the facts job of a video just stored; a queue that cannot be reached is logged, never raised."""
    try:
        processing.queue_processing([video_id])
    except (QueueUnavailable, OperationalError) as error:
        db.session.rollback()
        app.logger.warning("video %s is stored, but its processing could not be queued: %s", video_id, error)


def queue_requested(app: Flask, video_ids: list[str]) -> None:
    """Queue the videos' processing again; :class:`QueueUnavailable` reaches the one who asked."""
    processing.queue_processing(video_ids)


def make_lost_copy_again(app: Flask, video_id: str, sha256: str) -> None:
    processing.discard_copy(video_id, sha256)


def queue_probe(app: Flask, video_id: str, owner_id: int | None) -> None:
    jobs_of(app).queue_probe(video_id, owner_id)


def queue_copy(app: Flask, video_id: str, owner_id: int | None) -> None:
    jobs_of(app).queue_copy(video_id, owner_id)

"""The job queue: slow work on videos (probing and posters, and playable copies), out of the requests.

A huey queue per application, chosen by ``QUEUE_URL`` (:mod:`.queue`): SQLite
in the data folder by default, Redis for several machines. The floors below
ask for work through :mod:`portal.events`, which :mod:`.events` puts on the
queue (:func:`portal.media.processing.queue_processing`); a consumer (:mod:`.consumer`, started by
``python wsgi.py`` or ``flask --app wsgi jobs worker``) runs it. The state of
each video's work lives in its row (:class:`~portal.library.models.ProcessingState`),
not only in the queue, so pages can show it and a consumer that was killed
half-way finds what to do again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask import current_app

from .turns import turn_priority

_EXTENSION = "portal.jobs"

#: huey runs higher priorities first: facts (and posters) before the long playable copies,
#: so a transcode never delays the next upload's facts. Within each, owners take turns (:mod:`.turns`).
PRIORITY_FACTS = 100
PRIORITY_COPIES = 10
#: A scheduled backup waits for the videos' work: it can be taken a minute later, a poster cannot.
PRIORITY_BACKUP = 1


@dataclass(frozen=True)
class Jobs:
    """The queue of an application and the tasks registered on it."""

    huey: Any
    #: ``probe_video(video_id)`` queues the probing job of a video.
    probe_video: Any
    #: ``make_playable_copy(video_id)`` queues the job that makes its browser-playable copy.
    make_playable_copy: Any

    def queue_probe(self, video_id: str, owner: object) -> None:
        """Queue the probing job of ``owner``'s video, in ``owner``'s turn (:mod:`.turns`)."""
        self.probe_video(video_id, priority=turn_priority(self.huey, PRIORITY_FACTS, owner))

    def queue_copy(self, video_id: str, owner: object) -> None:
        """Queue the job making the playable copy of ``owner``'s video, in ``owner``'s turn (:mod:`.turns`)."""
        self.make_playable_copy(video_id, priority=turn_priority(self.huey, PRIORITY_COPIES, owner))


def bind_queue(app: Flask) -> None:
    """Give ``app`` its queue (from its settings) and register the portal's tasks on it."""
    from .queue import make_huey
    from .tasks import register_tasks

    huey = make_huey(app)
    app.extensions[_EXTENSION] = register_tasks(huey, app)


def jobs_of(app: Flask) -> Jobs:
    jobs: Jobs = app.extensions[_EXTENSION]
    return jobs


def current_jobs() -> Jobs:
    return jobs_of(current_app)

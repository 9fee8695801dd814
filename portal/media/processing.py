"""The work each video gets after its upload, and its state in the video's row.

Every step is idempotent: a job run twice, or run again after its consumer was
killed half-way, does no harm and ends in the same state. State changes are
single UPDATE statements by id, so a video deleted while its job runs simply
stops mattering. The work is the facts (:mod:`.probe`), then the poster
(:mod:`.poster`) in the same job, so both go before any long copy; a video is
``done`` once everything it needs is there.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import CursorResult

from ..errors import QueueUnavailable
from ..extensions import db
from ..library.models import ProcessingState
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import storage_key_for
from ..storage import current_storage
from .poster import make_poster
from .probe import MediaUnreadable
from .probe import probe

log = logging.getLogger(__name__)

#: Room for a message in ``processing_error`` (the column's length).
MAX_ERROR_LENGTH = 1000
MISSING_FILE = "The stored file is missing: restore it from a backup, then try again."


def queue_processing(video_ids: Iterable[str]) -> int:
    """Mark the videos queued, then queue their jobs; return how many were queued.

    The rows are committed first, so a consumer that starts the job at once
    finds them. A queue that cannot be reached leaves them ``queued``, which
    ``flask --app wsgi jobs backfill`` picks up later.
    """
    from ..jobs import current_jobs

    ids = list(video_ids)
    if not ids:
        return 0
    _set_state(ids, ProcessingState.QUEUED, error=None)
    for video_id in ids:
        try:
            current_jobs().probe_video(video_id)
        except Exception as error:
            # Whatever the backend raises (Redis refusing, SQLite locked): the job is not queued.
            raise QueueUnavailable() from error
    return len(ids)


def probe_video(video_id: str) -> None:
    """The facts job: read the facts of the file and make its poster, or record why they cannot be had.

    Raises only for failures that pass (the file store or the database cannot
    be reached), so that the job is tried again.
    """
    video = db.session.get(Video, video_id)
    if video is None:
        log.info("video %s was deleted before its facts were read", video_id)
        return
    if video.processing_state == ProcessingState.DONE.value and video.has_facts and video.has_poster:
        return
    key, content_type = video.storage_key, video.content_type
    # A poster lost from storage (restored from an older backup, say) is made again.
    needs_poster = not video.has_poster or current_storage().size(video.poster_key) is None
    _set_state([video_id], ProcessingState.RUNNING, error=None)
    try:
        with current_storage().open(key) as raw:
            facts = probe(raw, content_type)
        _update([video_id], **facts.as_dict())
        if needs_poster:
            store_poster(video_id, key, facts.duration)
    except FileNotFoundError:
        mark_failed(video_id, MISSING_FILE)
        return
    except MediaUnreadable as error:
        mark_failed(video_id, error.message)
        return
    finish_if_complete(video_id)


def store_poster(video_id: str, key: str, duration: float | None) -> None:
    """Make the poster of the bytes under ``key``, commit it to storage, then record its SHA-256 in the row.

    The bytes are in place before the row names them, like an upload's. A
    video deleted meanwhile has no row to record it in: its poster is
    removed again rather than left as a stray.
    """
    storage = current_storage()
    poster = make_poster(lambda: storage.open(key), duration)
    poster_key = storage_key_for(video_id, StorageKind.POSTER)
    upload = storage.create(poster_key)
    try:
        upload.write(poster.jpeg)
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    result = db.session.execute(
        db.update(Video).where(Video.id == video_id).values(poster_sha256=hashlib.sha256(poster.jpeg).hexdigest())
    )
    db.session.commit()
    assert isinstance(result, CursorResult)
    if result.rowcount == 0:
        storage.delete(poster_key)


def finish_if_complete(video_id: str) -> None:
    """Mark the video ``done`` when everything it needs is there: its facts and its poster."""
    video = db.session.get(Video, video_id, populate_existing=True)
    if video is not None and video.has_facts and video.has_poster:
        _set_state([video_id], ProcessingState.DONE, error=None)


def mark_failed(video_id: str, message: str) -> None:
    log.warning("processing video %s failed: %s", video_id, message)
    _set_state([video_id], ProcessingState.FAILED, error=message[:MAX_ERROR_LENGTH])


def interrupted_videos() -> list[str]:
    """Videos whose job was running when its consumer stopped: huey had taken the job off the queue."""
    return list(db.session.scalars(db.select(Video.id).where(Video.processing_state == ProcessingState.RUNNING.value)))


def videos_to_backfill(include_failed: bool = False) -> list[str]:
    """Videos without their facts or poster (stored before these existed, or whose job was lost), oldest first."""
    states = [ProcessingState.QUEUED.value, ProcessingState.RUNNING.value]
    if include_failed:
        states.append(ProcessingState.FAILED.value)
    query = db.select(Video.id).where(Video.processing_state.in_(states)).order_by(Video.created_at, Video.id)
    return list(db.session.scalars(query))


def _set_state(video_ids: list[str], state: ProcessingState, error: str | None) -> None:
    _update(video_ids, processing_state=state.value, processing_error=error)


def _update(video_ids: list[str], **values: Any) -> None:
    db.session.execute(db.update(Video).where(Video.id.in_(video_ids)).values(**values))
    db.session.commit()

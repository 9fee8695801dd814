"""The work each video gets after its upload, and its state in the video's row.

Every step is idempotent: a job run twice, or run again after its consumer was
killed half-way, does no harm and ends in the same state. State changes are
single UPDATE statements by id, so a video deleted while its job runs simply
stops mattering. The work is the facts (:mod:`.probe`), then the poster
(:mod:`.poster`) in the same job, so both go before any long copy; then, for
a video that does not play in browsers as it is, a job of its own at a lower
priority makes its playable copy (:mod:`.playable`). A video is ``done`` once
everything it needs is there.

Called by jobs only, and below them: the next job a step wants is asked for
through :data:`portal.events.probe_wanted` and :data:`~portal.events.copy_wanted`,
which :mod:`portal.jobs.events` puts on the queue.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from typing import BinaryIO

import av
from flask import current_app
from sqlalchemy import ScalarSelect
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.engine import CursorResult

from .. import events
from ..errors import PortalError
from ..errors import QueueUnavailable
from ..extensions import db
from ..library import originals
from ..library.captions import keep_embedded_caption
from ..library.models import ProcessingState
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import storage_key_for
from ..library.models import utcnow
from ..metrics import count_job_failure
from ..storage import CHUNK_SIZE
from ..storage import current_storage
from .playable import CopyKind
from .playable import CopyPlan
from .playable import make_copy
from .playable import plan_copy
from .poster import make_poster
from .probe import MediaUnreadable
from .probe import PictureTooLarge
from .probe import probe
from .subtitles import UNDETERMINED
from .subtitles import TextTrack
from .subtitles import read_text_tracks

log = logging.getLogger(__name__)

#: Room for a message in ``processing_error`` (the column's length).
MAX_ERROR_LENGTH = 1000
MISSING_FILE = "The stored file is missing: restore it from a backup, then try again."
TOO_LARGE = (
    "The video is {width}x{height}, more pixels than this portal transcodes (PORTAL_MEDIA_MAX_PIXELS = {limit}), "
    "so it has no browser-playable copy: download the original to watch it."
)


def queue_processing(video_ids: Iterable[str]) -> int:
    """Mark the videos queued, then queue their jobs; return how many were queued.

    The rows are committed first, so a consumer that starts the job at once
    finds them. A queue that cannot be reached leaves them ``queued``, which
    ``flask --app wsgi jobs backfill`` picks up later.
    """
    ids = list(video_ids)
    if not ids:
        return 0
    _set_state(ids, ProcessingState.QUEUED, error=None)
    owners = _owners(ids)
    for video_id in ids:
        try:
            events.publish(events.probe_wanted, video_id=video_id, owner_id=owners.get(video_id))
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
    if video.processing_state == ProcessingState.DONE.value and is_complete(video):
        return
    key, content_type, sha256 = video.storage_key, video.content_type, video.sha256
    # A poster lost from storage (restored from an older backup, say) is made again, unless another video of
    # the same bytes has one to share.
    needs_poster = not video.has_poster or current_storage().size(video.poster_key) is None
    if needs_poster and take_shared_poster(video_id, sha256):
        log.info("video %s: shows the poster of another video of the same bytes", video_id)
        needs_poster = False
    _set_state([video_id], ProcessingState.RUNNING, error=None)

    def read_facts_and_poster() -> None:
        with current_storage().open(key) as raw:
            try:
                facts = probe(raw, content_type, max_pixels=int(current_app.config["MEDIA_MAX_PIXELS"]))
            except PictureTooLarge as too_large:
                # What the headers say is kept; the step then fails with the reason.
                _update([video_id], **too_large.facts.as_dict())
                raise
            tracks = text_tracks_of(video_id, raw)
        _update([video_id], **facts.as_dict())
        store_embedded_captions(video_id, tracks)
        log.info(
            "video %s: probe read %s/%s %dx%d in %s, %s s",
            video_id, facts.video_codec, facts.audio_codec or "no audio", facts.width, facts.height, facts.container,
            "unknown" if facts.duration is None else f"{facts.duration:.1f}",
        )
        if needs_poster:
            store_poster(video_id, key, facts.duration)

    if not _step_succeeded(video_id, read_facts_and_poster):
        _wake_waiting(video_id)
        return
    video = db.session.get(Video, video_id, populate_existing=True)
    if video is not None and needs_copy(video):
        queue_copy(video_id)
    else:
        finish_if_complete(video_id)


def text_tracks_of(video_id: str, raw: BinaryIO) -> list[TextTrack]:
    """The file's text subtitle tracks (:mod:`.subtitles`), read from the start of ``raw``; none when they cannot be read.

    A track that cannot be read is logged, never a failure of the video's
    processing: the video plays without it.
    """
    try:
        raw.seek(0)
        return read_text_tracks(raw)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        log.warning("video %s: its subtitle tracks could not be read: %s", video_id, error)
        return []


def store_embedded_captions(video_id: str, tracks: list[TextTrack]) -> None:
    """Each text track becomes a caption with its language and title.

    A second track in one language gets a private-use subtag (``en-x-track3``),
    so that both are offered.
    """
    video = db.session.get(Video, video_id)
    if video is None:
        return
    taken: set[str] = set()
    for track in tracks:
        language = track.language if track.language not in taken else f"{track.language}-x-track{track.index}"
        taken.add(language)
        label = track.title or (track.language if track.language != UNDETERMINED else f"Subtitles {len(taken)}")
        try:
            keep_embedded_caption(video, language, label, track.cues)
        except PortalError as error:
            log.warning("video %s: subtitle track %d was not kept as a caption: %s", video_id, track.index, error.message)


def copy_plan(video: Video) -> CopyPlan:
    return plan_copy(video.content_type, video.video_codec, video.audio_codec, video.pixel_format, video.color_transfer)


def needs_copy(video: Video) -> bool:
    """Whether the video, probed, still lacks the playable copy its codecs or container call for.

    A copy the row names but storage has lost is made again.
    """
    if copy_plan(video).kind is CopyKind.NONE:
        return False
    return not video.has_playable_copy or current_storage().size(video.playable_key) != video.playable_size


def queue_copy(video_id: str) -> None:
    """Queue the copy job; the video waits ``queued`` for it (a queued job survives a restart of the queue)."""
    _set_state([video_id], ProcessingState.QUEUED, error=None)
    events.publish(events.copy_wanted, video_id=video_id, owner_id=_owners([video_id]).get(video_id))


def _owners(video_ids: list[str]) -> dict[str, int | None]:
    """Whose each video is: owners take turns in the queue."""
    rows = db.session.execute(db.select(Video.id, Video.owner_id).where(Video.id.in_(video_ids)))
    return {video_id: owner_id for video_id, owner_id in rows}


def make_playable_copy(video_id: str) -> None:
    """The copy job: make, store and record the browser-playable copy of a probed video.

    The copy is written to a temporary file first (``faststart`` moves the
    index to the front in a second pass over it), then stored with its
    SHA-256, and only then named by the row. A video deleted meanwhile has no
    row to record it in: its copy is removed again rather than left as a stray.
    """
    video = db.session.get(Video, video_id)
    if video is None:
        log.info("video %s was deleted before its copy was made", video_id)
        return
    if not video.has_facts:
        # Queued by an older job or by hand: the facts go first, and that job queues the copy.
        queue_processing([video_id])
        return
    if not needs_copy(video):
        finish_if_complete(video_id)
        return
    plan = copy_plan(video)
    limit = int(current_app.config["MEDIA_MAX_PIXELS"])
    if plan.kind is CopyKind.TRANSCODE and (video.width or 0) * (video.height or 0) > limit:
        mark_failed(video_id, TOO_LARGE.format(width=video.width, height=video.height, limit=limit))
        _wake_waiting(video_id)
        return
    key, sha256 = video.storage_key, video.sha256
    if take_shared_copy(video_id, sha256):
        log.info("video %s: plays the copy of another video of the same bytes", video_id)
        finish_if_complete(video_id)
        return
    if not _claim_copy(video_id, sha256):
        log.info("video %s: another video of the same bytes is making their copy; it waits for that one", video_id)
        return

    def copy_and_store() -> None:
        with tempfile.TemporaryDirectory(prefix="portal-copy-") as folder:
            target = Path(folder) / f"copy.{plan.container}"
            with current_storage().open(key) as original:
                make_copy(original, plan, target)
            store_copy(video_id, target, str(plan.content_type))
            log.info("video %s: copy made (%s to %s), %d bytes", video_id, plan.kind.value, plan.container, target.stat().st_size)

    try:
        succeeded = _step_succeeded(video_id, copy_and_store)
    except BaseException:
        _wake_waiting(video_id)
        raise
    if succeeded:
        finish_if_complete(video_id)
    else:
        _wake_waiting(video_id)


def _step_succeeded(video_id: str, step: Callable[[], None]) -> bool:
    """Run a job's step; a missing or unreadable file marks the video failed, with why, instead of raising."""
    try:
        step()
    except FileNotFoundError:
        mark_failed(video_id, MISSING_FILE)
        return False
    except MediaUnreadable as error:
        mark_failed(video_id, error.message)
        return False
    return True


def store_copy(video_id: str, path: Path, content_type: str) -> None:
    """Store the copy at ``path`` under the video's ``playable/`` key, hashing it on the way; then record it."""
    storage = current_storage()
    copy_key = storage_key_for(video_id, StorageKind.PLAYABLE)
    digest = hashlib.sha256()
    size = 0
    upload = storage.create(copy_key)
    try:
        with path.open("rb") as copy:
            while chunk := copy.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
                upload.write(chunk)
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    recorded = {
        "playable_object_key": copy_key,
        "playable_sha256": digest.hexdigest(),
        "playable_size": size,
        "playable_content_type": content_type,
        "playable_verified_at": utcnow(),
    }
    result = db.session.execute(db.update(Video).where(Video.id == video_id).values(**recorded))
    assert isinstance(result, CursorResult)
    if result.rowcount == 0:
        db.session.commit()
        storage.delete(copy_key)
        return
    # With this video's row held, so that the copy cannot be purged before the others name it: the videos
    # already showing an earlier copy under this key get these bytes' checksum, and the ones of the same bytes
    # waiting for a copy get this one.
    db.session.execute(db.update(Video).where(Video.id != video_id, Video.playable_object_key == copy_key).values(**recorded))
    waiting = _waiting_for_copy(video_id)
    if waiting:
        db.session.execute(
            db.update(Video).where(Video.id.in_(waiting), Video.playable_sha256.is_(None)).values(**recorded)
        )
    db.session.commit()
    for other in waiting:
        finish_if_complete(other)


def discard_copy(video_id: str, sha256: str) -> None:
    """Forget a copy found damaged or gone, for every video playing it, and queue it to be made again from the original.

    Only the copy with this checksum is forgotten, so a copy made again
    meanwhile stays. A queue that cannot be reached leaves the videos
    ``queued`` for ``flask --app wsgi jobs backfill``.
    """
    log.error("the playable copy of video %s is damaged or missing: it is made again", video_id)
    key = db.session.scalar(db.select(Video.playable_object_key).where(Video.id == video_id))
    sharing = Video.id == video_id if key is None else or_(Video.id == video_id, Video.playable_object_key == key)
    # Oldest first: the video that made the copy, whose key the new one overwrites, is queued first.
    ids = list(db.session.scalars(
        db.select(Video.id).where(sharing, Video.playable_sha256 == sha256).order_by(Video.created_at, Video.id)
    ))
    result = db.session.execute(
        db.update(Video)
        .where(Video.id.in_(ids), Video.playable_sha256 == sha256)
        .values(
            playable_object_key=None,
            playable_sha256=None,
            playable_size=None,
            playable_content_type=None,
            playable_verified_at=None,
            processing_state=ProcessingState.QUEUED.value,
            processing_error=None,
        )
    )
    db.session.commit()
    assert isinstance(result, CursorResult)
    if not result.rowcount:
        return
    for other in ids:
        try:
            queue_copy(other)
        except Exception as error:
            log.warning("the copy of video %s could not be queued: %s", other, error)


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
    log.info("video %s: poster made, %dx%d at %s s, %d bytes", video_id, poster.width, poster.height,
             "?" if poster.time is None else f"{poster.time:.1f}", len(poster.jpeg))
    made = {"poster_object_key": poster_key, "poster_sha256": hashlib.sha256(poster.jpeg).hexdigest()}
    result = db.session.execute(db.update(Video).where(Video.id == video_id).values(**made))
    assert isinstance(result, CursorResult)
    if result.rowcount == 0:
        db.session.commit()
        storage.delete(poster_key)
        return
    # As for a copy (:func:`store_copy`): the videos showing this key, and the ones of the same bytes still
    # without a poster, show this one.
    sha256 = db.session.scalar(db.select(Video.sha256).where(Video.id == video_id))
    db.session.execute(
        db.update(Video)
        .where(
            Video.id != video_id,
            or_(Video.poster_object_key == poster_key, and_(Video.sha256 == sha256, Video.poster_sha256.is_(None))),
        )
        .values(**made)
    )
    db.session.commit()


def take_shared_poster(video_id: str, sha256: str) -> bool:
    """Show the poster another video of the same bytes has, instead of making one; False when none has one in store."""
    return _take_shared(video_id, sha256, Video.poster_object_key, ("poster_object_key", "poster_sha256"), None)


def take_shared_copy(video_id: str, sha256: str) -> bool:
    """Play the copy another video of the same bytes has, instead of making one; False when none has one in store."""
    fields = ("playable_object_key", "playable_sha256", "playable_size", "playable_content_type", "playable_verified_at")
    return _take_shared(video_id, sha256, Video.playable_object_key, fields, Video.playable_size)


def _take_shared(
    video_id: str, sha256: str, key_column: Any, fields: tuple[str, ...], size_column: Any
) -> bool:
    """Name the object under ``key_column`` of the oldest other video of ``sha256`` whose object is in store.

    The video's own row, then the original's, are held while looking and
    naming, in the order a purge takes them: a purge of the other video either
    ends before (and then that video is not found) or sees this one name the
    object (and keeps it, :func:`portal.library.originals.release`).
    """
    db.session.commit()
    held = db.session.execute(db.update(Video).where(Video.id == video_id).values(processing_state=Video.processing_state))
    assert isinstance(held, CursorResult)
    if held.rowcount == 0:
        db.session.rollback()
        return False
    originals.lock(sha256)
    columns = [getattr(Video, field) for field in fields]
    others = db.session.execute(
        db.select(*columns)
        .where(Video.sha256 == sha256, Video.id != video_id, key_column.is_not(None), columns[1].is_not(None))
        .order_by(Video.created_at, Video.id)
    )
    for row in others:
        shared = dict(zip(fields, row, strict=True))
        stored = current_storage().size(shared[fields[0]])
        if stored is None or (size_column is not None and stored != shared["playable_size"]):
            continue
        db.session.execute(db.update(Video).where(Video.id == video_id).values(**shared))
        db.session.commit()
        return True
    db.session.rollback()
    return False


def _claim_copy(video_id: str, sha256: str) -> bool:
    """Mark the video ``running`` to make its copy, unless another video of the same bytes is making one now.

    Claimed with the video's row and then the original's held, so that two
    videos of one content never both start: the second waits ``queued``, and
    the first gives it its copy (:func:`store_copy`), or wakes it when it
    fails (:func:`_wake_waiting`).
    """
    db.session.commit()
    held = db.session.execute(db.update(Video).where(Video.id == video_id).values(processing_state=Video.processing_state))
    assert isinstance(held, CursorResult)
    originals.lock(sha256)
    making = bool(_others_needing_copy(video_id, sha256, ProcessingState.RUNNING))
    state = ProcessingState.QUEUED if making else ProcessingState.RUNNING
    db.session.execute(
        db.update(Video).where(Video.id == video_id).values(processing_state=state.value, processing_error=None)
    )
    db.session.commit()
    return held.rowcount == 1 and not making


def _waiting_for_copy(video_id: str) -> list[str]:
    """The other videos of ``video_id``'s bytes that wait ``queued`` for a copy they need and do not have."""
    sha256 = select(Video.sha256).where(Video.id == video_id).scalar_subquery()
    return _others_needing_copy(video_id, sha256, ProcessingState.QUEUED)


def _others_needing_copy(video_id: str, sha256: str | ScalarSelect[str], state: ProcessingState) -> list[str]:
    """The other probed videos of these bytes, in ``state``, that need a playable copy and have none."""
    others = db.session.scalars(
        db.select(Video).where(
            Video.sha256 == sha256,
            Video.id != video_id,
            Video.processing_state == state.value,
            Video.container.is_not(None),
            Video.playable_sha256.is_(None),
        )
    )
    return [other.id for other in others if copy_plan(other).kind is not CopyKind.NONE]


def _wake_waiting(video_id: str) -> None:
    """Queue the copy jobs of the videos that waited for this one's copy, which will not come: each tries its own."""
    db.session.rollback()
    for other in _waiting_for_copy(video_id):
        try:
            queue_copy(other)
        except Exception as error:
            log.warning("the copy of video %s could not be queued: %s", other, error)


def is_complete(video: Video) -> bool:
    """Everything the video needs is there: its facts, its poster and any copy it needs."""
    return video.has_facts and video.has_poster and (video.has_playable_copy or copy_plan(video).kind is CopyKind.NONE)


def finish_if_complete(video_id: str) -> None:
    """Mark the video ``done`` when :func:`is_complete`."""
    video = db.session.get(Video, video_id, populate_existing=True)
    if video is not None and is_complete(video):
        _set_state([video_id], ProcessingState.DONE, error=None)


def mark_failed(video_id: str, message: str) -> None:
    log.warning("video %s: processing failed: %s", video_id, message)
    count_job_failure("failed")
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

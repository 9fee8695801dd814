"""The library's service: upload, get and delete videos, for the web pages and the API alike.

Uploads are streamed by :mod:`portal.uploads`: bytes are hashed and counted
while they are written to a temporary upload in storage; only when the file is
known to be a complete, acceptable video are the bytes committed, and only then
is the row. Any failure on the way aborts the upload, so no file and no row are
left behind. Nothing here knows about HTTP, nor about the floors above that
bring uploads in (:mod:`portal.uploads`, whose received files are a
:class:`ReceivedFile` here) or do the work that follows them (:mod:`portal.jobs`,
reached through :mod:`portal.events`).
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO
from typing import Protocol

from flask import current_app
from sqlalchemy import update as sa_update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from .. import events
from ..accounts.models import Role
from ..accounts.models import User
from ..errors import ChecksumMismatch
from ..errors import EmptyFile
from ..errors import NotAVideo
from ..errors import PlaybackNotReady
from ..errors import PortalError
from ..errors import PosterNotFound
from ..errors import VideoNotFound
from ..extensions import db
from ..storage import StorageUnavailable
from ..storage import current_storage
from . import originals
from .formats import ACCEPTED_FORMATS
from .formats import detect_video_type
from .integrity import StoredBytes
from .models import Original
from .models import Video
from .models import VideoStatus
from .models import utcnow
from .naming import clean_filename

audit = logging.getLogger("portal.audit")

#: How often an upload's new original may meet another one of the same bytes before the conflict is
#: taken for something else: it is found at the next try, unless its last video was purged just then.
MAX_ORIGINAL_CONFLICTS = 3
_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class ReceivedFile(Protocol):
    """An upload's bytes, all received, as :func:`finish_upload` checks and commits them.

    A :class:`portal.uploads.intake.IncomingFile` (one request's body) or a finished resumable upload
    (:class:`~portal.uploads.resumable.AssembledUpload`).
    """

    video_id: str
    storage_key: str
    size: int
    head: bytes

    def sha256(self) -> str: ...

    def confirm(self) -> None:
        """The last checks before the bytes become a video (stopping, quota); the bytes themselves stay where they are."""

    def commit(self) -> None:
        """:meth:`confirm`, then put the bytes in place under :attr:`storage_key`."""

    def discard(self) -> None: ...

    def failed(self, error: PortalError) -> PortalError: ...

    def stored(self) -> None: ...


def finish_upload(
    incoming: ReceivedFile, filename: str | None, expected_sha256: list[str | None], owner: User
) -> Video:
    """Check a fully received upload, then commit its bytes and its row (owned by ``owner``), in that order.

    Bytes already stored (an :class:`~.models.Original` of the same SHA-256)
    are not stored again: the video takes a reference to them and the
    upload's own bytes are dropped, unless the stored ones were found damaged
    or missing, when the upload's replace them (and its videos are whole
    again). Otherwise they are put in place first and the original's row and
    the video's are committed together; when another upload of the same bytes
    committed its original meanwhile (the primary key says so), the video
    takes a reference to that one and its own copy is deleted.
    """
    try:
        if incoming.size == 0:
            raise EmptyFile()
        content_type = detect_video_type(incoming.head)
        if content_type is None:
            raise NotAVideo(ACCEPTED_FORMATS)
        actual = incoming.sha256()
        for expected in expected_sha256:
            if expected is not None and expected != actual:
                raise ChecksumMismatch(actual, expected)
        incoming.confirm()
    except PortalError as error:
        incoming.discard()
        incoming.failed(error)
        raise
    clean_name = clean_filename(filename, content_type)
    video = Video(
        id=incoming.video_id,
        filename=clean_name,
        search_name=clean_name.casefold(),
        content_type=content_type,
        size=incoming.size,
        sha256=actual,
        upload_key=incoming.storage_key,
        status=VideoStatus.OK.value,
        created_at=utcnow(),
        verified_at=utcnow(),
        owner_id=owner.id,
        owner=owner,
    )
    stored_own = False
    conflicts = 0
    try:
        while True:
            if originals.take_reference(actual):
                if not originals.is_damaged(actual):
                    # Its bytes were last checked with the others' (this upload hashed what it received, not them).
                    video.verified_at = originals.last_verified(actual)
                    db.session.add(video)
                    db.session.commit()
                    unused = [video.upload_key] if stored_own else []
                    break
                if stored_own:
                    # The stored original was found damaged: these bytes, just received whole, replace it.
                    unused = [originals.replace(actual, video.upload_key)]
                    db.session.add(video)
                    db.session.commit()
                    break
            db.session.rollback()
            if not stored_own:
                _put_in_place(incoming)
                stored_own = True
                # Hashed as they were written: they matched once in place, so a send may trust their change time.
                video.verified_at = utcnow()
                continue
            db.session.add(Original(sha256=actual, storage_key=video.upload_key, size=video.size, refs=1))
            db.session.add(video)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                conflicts += 1
                if conflicts > MAX_ORIGINAL_CONFLICTS:
                    raise  # not another upload's original (each conflict finds one): a row this one cannot go with
                # Another upload of the same bytes made their original first: use it.
                continue
            unused = []
            break
    except BaseException:
        db.session.rollback()
        if stored_own:
            current_storage().delete(video.upload_key)
        raise
    finally:
        incoming.discard()
    remove_stored_objects(video.id, unused)
    incoming.stored()
    _queue_processing_of(video)
    return video


def _put_in_place(incoming: ReceivedFile) -> None:
    try:
        incoming.commit()
    except PortalError as error:
        incoming.failed(error)
        raise


def duplicate_of(video: Video, caller: User) -> str | None:
    """The id of the first other video with ``video``'s bytes that ``caller`` may see: their own, or any for an admin.

    Only for an upload that found its bytes stored already (its own copy was
    dropped): the upload whose bytes are the stored ones names none, so of
    uploads of the same bytes racing each other exactly one, the one that
    stored them, has no ``duplicate_of``, as has one that replaced a damaged
    original. Videos in the trash are not named (the caller's library does not
    show them), nor anyone else's for a caller who is not an admin.
    """
    if video.upload_key == video.storage_key:
        return None
    query = db.select(Video.id).where(Video.sha256 == video.sha256, Video.id != video.id, Video.deleted_at.is_(None))
    if caller.role != Role.ADMIN.value:
        query = query.where(Video.owner_id == caller.id)
    return db.session.scalar(query.order_by(Video.created_at, Video.id).limit(1))


def _queue_processing_of(video: Video) -> None:
    """Announce the video just stored, for its facts job to be queued: never in the request, never failing the upload.

    The upload is complete once its row is committed: a queue that cannot be
    reached leaves the video ``queued`` (``flask --app wsgi jobs backfill``
    picks it up), which the receiver (:func:`portal.jobs.events.queue_stored`) logs.
    """
    events.publish(events.video_stored, video_id=video.id)


def process_again(video: Video) -> Video:
    """Queue the video's processing again (after a failure, or to redo it); whether the caller may is checked first."""
    events.publish(events.processing_requested, video_ids=[video.id])
    db.session.refresh(video)
    return video


def is_video_id(text: str) -> bool:
    """Whether ``text`` has the shape of a video's id: anything else is not found without asking the database."""
    return _ID_PATTERN.fullmatch(text) is not None


def get_video(video_id: str) -> Video:
    """A video of the library; one in the trash is not found, as if it were gone (:mod:`.trash`)."""
    if not is_video_id(video_id):
        raise VideoNotFound()
    video = db.session.get(Video, video_id)
    if video is None or video.in_trash:
        raise VideoNotFound()
    return video


def open_poster(video: Video) -> BinaryIO:
    """The poster's bytes; :class:`PosterNotFound` until the video's processing has made it."""
    if not video.has_poster:
        raise PosterNotFound()
    try:
        return current_storage().open(video.poster_key)
    except FileNotFoundError:
        raise PosterNotFound() from None


def playback_of(video: Video) -> StoredBytes:
    """What a player should be given: the playable copy, else the original unless its facts say browsers cannot play it.

    Raises :class:`PlaybackNotReady` while a copy the video needs is missing.
    A video not probed yet is played as it is: most uploads play, and its
    facts come within seconds.
    """
    if video.has_playable_copy:
        return StoredBytes.copy_of(video)
    if video.needs_playable_copy:
        raise PlaybackNotReady()
    return StoredBytes.original(video)


def awaits_copy(video: Video) -> bool:
    """Whether a player must wait for the copy: browsers cannot play the original, and no copy is there (yet).

    The pages show a notice (and the poster) instead of a player that would
    only stay black, and put the player in once the copy is ready.
    """
    try:
        playback_of(video)
    except PlaybackNotReady:
        return True
    return False


def player_source(video: Video) -> StoredBytes:
    """What the portal's own players get: :func:`playback_of`, or the original while no copy is ready (some browsers manage)."""
    try:
        return playback_of(video)
    except PlaybackNotReady:
        return StoredBytes.original(video)


def delete_video(video: Video, by: User) -> None:
    """Remove the row, then the bytes (when no other video uses them), the poster and the copy: a failure in between
    leaves strays, never a row without bytes.

    Once the row is gone the video is deleted, so a store that cannot be
    reached just then is logged rather than reported as a failed delete.
    Who asked is logged to ``portal.audit``; whether they may is the caller's check.
    """
    keys = video.own_keys
    video_id, filename, owner = video.id, video.filename, video.owner_name
    # The row first, then the original's: the order a purge and a video taking a shared poster hold them in.
    db.session.delete(video)
    db.session.flush()
    keys += originals.release(video)
    db.session.commit()
    audit.info("video deleted: id=%s filename=%r owner=%s by=%s", video_id, filename, owner, by.username)
    remove_stored_objects(video_id, keys)


def remove_stored_objects(video_id: str, keys: list[str]) -> None:
    """Delete the objects of a video whose row is gone; one the store cannot reach just then stays as a stray."""
    for key in keys:
        try:
            current_storage().delete(key)
        except StorageUnavailable as error:
            current_app.logger.warning("video %s deleted, but %s stays behind: %s", video_id, key, error)


def adopt_ownerless_videos(admin: User) -> None:
    """Give the videos of a library older than accounts to its first admin, so that each has an owner.

    Done on :data:`portal.events.became_admin`: accounts sit below the library and know nothing of videos.
    """
    # An UPDATE's result is a cursor's, which counts the rows it changed.
    result = db.session.execute(sa_update(Video).where(Video.owner_id.is_(None)).values(owner_id=admin.id))
    assert isinstance(result, CursorResult)
    adopted = result.rowcount
    db.session.commit()
    if adopted:
        audit.info("videos without an owner given to %s: %d", admin.username, adopted)

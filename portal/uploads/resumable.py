"""Resumable uploads (tus): create one, append chunks at its offset, finish it into a video, or drop it.

The state of an upload lives in its row (:class:`~.models.ResumableUpload`) and
its bytes in storage (a part file, or an S3 multipart upload), never in a
process's memory, so a restarted portal or another process continues where the
last chunk stopped. Nothing here knows about HTTP: the tus views parse headers
and turn the domain errors raised here into statuses.

One request writes to an upload at a time: a chunk takes a short lease on the
row (``locked_until``, renewed while the chunk is written) by a conditional
UPDATE that also checks the offset, so two requests racing on one upload end
with one writer and an :class:`~portal.errors.UploadBusy` or
:class:`~portal.errors.OffsetMismatch` for the other. A process killed mid-chunk
holds the lease no longer than :data:`LEASE`.

The last byte makes the upload pass :func:`portal.library.service.finish_upload`,
the checks of every upload, and become a video with the upload's id. Any
failure there removes the upload, so nothing is left behind.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import IO
from typing import Any

from flask import current_app
from sqlalchemy import or_
from sqlalchemy.engine import CursorResult

from .. import errors
from ..accounts.models import User
from ..config import check_upload_expiry_hours
from ..extensions import db
from ..library import service
from ..library.formats import HEAD_SIZE
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import as_utc
from ..library.models import storage_key_for
from ..library.models import utcnow
from ..metrics import count_upload
from ..storage import CHUNK_SIZE
from ..storage import ResumableWrite
from ..storage import StorageFull
from ..storage import StorageUnavailable
from ..storage import current_storage
from . import quota
from .intake import OUTCOME_OF_ERROR
from .intake import check_free_space
from .intake import upload_limit
from .models import ResumableUpload

#: How long one chunk may hold an upload without renewing its lease.
LEASE = timedelta(seconds=30)
#: A chunk being written renews its lease this often.
_RENEW_EVERY = timedelta(seconds=10)
#: Checksum algorithms a chunk's Upload-Checksum may name.
CHUNK_ALGORITHMS = ("sha1", "sha256")
#: Unfinished uploads whose running SHA-256 a process keeps (see :class:`_RunningHashes`).
_MAX_RUNNING_HASHES = 256


@dataclass(frozen=True)
class ChunkChecksum:
    """A chunk's Upload-Checksum: the algorithm (one of :data:`CHUNK_ALGORITHMS`) and the raw digest."""

    algorithm: str
    digest: bytes


class _RunningHashes:
    """The SHA-256 of each unfinished upload's kept bytes, as far as this process has seen them.

    hashlib's objects cannot be pickled, so the hash state cannot go into the row
    for another process to continue. Instead each process keeps, in memory, the
    hash of the uploads whose chunks it wrote, with the offset it covers. A chunk
    that starts where this process's hash stops continues it; a chunk written by
    another process (or before a restart) makes it stale, and the upload's bytes
    are then hashed once, from storage, when it is finished. So the common case
    (one client on one connection) costs no second read of the file, and the rare
    one costs one read at the end, never one per chunk.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hashes: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def continuing(self, upload_id: str, offset: int) -> Any | None:
        """A copy of the hash of the first ``offset`` bytes, or None when this process does not have it."""
        with self._lock:
            found = self._hashes.get(upload_id)
        if offset == 0:
            return hashlib.sha256()
        if found is None or found[0] != offset:
            return None
        return found[1].copy()

    def remember(self, upload_id: str, offset: int, digest: Any | None) -> None:
        with self._lock:
            self._hashes.pop(upload_id, None)
            if digest is not None:
                self._hashes[upload_id] = (offset, digest)
                while len(self._hashes) > _MAX_RUNNING_HASHES:
                    self._hashes.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        self.remember(upload_id, 0, None)


_running = _RunningHashes()


def expiry_delta() -> timedelta:
    return timedelta(hours=check_upload_expiry_hours(current_app.config["UPLOAD_EXPIRY_HOURS"]))


def key_of(upload: ResumableUpload) -> str:
    """Where the bytes end up: the key of the video the upload becomes (which takes its id)."""
    return storage_key_for(upload.id, StorageKind.ORIGINAL)


def is_finished(upload: ResumableUpload) -> bool:
    return upload.video_id is not None


def create_upload(owner: User, length: int, filename: str | None, sha256: str | None) -> ResumableUpload:
    """Start an upload of ``length`` bytes; its storage is ready before its row exists, so a row always has bytes to go on."""
    limit = upload_limit()
    if length > limit:
        raise errors.UploadTooLarge(limit)
    if length <= 0:
        raise errors.EmptyFile()
    _check_open_uploads(owner)
    # The declared length is reserved under the quota from now on (usage counts it), so it must fit now.
    quota.check_room(owner, length)
    check_free_space(length)
    upload_id = str(uuid.uuid4())
    storage = current_storage()
    key = storage_key_for(upload_id, StorageKind.ORIGINAL)
    try:
        state = storage.start_resumable(upload_id, key)
    except StorageFull as error:
        raise errors.InsufficientStorage() from error
    upload = ResumableUpload(
        id=upload_id,
        owner_id=owner.id,
        filename=(filename or "")[:255],
        length=length,
        offset=0,
        expected_sha256=sha256,
        storage_state=state,
        created_at=utcnow(),
        expires_at=utcnow() + expiry_delta(),
    )
    try:
        db.session.add(upload)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.drop_resumable(upload_id, key, state)
        raise
    try:
        # Creations racing each other (other threads, other processes) each counted before the others' rows
        # existed; counted again now that this row is in, the ones past the limit step back, so it holds.
        _check_open_uploads(owner, including_this_one=True)
    except errors.TooManyOpenUploads:
        _remove(upload_id, state)
        raise
    return upload


def _open_uploads(owner: User) -> list[datetime]:
    """When each of ``owner``'s unfinished uploads expires, the soonest first (expired ones no longer count)."""
    now = utcnow()
    expiries = db.session.scalars(
        db.select(ResumableUpload.expires_at)
        .where(ResumableUpload.owner_id == owner.id, ResumableUpload.video_id.is_(None), ResumableUpload.expires_at > now)
        .order_by(ResumableUpload.expires_at)
    ).all()
    return [as_utc(moment) for moment in expiries]


def _check_open_uploads(owner: User, including_this_one: bool = False) -> None:
    """Refuse one more unfinished upload than PORTAL_MAX_OPEN_UPLOADS, saying when the first one held expires."""
    limit = current_app.config["MAX_OPEN_UPLOADS"]
    expiries = _open_uploads(owner)
    held = len(expiries) - (1 if including_this_one else 0)
    if held < limit:
        return
    wait = max(1, int((expiries[0] - utcnow()).total_seconds()) + 1)
    raise errors.TooManyOpenUploads(held, limit, check_upload_expiry_hours(current_app.config["UPLOAD_EXPIRY_HOURS"]), wait)


def get_upload(upload_id: str, owner: User) -> ResumableUpload:
    """The caller's upload, finished or not; another's, an expired one, or none at all is not found alike."""
    try:
        uuid.UUID(upload_id)
    except ValueError:
        raise errors.UploadNotFound() from None
    upload = db.session.get(ResumableUpload, upload_id)
    if upload is None or upload.owner_id != owner.id or as_utc(upload.expires_at) <= utcnow():
        raise errors.UploadNotFound()
    return upload


def append_chunk(
    upload: ResumableUpload, offset: int, stream: IO[bytes], owner: User, checksum: ChunkChecksum | None = None
) -> Video | None:
    """Write the chunk in ``stream`` at ``offset``; the video once it was the last one, else None.

    The chunk is kept only whole and, with ``checksum``, only matching it; a
    chunk that would run past the upload's length is refused before anything is kept.
    """
    if is_finished(upload):
        raise errors.OffsetMismatch(upload.offset, offset)
    # Its room was reserved at creation; a quota lowered since (or the disk filled) stops it before more is kept.
    quota.check_room(owner, upload.length, excluding_upload=upload.id)
    check_free_space(upload.length - upload.offset)
    upload_id = upload.id
    _take_lease(upload, offset)
    storage = current_storage()
    running = _running.continuing(upload_id, offset)
    try:
        write = storage.resume(upload_id, key_of(upload), upload.storage_state, offset)
    except FileNotFoundError:
        _release(upload_id)
        raise errors.UploadNotFound() from None
    except BaseException:
        _release(upload_id)
        raise
    try:
        received = _copy_chunk(upload, offset, stream, write, running, checksum)
        last = offset + received == upload.length
        state = write.keep(last)
    except StorageFull as error:
        write.abort()
        _release(upload_id)
        raise errors.InsufficientStorage() from error
    except BaseException:
        write.abort()
        _release(upload_id)
        raise
    if last:
        return _finish(upload, state, write, running, owner)
    saved = _save_progress(upload_id, offset + received, state)
    if not saved:
        write.abort()
        raise errors.UploadNotFound()
    write.kept()
    _running.remember(upload_id, offset + received, running)
    return None


def _copy_chunk(
    upload: ResumableUpload,
    offset: int,
    stream: IO[bytes],
    write: ResumableWrite,
    running: Any | None,
    checksum: ChunkChecksum | None,
) -> int:
    chunk_digest = hashlib.new(checksum.algorithm) if checksum is not None else None
    room = upload.length - offset
    received = 0
    renew_at = utcnow() + _RENEW_EVERY
    while data := stream.read(CHUNK_SIZE):
        received += len(data)
        if received > room:
            raise errors.InvalidInput(
                f"The chunk runs past the upload's length ({upload.length} bytes): "
                f"send at most {room} bytes from offset {offset}."
            )
        if chunk_digest is not None:
            chunk_digest.update(data)
        if running is not None:
            running.update(data)
        write.write(data)
        if utcnow() >= renew_at:
            _renew_lease(upload.id)
            renew_at = utcnow() + _RENEW_EVERY
    if checksum is not None and chunk_digest is not None and chunk_digest.digest() != checksum.digest:
        raise errors.ChunkChecksumMismatch(checksum.algorithm)
    return received


def _take_lease(upload: ResumableUpload, offset: int) -> None:
    """Claim the upload for this chunk, if it stands at ``offset`` and no other request holds it."""
    upload_id = upload.id
    now = utcnow()
    result = db.session.execute(
        db.update(ResumableUpload)
        .where(
            ResumableUpload.id == upload_id,
            ResumableUpload.offset == offset,
            ResumableUpload.video_id.is_(None),
            or_(ResumableUpload.locked_until.is_(None), ResumableUpload.locked_until < now),
        )
        .values(locked_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    db.session.commit()
    if result.rowcount == 1:
        return
    current = db.session.execute(
        db.select(ResumableUpload.offset, ResumableUpload.video_id).where(ResumableUpload.id == upload_id)
    ).first()
    if current is None:  # cancelled or expired meanwhile
        raise errors.UploadNotFound()
    if current.offset != offset or current.video_id is not None:
        raise errors.OffsetMismatch(current.offset, offset)
    raise errors.UploadBusy()


def _renew_lease(upload_id: str) -> None:
    db.session.execute(
        db.update(ResumableUpload).where(ResumableUpload.id == upload_id).values(locked_until=utcnow() + LEASE)
    )
    db.session.commit()


def _release(upload_id: str) -> None:
    db.session.rollback()
    db.session.execute(db.update(ResumableUpload).where(ResumableUpload.id == upload_id).values(locked_until=None))
    db.session.commit()


def _save_progress(upload_id: str, offset: int, state: str | None) -> bool:
    """Record the kept bytes and the storage's state, and let the upload go; False when it was removed meanwhile."""
    result = db.session.execute(
        db.update(ResumableUpload)
        .where(ResumableUpload.id == upload_id)
        .values(offset=offset, storage_state=state, locked_until=None, expires_at=utcnow() + expiry_delta())
    )
    assert isinstance(result, CursorResult)
    db.session.commit()
    return result.rowcount == 1


class AssembledUpload:
    """A finished upload's bytes, in place under the video's key, as :func:`~portal.library.service.finish_upload` checks them.

    It offers what an :class:`~.intake.IncomingFile` offers that function: the
    size, the first bytes (read back from storage), the SHA-256 (the running
    one when this process saw every chunk, else hashed once from storage), and
    commit/discard, where discard removes the bytes.
    """

    def __init__(self, upload: ResumableUpload, running: Any | None) -> None:
        self.video_id = upload.id
        self.storage_key = key_of(upload)
        self.size = upload.length
        self._committed = False
        self._discarded = False
        self._counted = False
        storage = current_storage()
        with storage.open(self.storage_key) as stored:
            self.head = stored.read(HEAD_SIZE)
            if running is None:
                running = hashlib.sha256(self.head)
                while chunk := stored.read(CHUNK_SIZE):
                    running.update(chunk)
        self._sha256 = running.hexdigest()

    def sha256(self) -> str:
        return self._sha256

    def confirm(self) -> None:
        """Nothing left to check: each PATCH was held to the quota as it came."""

    def commit(self) -> None:
        self._committed = True

    def discard(self) -> None:
        if not self._committed and not self._discarded:
            self._discarded = True
            current_storage().delete(self.storage_key)

    def failed(self, error: errors.PortalError) -> errors.PortalError:
        """Count the upload's outcome (once) as ``/metrics`` shows it; ``error``."""
        self._count(OUTCOME_OF_ERROR.get(type(error), "aborted"))
        return error

    def stored(self) -> None:
        self._count("stored")

    def _count(self, outcome: str) -> None:
        if not self._counted:
            self._counted = True
            count_upload(outcome)


def _finish(upload: ResumableUpload, state: str | None, write: ResumableWrite, running: Any | None, owner: User) -> Video:
    """Put the bytes in place and make the video; on any failure the upload is gone, bytes and row."""
    upload_id = upload.id
    storage = current_storage()
    _running.forget(upload_id)
    try:
        storage.finish_resumable(upload_id, key_of(upload), state)
        write.kept()
        assembled = AssembledUpload(upload, running)
        try:
            video = service.finish_upload(assembled, upload.filename or None, [upload.expected_sha256], owner)
        finally:
            assembled.discard()
    except StorageFull as error:
        db.session.rollback()
        _remove(upload_id, state)
        count_upload("disk_full")
        raise errors.InsufficientStorage() from error
    except BaseException:
        db.session.rollback()
        _remove(upload_id, state)
        raise
    db.session.execute(
        db.update(ResumableUpload)
        .where(ResumableUpload.id == upload_id)
        .values(offset=upload.length, storage_state=None, video_id=video.id, locked_until=None,
                expires_at=utcnow() + expiry_delta())
    )
    db.session.commit()
    return video


def _remove(upload_id: str, state: str | None) -> None:
    """Remove an upload's row, then its bytes (storage and the key it would have become)."""
    key = storage_key_for(upload_id, StorageKind.ORIGINAL)
    db.session.execute(db.delete(ResumableUpload).where(ResumableUpload.id == upload_id))
    db.session.commit()
    _running.forget(upload_id)
    try:
        current_storage().drop_resumable(upload_id, key, state)
    except StorageUnavailable as error:
        # The row is gone, so the upload is: bytes the store keeps now are strays, not a failed request.
        current_app.logger.warning("upload %s removed, but its bytes stay behind: %s", upload_id, error)


def delete_upload(upload: ResumableUpload) -> None:
    """Cancel an unfinished upload (its bytes go), or forget a finished one (its video stays)."""
    if is_finished(upload):
        db.session.execute(db.delete(ResumableUpload).where(ResumableUpload.id == upload.id))
        db.session.commit()
        return
    _remove(upload.id, upload.storage_state)
    count_upload("aborted")


def cancel(upload_id: str) -> None:
    """Remove an unfinished upload if it is still there (it may be gone already: a failed last chunk removes it)."""
    upload = db.session.get(ResumableUpload, upload_id)
    if upload is not None and not is_finished(upload):
        _remove(upload_id, upload.storage_state)


def remove_expired(now: datetime | None = None) -> int:
    """Remove the uploads past their expiry (finished ones lose only their row); return how many."""
    moment = now or utcnow()
    expired = db.session.scalars(
        db.select(ResumableUpload).where(ResumableUpload.expires_at <= moment).order_by(ResumableUpload.expires_at)
    ).all()
    for upload in expired:
        delete_upload(upload)
    return len(expired)


def keys_in_progress() -> list[str]:
    """The keys of unfinished uploads: storage must not take their bytes for leftovers."""
    ids = db.session.scalars(db.select(ResumableUpload.id).where(ResumableUpload.video_id.is_(None)))
    return [storage_key_for(upload_id, StorageKind.ORIGINAL) for upload_id in ids]


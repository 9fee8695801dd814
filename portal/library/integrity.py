"""Integrity of stored bytes: verify them, deliver them only whole and matching, find strays.

Every video's SHA-256 is in its row. A download of the whole file is hashed
while it is sent and stopped short when the bytes do not match, so a damaged
file is never delivered complete; what a check finds is recorded in the row
(``status``, ``verified_at``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import BinaryIO
from typing import Callable
from typing import Iterator

from flask import Flask
from flask import current_app
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.attributes import set_committed_value

from .. import events
from ..accounts.models import User
from ..errors import FileUnavailable
from ..errors import StoredCopyCorrupt
from ..errors import TooManyVerifies
from ..errors import VideoNotFound
from ..extensions import db
from ..metrics import count_checksum_failure
from ..storage import CHUNK_SIZE
from ..storage import PositionedReader
from ..storage import current_storage
from .models import Caption
from .models import Original
from .models import StorageKind
from .models import VerifyRun
from .models import Video
from .models import VideoStatus
from .models import as_utc
from .models import parse_storage_key
from .models import utcnow


def record_status(video: Video, status: VideoStatus) -> None:
    """Record what a look at the bytes found, for every video that uses them; an UPDATE, so it also works mid-download.

    The bytes are the stored original of the video's SHA-256, shared by each
    video with that checksum (:mod:`.originals`), so each of them is marked.
    No row of the video itself means another request deleted it meanwhile
    (which is also why its bytes were gone): that is :class:`VideoNotFound`,
    not a missing file.
    """
    now = utcnow()
    result = db.session.execute(
        db.update(Video).where(Video.sha256 == video.sha256).values(status=status.value, verified_at=now)
    )
    # What an UPDATE gives back, though Session.execute is typed as any statement's Result.
    assert isinstance(result, CursorResult)
    # Asked after the UPDATE, inside its write transaction: on SQLite a read first would have to be upgraded.
    exists = result.rowcount > 0 and db.session.scalar(db.select(Video.id).where(Video.id == video.id)) is not None
    db.session.commit()
    if not exists:
        raise VideoNotFound()
    # Set as already saved: a pending change would be flushed by the next query,
    # opening a write transaction that blocks every other writer until the next commit.
    set_committed_value(video, "status", status.value)
    set_committed_value(video, "verified_at", now)


@dataclass(frozen=True)
class StoredBytes:
    """Bytes of a video that are delivered with the checksum guarantee: its original, or its playable copy.

    What a look at them finds is recorded where it belongs: the original's in
    the video's ``status``; a copy that is damaged or gone is dropped from the
    row and made again from the original (:data:`portal.events.copy_lost`),
    since nothing of the upload is lost with it.
    """

    video: Video
    playable_copy: bool = False

    @classmethod
    def original(cls, video: Video) -> StoredBytes:
        return cls(video)

    @classmethod
    def copy_of(cls, video: Video) -> StoredBytes:
        if video.playable_sha256 is None or video.playable_size is None:
            raise ValueError(f"video {video.id} has no playable copy")
        return cls(video, playable_copy=True)

    @property
    def id(self) -> str:
        return self.video.id

    @property
    def key(self) -> str:
        return self.video.playable_key if self.playable_copy else self.video.storage_key

    @property
    def size(self) -> int:
        return int(self.video.playable_size if self.playable_copy else self.video.size)  # type: ignore[arg-type]

    @property
    def sha256(self) -> str:
        return str(self.video.playable_sha256 if self.playable_copy else self.video.sha256)

    @property
    def content_type(self) -> str:
        return str(self.video.playable_content_type if self.playable_copy else self.video.content_type)

    @property
    def verified_at(self) -> datetime | None:
        return self.video.playable_verified_at if self.playable_copy else self.video.verified_at

    @property
    def known_good(self) -> bool:
        """Whether the last look found the bytes right (a copy found wrong is dropped, so a copy always was)."""
        return self.playable_copy or self.video.status == VideoStatus.OK.value

    def unavailable(self, original_message: str, copy_problem: str) -> FileUnavailable:
        """The refusal: the original's says what its owner must do; a copy's, that it is being made again."""
        if not self.playable_copy:
            return FileUnavailable(original_message)
        return FileUnavailable(
            f"The browser-playable copy of {self.video.filename!r} {copy_problem}, so it is not served: "
            "it is being made again from the original, which Download still gives."
        )

    def record(self, status: VideoStatus) -> None:
        if not self.playable_copy:
            record_status(self.video, status)
        elif status is VideoStatus.OK:
            _record_copy_verified(self.video)
        else:
            events.publish(events.copy_lost, video_id=self.video.id, sha256=self.sha256)


def _record_copy_verified(video: Video) -> None:
    """Record the copy found whole for every video playing it (one object, shared by the videos of one content)."""
    now = utcnow()
    key = video.playable_object_key
    playing = Video.id == video.id if key is None else or_(Video.id == video.id, Video.playable_object_key == key)
    db.session.execute(
        db.update(Video)
        .where(playing, Video.playable_sha256 == video.playable_sha256)
        .values(playable_verified_at=now)
    )
    db.session.commit()
    set_committed_value(video, "playable_verified_at", now)


def check_available(stored: StoredBytes) -> None:
    """Refuse bytes known to be damaged, or that are gone or of the wrong size."""
    video = stored.video
    if not stored.playable_copy and video.status == VideoStatus.CORRUPT.value:
        raise StoredCopyCorrupt(video.filename)
    stored_size = current_storage().size(stored.key)
    if stored_size is None:
        stored.record(VideoStatus.MISSING)
        raise stored.unavailable(
            f"The stored bytes of {video.filename!r} are missing. Restore them from a backup or delete it.", "is missing"
        )
    if stored_size != stored.size:
        stored.record(VideoStatus.CORRUPT)
        raise stored.unavailable(
            f"The stored copy of {video.filename!r} has {stored_size} bytes instead of {stored.size}, so it is not served.",
            f"has {stored_size} bytes instead of {stored.size}",
        )
    if not stored.playable_copy and video.status == VideoStatus.MISSING.value:
        record_status(video, VideoStatus.OK)


def open_content(stored: StoredBytes) -> BinaryIO:
    """Open bytes that :func:`check_available` has just passed; they may still vanish in between."""
    try:
        return current_storage().open(stored.key)
    except FileNotFoundError:
        stored.record(VideoStatus.MISSING)
        raise stored.unavailable(f"The stored bytes of {stored.video.filename!r} are missing.", "is missing") from None


#: A file system's change times tick coarsely and may trail the portal's clock a
#: little: bytes that changed within this much of their last hashing count as
#: changed after it.
CHANGE_TIME_SLACK = timedelta(seconds=1)


def unchanged_since_verified(stored: StoredBytes) -> bool:
    """True when the stored bytes provably have not changed since they last matched the checksum.

    Such a file can be sent straight from storage without hashing it again.
    Any write behind the portal's back (a flipped byte, a file swapped in, a
    restore) moves the change time past the verification, so the next send
    hashes it again; damage that leaves the change time alone (bit rot) is
    what ``flask --app wsgi verify`` is for.
    """
    verified_at = stored.verified_at
    if not stored.known_good or verified_at is None:
        return False
    changed = current_storage().changed_at(stored.key)
    return changed is not None and changed < as_utc(verified_at) - CHANGE_TIME_SLACK


def range_needs_hashing(stored: StoredBytes, start: int, stop: int) -> bool:
    """Whether the bytes ``start`` to ``stop`` must be hashed on their way out.

    Players open a video with ``bytes=0-``: a range of the whole file is a
    whole download, and must never deliver corrupt bytes in full either, so it
    is hashed unless the bytes provably have not changed since they last
    matched. Any shorter range is sent straight from storage: it is never the
    whole file, and hashing a part proves nothing.
    """
    return start == 0 and stop == stored.size and not unchanged_since_verified(stored)


class CorruptionDetected(Exception):
    """Raised mid-download: the bytes read do not match the stored checksum."""


def verified_content(stored: StoredBytes, content: BinaryIO, record_success: bool = False) -> VerifiedContent:
    """The whole file as a reader that hashes what it hands out and never hands out the end of a mismatch.

    When the bytes do not match, the file is marked corrupt and the read that
    would reach the end fails instead, so the response can never complete:
    the server breaks the connection short of the announced Content-Length.
    With ``record_success``, a match is recorded as a verification, so that
    later sends of the unchanged file may skip the hashing
    (:func:`unchanged_since_verified`).

    The server reads it after the request is over (from its event loop when
    it is given as ``wsgi.file_wrapper``), so the outcome is recorded in an
    application context of its own, opened only for that moment.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return VerifiedContent(app, stored, content, record_success)


#: Records a verification made by a download served from waitress's event loop, so that the
#: loop, which sends to every client of the process, never waits for the database.
_recorder: ThreadPoolExecutor | None = None
_recorder_lock = threading.Lock()


def _record_in_background(app: Flask, stored: StoredBytes) -> None:
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-verified")
        _recorder.submit(_record_verified, app, stored)


def _record_verified(app: Flask, stored: StoredBytes) -> None:
    with app.app_context():
        try:
            stored.record(VideoStatus.OK)
        except VideoNotFound:
            pass  # deleted while it was being sent; the bytes sent were still right
        except Exception:
            app.logger.exception("recording that %s of video %s matched its checksum failed", stored.key, stored.id)


#: The most one sized read of :class:`VerifiedContent` returns. waitress asks for as much as the
#: socket's send buffer holds (nearly 4 MiB on loopback) at every chance to send, and seeks back
#: over what the client did not take: a slow client would have it copy megabytes to send kilobytes.
READ_LIMIT = 256 * 1024


class VerifiedContent(PositionedReader):
    """A seekable reader of a whole stored file that hashes every byte on its first way out.

    Handed to the server as ``wsgi.file_wrapper``, it is sent by waitress's
    event loop, as any file is, so a slow client holds no worker thread
    however long it takes to read. That loop reads ahead, seeks back when a
    send was partial and reads the same bytes again: bytes are hashed once,
    in order, as the position first passes them (a forward seek hashes the
    bytes it skips). A read that would reach the end first compares the whole
    digest, and on a mismatch records the corruption and raises
    :class:`CorruptionDetected` rather than hand out the last bytes. Iterated
    (a server without ``wsgi.file_wrapper``, the test client), it yields
    ``CHUNK_SIZE`` chunks the same way.
    """

    def __init__(self, app: Flask, stored: StoredBytes, content: BinaryIO, record_success: bool) -> None:
        super().__init__()
        self.app = app
        self.stored = stored
        self.content = content
        self.record_success = record_success
        self.size = stored.size
        self._position = 0
        self._content_position = 0
        self._hashed = 0
        self._digest = hashlib.sha256()
        self._matched: bool | None = None
        self._recorded = False
        #: Set while iterated: the caller's thread may wait for the database, the event loop may not.
        self._wait_for_record = False

    def read(self, size: int | None = -1) -> bytes:
        remaining = self.size - self._position
        if remaining <= 0:
            return b""
        size = remaining if size is None or size < 0 else min(size, remaining, READ_LIMIT)
        if self._position > self._hashed:
            self._hash_up_to(self._position)
        data = self._read_at(self._position, size)
        end = self._position + len(data)
        if end > self._hashed:
            self._digest.update(memoryview(data)[self._hashed - self._position :])
            self._hashed = end
        if end == self.size:
            self._check_digest()
        self._position = end
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        self._wait_for_record = True
        while chunk := self.read(READ_LIMIT):
            yield chunk

    def close(self) -> None:
        if not self.closed:
            self.content.close()
        super().close()

    def _read_at(self, position: int, size: int) -> bytes:
        if self._content_position != position:
            self.content.seek(position)
        data = self.content.read(size)
        self._content_position = position + len(data)
        if len(data) < size:
            # Shorter than its row says: changed since it was opened. Never the whole file, then.
            self._refuse(f"{self.stored.key} ended before the {self.size} bytes recorded")
        return data

    def _hash_up_to(self, stop: int) -> None:
        while self._hashed < stop:
            chunk = self._read_at(self._hashed, min(CHUNK_SIZE, stop - self._hashed))
            self._digest.update(chunk)
            self._hashed += len(chunk)

    def _check_digest(self) -> None:
        if self._matched is None:
            self._matched = self._digest.hexdigest() == self.stored.sha256
            if self._matched and self.record_success:
                if self._wait_for_record:
                    _record_verified(self.app, self.stored)
                else:
                    _record_in_background(self.app, self.stored)
        if not self._matched:
            self._refuse(f"the bytes of {self.stored.key} no longer match their SHA-256")

    def _refuse(self, reason: str) -> None:
        """Record the damage (once, and before the client can see the connection break), then fail the read.

        The warning logged here is the one line an operator needs: the video and
        why its download was cut short. The exception that cuts it is raised
        inside the server's sending, which would log it again as an unexpected
        error with a traceback; :mod:`portal.ops.logs` keeps that record out.
        """
        self._matched = False
        if not self._recorded:
            self._recorded = True
            with self.app.app_context():
                try:
                    self.stored.record(VideoStatus.CORRUPT)
                except Exception:
                    self.app.logger.exception("recording that %s of video %s is corrupt failed", self.stored.key, self.stored.id)
                self.app.logger.warning("download of video %s cut short: %s", self.stored.id, reason)
        raise CorruptionDetected(self.stored.id)


#: Verifies one user may have in progress at once, on all processes together (hashing, or waiting for another's run).
MAX_VERIFIES_PER_USER = 2
#: What a user past :data:`MAX_VERIFIES_PER_USER` is told to wait, in seconds: about one verify of a large file.
VERIFY_RETRY_AFTER = 5
#: How long a verify's row counts unless renewed: a process killed mid-verify holds no slot (nor run) longer.
VERIFY_LEASE = timedelta(seconds=60)
#: A verify in progress renews its row this often (a third of the lease).
_RENEW_EVERY = VERIFY_LEASE.total_seconds() / 3
#: How often a verify waiting for another's run asks the database whether it has ended.
_WAIT_POLL = 0.05


def verifies_in_progress() -> int:
    """The verify requests of users in progress on every process, hashing or waiting for a run."""
    live = db.select(func.count()).select_from(VerifyRun).where(
        VerifyRun.user_id.is_not(None), VerifyRun.expires_at > utcnow()
    )
    return int(db.session.scalar(live) or 0)


def verify(video: Video, by: User | None = None, original_checked: bool = False, copy_checked: bool = False) -> Video:
    """Hash the stored bytes now, and those of the playable copy if there is one, and record what was found.

    ``original_checked``: the original (shared with another video of this
    checksum) was hashed just now and what was found recorded for every
    video using it, so only the copy is left to check. ``copy_checked``: the
    same of its playable copy (shared with the videos of its content), which
    is then not hashed again either.

    A verify asked by a user (``by``) is a row of :class:`~.models.VerifyRun`
    while it is in progress, so that what follows holds across every process
    of the portal. The user may have only :data:`MAX_VERIFIES_PER_USER` in
    progress, past which :class:`~portal.errors.TooManyVerifies` is raised
    before any byte is read. One run at a time reads a stored object: a
    verify of any video with those bytes arriving meanwhile waits for it and
    answers what it recorded (single flight; sixteen verifies at once of a
    large file held the disk and every worker). A run that ended without
    recording (it failed, or its process died) is taken over by a waiting one.
    """
    if by is None:
        _verify_now(video, original_checked, copy_checked)
        return video
    video_id, key, sha256 = video.id, video.storage_key, video.sha256  # read once: the row may go meanwhile
    run_id = _take_slot(by.id, key)
    try:
        while True:
            started = _hash_or_find_run(run_id, video_id, key, sha256)
            if started is None:
                _verify_now(video, original_checked, copy_checked, renew=lambda: _renew(run_id))
                return video
            _wait_for_run(run_id, key)
            try:
                db.session.refresh(video)
            except InvalidRequestError:
                raise VideoNotFound() from None
            if video.verified_at is not None and as_utc(video.verified_at) >= started:
                copy_seen = video.playable_verified_at is not None and as_utc(video.playable_verified_at) >= started
                if video.has_playable_copy and not copy_seen:
                    _verify_now(video, True, False, renew=lambda: _renew(run_id))  # a copy of its own, not that run's
                return video
    finally:
        _end_run(run_id)


def _take_slot(user_id: int, key: str) -> int:
    """Count this verify among the user's, unless they have :data:`MAX_VERIFIES_PER_USER` in progress; its row's id.

    The user's row is held first (on SQLite, the write lock), so that two
    processes counting the same user's verifies take turns: the count and
    the insert are one step.
    """
    now = utcnow()
    db.session.execute(db.update(User).where(User.id == user_id).values(username=User.username))
    # Rows of killed processes count no more; they go here rather than pile up.
    db.session.execute(db.delete(VerifyRun).where(VerifyRun.expires_at <= now))
    running = db.session.scalar(
        db.select(func.count()).select_from(VerifyRun).where(VerifyRun.user_id == user_id, VerifyRun.expires_at > now)
    )
    if (running or 0) >= MAX_VERIFIES_PER_USER:
        db.session.rollback()
        raise TooManyVerifies(MAX_VERIFIES_PER_USER, VERIFY_RETRY_AFTER)
    run = VerifyRun(user_id=user_id, object_key=key, hashing=False, started_at=now, expires_at=now + VERIFY_LEASE)
    db.session.add(run)
    db.session.flush()
    run_id = run.id
    db.session.commit()
    return run_id


def _hash_or_find_run(run_id: int, video_id: str, key: str, sha256: str) -> datetime | None:
    """Make this verify the one reading ``key`` unless a live run does; None when it is, else when that run started.

    Decided under the row lock of the original (of the video's row, for one
    made without an original), which every verify of those bytes takes first.
    """
    now = utcnow()
    held = db.session.execute(db.update(Original).where(Original.sha256 == sha256).values(refs=Original.refs))
    assert isinstance(held, CursorResult)
    if held.rowcount == 0:
        db.session.execute(db.update(Video).where(Video.id == video_id).values(sha256=Video.sha256))
    started = db.session.scalar(
        db.select(VerifyRun.started_at)
        .where(VerifyRun.object_key == key, VerifyRun.hashing, VerifyRun.expires_at > now, VerifyRun.id != run_id)
        .limit(1)
    )
    if started is None:
        db.session.execute(
            db.update(VerifyRun)
            .where(VerifyRun.id == run_id)
            .values(hashing=True, started_at=now, expires_at=now + VERIFY_LEASE)
        )
    db.session.commit()
    return None if started is None else as_utc(started)


def _wait_for_run(run_id: int, key: str) -> None:
    """Until no live run reads ``key``; no transaction (nor pooled connection) is held while waiting."""
    renew_at = time.monotonic() + _RENEW_EVERY
    while True:
        live = db.session.scalar(
            db.select(VerifyRun.id)
            .where(VerifyRun.object_key == key, VerifyRun.hashing, VerifyRun.expires_at > utcnow(), VerifyRun.id != run_id)
            .limit(1)
        )
        db.session.commit()
        if live is None:
            return
        if time.monotonic() >= renew_at:
            _renew(run_id)
            renew_at = time.monotonic() + _RENEW_EVERY
        time.sleep(_WAIT_POLL)


def _renew(run_id: int) -> None:
    db.session.execute(db.update(VerifyRun).where(VerifyRun.id == run_id).values(expires_at=utcnow() + VERIFY_LEASE))
    db.session.commit()


def _end_run(run_id: int) -> None:
    """Delete the verify's row; one that cannot be (the database gone) counts until its lease runs out."""
    try:
        db.session.rollback()
        db.session.execute(db.delete(VerifyRun).where(VerifyRun.id == run_id))
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("the verify run %s could not be ended; it counts until its lease runs out", run_id)


def _verify_now(
    video: Video, original_checked: bool, copy_checked: bool = False, renew: Callable[[], None] | None = None
) -> None:
    if original_checked:
        db.session.refresh(video)
    else:
        record_status(video, _look_at(StoredBytes.original(video), renew))
    if video.has_playable_copy and not copy_checked:
        copy = StoredBytes.copy_of(video)
        found = _look_at(copy, renew)
        copy.record(found)
        if found is not VideoStatus.OK:
            db.session.refresh(video)


def _look_at(stored: StoredBytes, renew: Callable[[], None] | None = None) -> VideoStatus:
    """Hash the bytes and say what they are; ``renew`` is called every :data:`_RENEW_EVERY` seconds meanwhile."""
    try:
        content = current_storage().open(stored.key)
    except FileNotFoundError:
        return VideoStatus.MISSING
    digest = hashlib.sha256()
    renew_at = time.monotonic() + _RENEW_EVERY
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
            if renew is not None and time.monotonic() >= renew_at:
                renew()
                renew_at = time.monotonic() + _RENEW_EVERY
    if digest.hexdigest() != stored.sha256:
        count_checksum_failure("verify")
        return VideoStatus.CORRUPT
    return VideoStatus.OK


def stray_keys() -> list[str]:
    """Stored files that no row describes.

    A row describes the keys it names (its bytes, under either layout, a
    caption's, the poster and copy it shows, which may be another video's)
    and the objects of the other kinds of its video (``poster/ab/cd/<id>``,
    ...). Any other key is a stray: bytes whose row is gone, a kind the portal does not
    know, a second original beside the one the row names.

    A second copy of an original's bytes under another video's upload key is one
    too: a library stored before :mod:`.originals` keeps them
    (``flask --app wsgi storage dedupe`` removes them).

    A process killed between putting an upload's bytes in place and saving its
    row leaves one, as does a purge killed before deleting the object of its
    last reference. They are reported, never removed automatically: after a
    database is restored from an older backup, the same check would name
    files that are worth keeping.
    """
    named: set[str] = set(db.session.scalars(db.select(Original.storage_key)))
    ids: set[str] = set()
    keys = db.select(Video.id, Video.upload_key, Original.sha256).outerjoin(Original, Original.sha256 == Video.sha256)
    for video_id, key, original in db.session.execute(keys):
        ids.add(video_id)
        if original is None:
            named.add(key)  # a row made without an original (by SQL) owns its key
    named.update(db.session.scalars(db.select(Caption.storage_key)))
    # A poster or copy shared by the videos of one content: named by each, whoever made it.
    named.update(db.session.scalars(db.select(Video.poster_object_key).where(Video.poster_object_key.is_not(None))))
    named.update(db.session.scalars(db.select(Video.playable_object_key).where(Video.playable_object_key.is_not(None))))
    return sorted(key for key in current_storage().keys() if key not in named and not _beside_a_video(key, ids))


def _beside_a_video(key: str, ids: set[str]) -> bool:
    """Whether ``key`` is an object of a kind derived from a video that has a row (not its bytes: the row names those)."""
    parsed = parse_storage_key(key)
    if parsed is None:
        return False
    kind, video_id = parsed
    return kind is not StorageKind.ORIGINAL and video_id in ids


def verify_all() -> Iterator[Video]:
    """Verify every video, hashing each stored original and each playable copy once: the videos sharing one get what
    it was found to be (a damaged copy is dropped from each of them and made again)."""
    ids = db.session.scalars(db.select(Video.id).order_by(Video.created_at)).all()
    hashed: set[str] = set()
    copies: set[str] = set()
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is None:
            continue
        copy = video.playable_key if video.has_playable_copy else None
        try:
            checked = verify(video, original_checked=video.sha256 in hashed, copy_checked=copy in copies)
        except VideoNotFound:
            continue  # deleted while being checked
        hashed.add(checked.sha256)
        if copy is not None:
            copies.add(copy)
        yield checked

"""Integrity of stored bytes: verify them, deliver them only whole and matching, find strays.

Every video's SHA-256 is in its row. A download of the whole file is hashed
while it is sent and stopped short when the bytes do not match, so a damaged
file is never delivered complete; what a check finds is recorded in the row
(``status``, ``verified_at``).
"""

from __future__ import annotations

import hashlib
from collections import deque
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import BinaryIO
from typing import Iterator

from flask import Flask
from flask import current_app
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import FileUnavailable
from ..errors import StoredCopyCorrupt
from ..errors import VideoNotFound
from ..extensions import db
from ..metrics import count_checksum_failure
from ..storage import CHUNK_SIZE
from ..storage import current_storage
from .models import StorageKind
from .models import Video
from .models import VideoStatus
from .models import as_utc
from .models import parse_storage_key
from .models import utcnow

#: Chunks a verified download may read ahead of their hashing: 2 keeps the
#: hashing thread busy (1: 1.3 GB/s, 2 to 8: 1.7 GB/s for 1 GiB here) while
#: holding at most 2 MiB more per download.
HASH_AHEAD = 2


def record_status(video: Video, status: VideoStatus) -> None:
    """Record what a look at the bytes found; an UPDATE, so it also works mid-download.

    No row to update means another request deleted the video meanwhile (which
    is also why its bytes were gone): that is :class:`VideoNotFound`, not a
    missing file.
    """
    now = utcnow()
    result = db.session.execute(db.update(Video).where(Video.id == video.id).values(status=status.value, verified_at=now))
    # What an UPDATE gives back, though Session.execute is typed as any statement's Result.
    assert isinstance(result, CursorResult)
    db.session.commit()
    if result.rowcount == 0:
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
    row and made again from the original (:func:`portal.media.processing.discard_copy`),
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
            from ..media.processing import discard_copy

            discard_copy(self.video.id, self.sha256)


def _record_copy_verified(video: Video) -> None:
    now = utcnow()
    db.session.execute(
        db.update(Video)
        .where(Video.id == video.id, Video.playable_sha256 == video.playable_sha256)
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


def verified_chunks(
    stored: StoredBytes, content: BinaryIO, chunk_size: int = CHUNK_SIZE, record_success: bool = False
) -> Iterator[bytes]:
    """Yield the whole file, holding back the last chunk until its SHA-256 is confirmed.

    When the bytes do not match, the file is marked corrupt and the iteration
    fails before the last chunk, so the response can never complete: the
    server breaks the connection short of the announced Content-Length. With
    ``record_success``, a match is recorded as a verification, so that later
    sends of the unchanged file may skip the hashing
    (:func:`unchanged_since_verified`).

    The server iterates after the request is over, so the outcome is recorded
    in an application context of its own, opened only for that moment.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return _hashed_chunks(app, stored, content, chunk_size, record_success)


def _hashed_chunks(
    app: Flask, stored: StoredBytes, content: BinaryIO, chunk_size: int, record_success: bool
) -> Iterator[bytes]:
    """The iteration behind :func:`verified_chunks`.

    This thread reads and sends; a helper thread hashes the very same chunks,
    strictly in order, up to ``HASH_AHEAD`` chunks behind the reading
    (hashlib releases the GIL), so hashing runs alongside reading and sending
    instead of between them.
    """
    digest = hashlib.sha256()
    held_back = b""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-hash") as hasher:
            hashing: deque[Future[None]] = deque()
            while chunk := content.read(chunk_size):
                if len(hashing) >= HASH_AHEAD:
                    hashing.popleft().result()
                hashing.append(hasher.submit(digest.update, chunk))
                if held_back:
                    yield held_back
                held_back = chunk
            for pending in hashing:
                pending.result()
        if digest.hexdigest() != stored.sha256:
            with app.app_context():
                stored.record(VideoStatus.CORRUPT)
                app.logger.error("%s of video %s is corrupt: download stopped before the end", stored.key, stored.id)
            raise CorruptionDetected(stored.id)
        if record_success:
            with app.app_context():
                try:
                    stored.record(VideoStatus.OK)
                except VideoNotFound:
                    pass  # deleted while it was being sent; the bytes sent were still right
        if held_back:
            yield held_back
    finally:
        content.close()


def verify(video: Video) -> Video:
    """Hash the stored bytes now, and those of the playable copy if there is one, and record what was found."""
    record_status(video, _look_at(StoredBytes.original(video)))
    if video.has_playable_copy:
        copy = StoredBytes.copy_of(video)
        found = _look_at(copy)
        copy.record(found)
        if found is not VideoStatus.OK:
            db.session.refresh(video)
    return video


def _look_at(stored: StoredBytes) -> VideoStatus:
    try:
        content = current_storage().open(stored.key)
    except FileNotFoundError:
        return VideoStatus.MISSING
    digest = hashlib.sha256()
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
    if digest.hexdigest() != stored.sha256:
        count_checksum_failure("verify")
        return VideoStatus.CORRUPT
    return VideoStatus.OK


def stray_keys() -> list[str]:
    """Stored files that no row describes.

    A row describes the key it names (its bytes, under either layout) and the
    objects of the other kinds of its video (``poster/ab/cd/<id>``, ...). Any
    other key is a stray: bytes whose row is gone, a kind the portal does not
    know, a second original beside the one the row names.

    A process killed between putting an upload's bytes in place and saving its
    row leaves one. They are reported, never removed automatically: after a
    database is restored from an older backup, the same check would name
    files that are worth keeping.
    """
    named: set[str] = set()
    ids: set[str] = set()
    for video_id, key in db.session.execute(db.select(Video.id, Video.storage_key)):
        ids.add(video_id)
        named.add(key)
    return sorted(key for key in current_storage().keys() if key not in named and not _beside_a_video(key, ids))


def _beside_a_video(key: str, ids: set[str]) -> bool:
    """Whether ``key`` is an object of a kind derived from a video that has a row (not its bytes: the row names those)."""
    parsed = parse_storage_key(key)
    if parsed is None:
        return False
    kind, video_id = parsed
    return kind is not StorageKind.ORIGINAL and video_id in ids


def verify_all() -> Iterator[Video]:
    ids = db.session.scalars(db.select(Video.id).order_by(Video.created_at)).all()
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is None:
            continue
        try:
            checked = verify(video)
        except VideoNotFound:
            continue  # deleted while being checked
        yield checked

"""Copying a library's bytes from one storage backend to another, checked file by file.

Used to move an existing library between the local folder and an object store
while the portal keeps serving: every copy is hashed on the way and committed
only when it matches the checksum in the database, so a target never holds a
damaged copy. What the target already holds at the right size is skipped, so
an interrupted run simply starts again and picks up where it stopped (an
upload is only ever visible complete, and only after its checksum matched).
"""

from __future__ import annotations

import enum
import hashlib
from typing import Iterator

from .extensions import db
from .models import Video
from .storage import Storage

CHUNK_SIZE = 1024 * 1024


class Outcome(str, enum.Enum):
    COPIED = "copied"
    PRESENT = "already there"
    CORRUPT = "corrupt"
    MISSING = "missing"


def _sha256_of(storage: Storage, key: str) -> str | None:
    try:
        content = storage.open(key)
    except FileNotFoundError:
        return None
    digest = hashlib.sha256()
    with content:
        while chunk := content.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def copy_video(video: Video, source: Storage, target: Storage, verify_existing: bool = False) -> Outcome:
    """Copy one file's bytes unless the target has them; never commit bytes that do not match."""
    key = video.storage_key
    if target.size(key) == video.size and (not verify_existing or _sha256_of(target, key) == video.sha256):
        return Outcome.PRESENT
    try:
        content = source.open(key)
    except FileNotFoundError:
        return Outcome.MISSING
    upload = target.create(key)
    try:
        digest = hashlib.sha256()
        size = 0
        with content:
            while chunk := content.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
                upload.write(chunk)
        if size != video.size or digest.hexdigest() != video.sha256:
            upload.abort()
            return Outcome.CORRUPT
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    return Outcome.COPIED


def copy_library(source: Storage, target: Storage, verify_existing: bool = False) -> Iterator[tuple[Video, Outcome]]:
    """Copy every file that has a row, oldest first, telling what happened to each."""
    ids = db.session.scalars(db.select(Video.id).order_by(Video.created_at, Video.id)).all()
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is not None:
            yield video, copy_video(video, source, target, verify_existing)
            db.session.expunge(video)

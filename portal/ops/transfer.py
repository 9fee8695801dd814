"""Moving a library: its bytes to another storage backend, its rows to another database.

Used to move an existing library between the local folder and an object store
while the portal keeps serving: every copy is hashed on the way and committed
only when it matches the checksum in the database, so a target never holds a
damaged copy. What the target already holds at the right size is skipped, so
an interrupted run simply starts again and picks up where it stopped (an
upload is only ever visible complete, and only after its checksum matched).
Rows are copied the same way: whatever the target lacks, by id.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import Engine

from ..extensions import db
from ..library.models import Video
from ..library.models import as_utc
from ..storage import Storage

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
    """Copy one file's bytes unless the target has them; never commit bytes that do not match.

    The target gets the key the row names, whichever layout it follows, so the
    row needs no change when the portal switches to the target.
    """
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


def _as_utc_row(row: dict) -> dict:
    """SQLite hands back naive datetimes; say they are UTC before another database reads them."""
    return {name: as_utc(value) if isinstance(value, datetime) else value for name, value in row.items()}


def copy_rows(source: Engine, target: Engine, batch_size: int = 500) -> tuple[int, int]:
    """Copy every video row the target lacks, in batches committed one by one; return (copied, present).

    Rows are matched by id, so an interrupted copy resumes where it stopped and
    a second run after switching databases picks up what was added meanwhile.
    """
    table = Video.__table__
    copied = present = 0
    last_id = ""
    with source.connect() as reading:
        while True:
            batch = [
                _as_utc_row(dict(row))
                for row in reading.execute(
                    sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch_size)
                ).mappings()
            ]
            if not batch:
                return copied, present
            last_id = batch[-1]["id"]
            with target.begin() as writing:
                there = set(writing.scalars(sa.select(table.c.id).where(table.c.id.in_([row["id"] for row in batch]))))
                missing = [row for row in batch if row["id"] not in there]
                if missing:
                    writing.execute(sa.insert(Video), missing)
            copied += len(missing)
            present += len(there)

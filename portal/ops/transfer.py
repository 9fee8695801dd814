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

import logging
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import Engine

from ..accounts.models import ApiToken
from ..accounts.models import LoginSession
from ..accounts.models import User
from ..extensions import db
from ..library.models import Caption
from ..library.models import Original
from ..library.models import Video
from ..library.models import VideoTag
from ..library.models import as_utc
from ..sharing.models import ShareLink
from ..storage import Storage
from ..storage.copying import Outcome
from ..storage.copying import copy_object

log = logging.getLogger(__name__)


def copy_video(
    video: Video,
    source: Storage,
    target: Storage,
    verify_existing: bool = False,
    original: Outcome | None = None,
    copied: dict[str, Outcome] | None = None,
) -> Outcome:
    """Copy a file's bytes, poster, playable copy and captions, unless the target has them; never commit bytes that do not match.

    The target gets the key the row names, whichever layout it follows, so the
    row needs no change when the portal switches to the target. The outcome
    is the original's: a poster or copy missing or damaged at the source is
    logged, not copied, and made again when the video is processed again
    (``POST /api/v1/files/<id>/process``, or "Try again"; a lost copy is also
    made again when a player or ``verify`` finds it missing).

    ``original``: what copying the video's original (shared with a video copied
    before) came to, which is then not copied again. ``copied``: the poster and
    copy keys handled so far and what came of each, filled in here; a poster or
    copy shared with a video copied before is neither read nor written again.
    """
    copied = {} if copied is None else copied
    outcome = original or copy_object(
        source, video.storage_key, target, video.storage_key, video.size, video.sha256, verify_existing
    )
    if video.poster_sha256 is not None:
        key = video.poster_key
        if key not in copied:
            # A poster's size is not kept; it is small enough to hash at the target every time.
            copied[key] = copy_object(source, key, target, key, None, video.poster_sha256, True)
        if copied[key] in (Outcome.CORRUPT, Outcome.MISSING):
            log.warning("the poster of video %s is %s at the source, not copied", video.id, copied[key].value)
    if video.playable_sha256 is not None:
        key = video.playable_key
        if key not in copied:
            copied[key] = copy_object(
                source, key, target, key, video.playable_size, video.playable_sha256, verify_existing
            )
        if copied[key] in (Outcome.CORRUPT, Outcome.MISSING):
            log.warning("the playable copy of video %s is %s at the source, not copied", video.id, copied[key].value)
    for caption in video.captions:
        key = caption.storage_key
        moved = copy_object(source, key, target, key, caption.size, caption.sha256, verify_existing)
        if moved in (Outcome.CORRUPT, Outcome.MISSING):
            log.warning("the %s caption of video %s is %s at the source, not copied", caption.language, video.id, moved.value)
    return outcome


def copy_library(source: Storage, target: Storage, verify_existing: bool = False) -> Iterator[tuple[Video, Outcome]]:
    """Copy every file that has a row, oldest first, telling what happened to each; a shared original, poster or
    playable copy is copied once."""
    ids = db.session.scalars(db.select(Video.id).order_by(Video.created_at, Video.id)).all()
    originals: dict[str, Outcome] = {}
    derived: dict[str, Outcome] = {}
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is not None:
            key = video.storage_key
            outcome = copy_video(video, source, target, verify_existing, originals.get(key), derived)
            originals[key] = outcome
            yield video, outcome
            db.session.expunge(video)


def _as_utc_row(row: dict) -> dict:
    """SQLite hands back naive datetimes; say they are UTC before another database reads them."""
    return {name: as_utc(value) if isinstance(value, datetime) else value for name, value in row.items()}


#: Every table a library's rows live in, parents before the rows that refer to them.
#: Failed sign-ins are not moved: they only matter for fifteen minutes.
LIBRARY_TABLES: tuple[sa.Table, ...] = tuple(
    model.__table__ for model in (User, ApiToken, LoginSession, Original, Video, VideoTag, Caption, ShareLink)  # type: ignore[misc]
)


def copy_rows(source: Engine, target: Engine, batch_size: int = 500) -> tuple[int, int]:
    """Copy every row the target lacks, table by table, in batches committed one by one; return (copied, present).

    Rows are matched by primary key, so an interrupted copy resumes where it
    stopped and a second run after switching databases picks up what was added
    meanwhile. Users, tokens and sessions keep their ids (videos and share
    links refer to them); a PostgreSQL target's id sequences are moved past them.
    """
    copied = present = 0
    for table in LIBRARY_TABLES:
        table_copied, table_present = _copy_table(source, target, table, batch_size)
        copied += table_copied
        present += table_present
    if target.dialect.name == "postgresql":
        _move_sequences_past_copied_ids(target)
    return copied, present


def _copy_table(source: Engine, target: Engine, table: sa.Table, batch_size: int) -> tuple[int, int]:
    (key,) = table.primary_key.columns
    copied = present = 0
    last: object = None
    with source.connect() as reading:
        while True:
            query = sa.select(table).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            batch = [_as_utc_row(dict(row)) for row in reading.execute(query).mappings()]
            if not batch:
                return copied, present
            last = batch[-1][key.name]
            with target.begin() as writing:
                there = set(writing.scalars(sa.select(key).where(key.in_([row[key.name] for row in batch]))))
                missing = [row for row in batch if row[key.name] not in there]
                if missing:
                    writing.execute(sa.insert(table), missing)
            copied += len(missing)
            present += len(there)


def _move_sequences_past_copied_ids(target: Engine) -> None:
    """Rows inserted with their ids leave PostgreSQL's sequences behind; the next new row would collide."""
    with target.begin() as writing:
        for table in LIBRARY_TABLES:
            (key,) = table.primary_key.columns
            if isinstance(key.type, sa.Integer):
                writing.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                        f"COALESCE((SELECT MAX({key.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )

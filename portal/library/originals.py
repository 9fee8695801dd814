"""Originals stored by content: one object per SHA-256, shared by every video with those bytes.

An upload hashes every byte it receives; when an :class:`~.models.Original`
with that checksum exists, the new video takes a reference to it and the
upload's own bytes are dropped instead of stored. References are counted in
the row and changed by single ``UPDATE`` statements, which hold the row's lock
until their transaction ends on PostgreSQL (SQLite has one writer at a time):
the transaction that purges the last video of an object deletes its row, and
the object is deleted only after that transaction commits, so an upload racing
with it either got its reference first (and the object stays) or finds no row
and stores its own bytes.

A crash between the steps leaves at worst an object no row names (an upload's
bytes stored just before the row, or an object whose last reference was just
committed away): ``flask --app wsgi cleanup`` names such keys, never a video
without bytes.

Posters and playable copies are made once per content too
(:mod:`portal.media.processing`): a video names the key of the one it shows,
which may be another video's, and :func:`release` deletes one only when no
other row names it, deciding under the same row lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import CursorResult

from ..extensions import db
from .models import Original
from .models import Video
from .models import VideoStatus
from .models import utcnow


def take_reference(sha256: str) -> bool:
    """Count one more video using the original of ``sha256``, in the session's transaction; False when there is none."""
    result = db.session.execute(update(Original).where(Original.sha256 == sha256).values(refs=Original.refs + 1))
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def release(video: Video) -> list[str]:
    """Count one video fewer using its original, in the session's transaction (whose commit is the caller's).

    Returns the keys to delete once that transaction has committed: the
    original's, when this was its last video; the video's own upload key, when
    its bytes went there but another object is the one its videos use (a
    second copy left by an older library or by a crash). A row made without an
    original (by SQL) owns its key alone.
    """
    result = db.session.execute(update(Original).where(Original.sha256 == video.sha256).values(refs=Original.refs - 1))
    assert isinstance(result, CursorResult)
    # Under the original's row lock, which a video taking another's poster or copy holds too (:func:`lock`).
    derived = unused_derived_keys(video)
    if result.rowcount == 0:
        return [video.upload_key, *derived]
    key, refs = db.session.execute(
        select(Original.storage_key, Original.refs).where(Original.sha256 == video.sha256)
    ).one()
    freed = [] if video.upload_key == key else [video.upload_key]
    if refs <= 0:
        db.session.execute(delete(Original).where(Original.sha256 == video.sha256))
        freed.append(key)
    return freed + derived


def lock(sha256: str) -> None:
    """Hold the row of the original of ``sha256`` until the session's transaction ends (no row: nothing to hold).

    A video that takes another's poster or copy holds it while it looks for
    one and names it, as a purge does while it decides which to delete, so
    that a poster is never taken just as its last video deletes it.
    """
    db.session.execute(update(Original).where(Original.sha256 == sha256).values(refs=Original.refs))


def unused_derived_keys(video: Video) -> list[str]:
    """The keys of ``video``'s poster and copy (named, or its own) that no other video names: deleted with it."""
    candidates = video.derived_keys
    used = set(
        db.session.scalars(
            select(Video.poster_object_key).where(Video.id != video.id, Video.poster_object_key.in_(candidates))
        )
    ) | set(
        db.session.scalars(
            select(Video.playable_object_key).where(Video.id != video.id, Video.playable_object_key.in_(candidates))
        )
    )
    return [key for key in candidates if key not in used]


def is_damaged(sha256: str) -> bool:
    """Whether the last look at the original of ``sha256`` found it corrupt or missing (it marks all its videos)."""
    bad = select(Video.id).where(Video.sha256 == sha256, Video.status != VideoStatus.OK.value)
    return bool(db.session.scalar(select(bad.exists())))


def last_verified(sha256: str) -> datetime | None:
    """When the original of ``sha256`` was last found whole (every video using it records each look)."""
    return db.session.scalar(select(func.max(Video.verified_at)).where(Video.sha256 == sha256))


def replace(sha256: str, key: str) -> str:
    """Make the object under ``key`` (whole bytes of ``sha256``) the original, in the session's transaction, whose
    row the caller has locked (:func:`take_reference`); the key of the damaged object, to delete after the commit.

    Its videos are marked whole: their bytes are these now.
    """
    damaged = db.session.scalar(select(Original.storage_key).where(Original.sha256 == sha256))
    assert damaged is not None
    db.session.execute(update(Original).where(Original.sha256 == sha256).values(storage_key=key))
    db.session.execute(
        update(Video).where(Video.sha256 == sha256).values(status=VideoStatus.OK.value, verified_at=utcnow())
    )
    return damaged

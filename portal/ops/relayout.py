"""Moving the bytes of videos stored before the kinds (``ab/cd/<id>``) to ``original/ab/cd/<id>``.

Migration 0004 left those bytes where they were and named the old key in each
row: a migration runs in one transaction, and moving a library's objects (on
an object store, a copy of every byte) takes far longer than a transaction
should stay open. This moves them afterwards, while the portal serves, one
video at a time and in an order that keeps every video readable wherever it
stops: copy the bytes to the new key, checking them against the row's
SHA-256; point the row at the new key and commit; only then delete the old
object. Running it again after an interruption finishes the job: a copy
already at the new key is hashed instead of made again, and an old object
whose row names the new key already is deleted once the new one is checked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy.engine import CursorResult

from ..extensions import db
from ..library.models import Original
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import storage_key_for
from ..storage import Storage
from ..storage.copying import copy_object
from .transfer import Outcome


class Move(str, enum.Enum):
    MOVED = "moved"
    #: The old object does not match the row's size or SHA-256: left where it is, the row unchanged.
    CORRUPT = "corrupt"
    #: Neither the old key nor the new one holds the bytes: the row unchanged.
    MISSING = "missing"
    #: The video was purged while its bytes were copied; the copy went too.
    PURGED = "purged meanwhile"


@dataclass(frozen=True)
class Relaid:
    """What happened to one video's bytes."""

    video_id: str
    filename: str
    old_key: str
    new_key: str
    outcome: Move


def old_layout_key(video_id: str) -> str:
    """The only layout before the kinds: ``ab/cd/<id>``."""
    return f"{video_id[:2]}/{video_id[2:4]}/{video_id}"


def _video_of_old_layout_key(key: str) -> str | None:
    video_id = key.rpartition("/")[2]
    return video_id if key == old_layout_key(video_id) else None


def videos_under_old_keys() -> list[tuple[str, str]]:
    """(id, key) of every video whose row still names a key of the old layout, by id."""
    query = (
        db.select(Video.id, Video.upload_key)
        .where(~Video.upload_key.startswith(f"{StorageKind.ORIGINAL.value}/"))
        .order_by(Video.id)
    )
    return [(video_id, key) for video_id, key in db.session.execute(query) if key != storage_key_for(video_id)]


def relayout_library(storage: Storage) -> Iterator[Relaid]:
    """Move every video still under an old key, by id, then finish the moves an earlier run left half-done.

    A storage error ends the run where it stands (an :class:`OSError`, such as
    :class:`portal.storage.StorageUnavailable`); every video is then still
    readable under the key its row names, and the next run goes on from there.
    """
    for video_id, _key in videos_under_old_keys():
        video = db.session.get(Video, video_id)
        if video is not None and video.upload_key != storage_key_for(video_id):
            yield _move(storage, video, video.upload_key)
    yield from _finish_interrupted_moves(storage)


def _finish_interrupted_moves(storage: Storage) -> Iterator[Relaid]:
    """Delete the old objects of videos whose rows name their new key already: a run stopped before deleting them.

    Listed after the moves of this run, when only such leftovers (and old
    objects whose bytes could not be moved) remain under the old layout. An
    old object without any row is a stray, which ``cleanup`` names and nobody
    deletes automatically.
    """
    leftovers = sorted({video_id: key for key in storage.keys() if (video_id := _video_of_old_layout_key(key))}.items())
    for video_id, key in leftovers:
        video = db.session.get(Video, video_id)
        if video is not None and video.upload_key == storage_key_for(video_id):
            yield _move(storage, video, key)


def _move(storage: Storage, video: Video, old_key: str) -> Relaid:
    """Copy, check, point the row, delete: in this order, so that the row always names bytes that are there.

    The new copy is checked even when it is already there (an earlier run may
    have stopped after making it), so an old object is deleted only once a
    verified copy is what the row names.
    """
    video_id, filename, new_key = video.id, video.filename, storage_key_for(video.id)
    copied = copy_object(storage, old_key, storage, new_key, video.size, video.sha256, verify_existing=True)
    db.session.expunge(video)
    if copied in (Outcome.CORRUPT, Outcome.MISSING):
        return Relaid(video_id, filename, old_key, new_key, Move(copied.value))
    if not _point_row_at(video_id, old_key, new_key):
        # Purged meanwhile: its objects went with its row, and the copy would be a stray.
        storage.delete(new_key)
        return Relaid(video_id, filename, old_key, new_key, Move.PURGED)
    storage.delete(old_key)
    return Relaid(video_id, filename, old_key, new_key, Move.MOVED)


def _point_row_at(video_id: str, old_key: str, new_key: str) -> bool:
    """Make the row name ``new_key``, and the original stored there (shared by its videos); False when the row is gone.

    Only a row that names one of the two keys is changed, so a video purged
    and a key changed by anything else are never overwritten.
    """
    result = db.session.execute(
        db.update(Video).where(Video.id == video_id, Video.upload_key.in_([old_key, new_key])).values(upload_key=new_key)
    )
    db.session.execute(db.update(Original).where(Original.storage_key == old_key).values(storage_key=new_key))
    # What an UPDATE gives back, though Session.execute is typed as any statement's Result.
    assert isinstance(result, CursorResult)
    db.session.commit()
    return result.rowcount == 1

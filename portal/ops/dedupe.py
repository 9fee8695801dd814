"""``flask --app wsgi storage dedupe``: remove the second copies of originals that a library stored before sharing keeps.

It also folds the posters and playable copies each video of one content made
for itself before revision 0023: its videos are pointed at the oldest one's,
and the others deleted once no row names them.

Migration 0020 folds each checksum's videos into one :class:`~portal.library.models.Original`
and leaves the other copies where they were, unused. This removes them, each
after the object its videos use has been hashed and found whole: when that one
is damaged and a copy is whole, the copy becomes the original (the row is
switched first, then the damaged object deleted). Every step is a single
row change or delete, in an order that leaves the row naming whole bytes, so a
run killed at any point is simply run again (removed copies are skipped).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import func
from sqlalchemy.engine import CursorResult

from ..extensions import db
from ..library.models import Original
from ..library.models import StorageKind
from ..library.models import Video
from ..library.models import VideoStatus
from ..library.models import storage_key_for
from ..library.models import utcnow
from ..storage import Storage
from ..storage.copying import sha256_of

log = logging.getLogger(__name__)


class Fold(str, enum.Enum):
    REMOVED = "removed"
    #: The original was damaged and this copy whole: the copy is now the original, the damaged object removed.
    REPLACED = "replaced"
    #: Neither the original nor this copy matches the checksum: both are kept for whoever restores them.
    DAMAGED = "damaged"


@dataclass(frozen=True)
class Folded:
    video_id: str
    key: str
    size: int
    outcome: Fold


def second_copies() -> list[tuple[str, str, str, str, int]]:
    """(video id, its upload key, its original's key, SHA-256, size) of each video whose bytes are another's object."""
    query = (
        db.select(Video.id, Video.upload_key, Original.storage_key, Video.sha256, Video.size)
        .join(Original, Original.sha256 == Video.sha256)
        .where(Video.upload_key != Original.storage_key)
        .order_by(Video.sha256, Video.id)
    )
    return [(video_id, own, kept, sha256, size) for video_id, own, kept, sha256, size in db.session.execute(query)]


def dedupe(storage: Storage) -> Iterator[Folded]:
    """Remove every second copy still stored, checking each original once first; what happened to each."""
    whole: dict[str, bool] = {}
    for video_id, own, kept, sha256, size in second_copies():
        if storage.size(own) is None:
            continue  # dropped at upload, or removed by an earlier run
        if sha256 not in whole:
            whole[sha256] = sha256_of(storage, kept) == sha256
        if whole[sha256]:
            storage.delete(own)
            yield Folded(video_id, own, size, Fold.REMOVED)
        elif sha256_of(storage, own) == sha256 and _switch(sha256, kept, own):
            whole[sha256] = True
            storage.delete(kept)
            yield Folded(video_id, kept, size, Fold.REPLACED)
        else:
            yield Folded(video_id, own, size, Fold.DAMAGED)
    yield from fold_made_twice(storage)


def shared_made_twice() -> list[str]:
    """The checksums whose videos show more than one poster, or more than one copy (each made its own, before 0023)."""
    query = (
        db.select(Video.sha256)
        .group_by(Video.sha256)
        .having(
            (func.count(Video.poster_object_key.distinct()) > 1) | (func.count(Video.playable_object_key.distinct()) > 1)
        )
        .order_by(Video.sha256)
    )
    return list(db.session.scalars(query))


#: What a video shows of each kind made from its bytes: the key column, then what is recorded with it.
_MADE = (
    (Video.poster_object_key, (Video.poster_sha256,), None),
    (
        Video.playable_object_key,
        (Video.playable_sha256, Video.playable_size, Video.playable_content_type, Video.playable_verified_at),
        Video.playable_size,
    ),
)


def fold_made_twice(storage: Storage) -> Iterator[Folded]:
    """Point the videos of one content at one poster and one copy (the oldest video's in store), then delete the others.

    The kept one's video row is held while the others are pointed at it, so
    that a purge of that video meanwhile sees them name it and keeps it. Each
    key is deleted only once no row names it; one left by a killed run is a
    video's own key that no row names, found again by :func:`unnamed_own_keys`.
    """
    for sha256 in shared_made_twice():
        freed: set[str] = set()
        for key_column, recorded, size_column in _MADE:
            rows = db.session.execute(
                db.select(Video.id, key_column, *recorded)
                .where(Video.sha256 == sha256, key_column.is_not(None), recorded[0].is_not(None))
                .order_by(Video.created_at, Video.id)
            ).all()
            keys = {row[1] for row in rows}
            if len(keys) < 2:
                continue
            kept = next((row for row in rows if _in_store(storage, row[1], row[3] if size_column is not None else None)), None)
            if kept is None:
                continue
            held = db.session.execute(db.update(Video).where(Video.id == kept[0]).values(sha256=Video.sha256))
            assert isinstance(held, CursorResult)
            if held.rowcount == 1:
                values = {column.key: value for column, value in zip((key_column, *recorded), kept[1:], strict=True)}
                others = (Video.sha256 == sha256, key_column.is_not(None), key_column != kept[1])
                db.session.execute(db.update(Video).where(*others).values(**values))
                freed.update(keys - {kept[1]})
            db.session.commit()
        yield from _delete_unnamed(storage, sorted(freed))
    yield from _delete_unnamed(storage, unnamed_own_keys(storage))


def unnamed_own_keys(storage: Storage) -> list[str]:
    """Each video's own poster or copy key still in store though no row names it: the video shows another's."""
    named = set(db.session.scalars(db.select(Video.poster_object_key).where(Video.poster_object_key.is_not(None))))
    named |= set(db.session.scalars(db.select(Video.playable_object_key).where(Video.playable_object_key.is_not(None))))
    rows = db.session.execute(
        db.select(Video.id, Video.poster_object_key, Video.playable_object_key).where(
            Video.poster_object_key.is_not(None) | Video.playable_object_key.is_not(None)
        )
    )
    found = []
    for video_id, poster, playable in rows:
        for kind, shown in ((StorageKind.POSTER, poster), (StorageKind.PLAYABLE, playable)):
            own = storage_key_for(video_id, kind)
            if shown is not None and shown != own and own not in named and storage.size(own) is not None:
                found.append(own)
    return found


def _in_store(storage: Storage, key: str, size: int | None) -> bool:
    stored = storage.size(key)
    return stored is not None and (size is None or stored == size)


def _delete_unnamed(storage: Storage, keys: list[str]) -> Iterator[Folded]:
    """Delete each of ``keys`` that no row names (checked again: a video may have been given it meanwhile)."""
    for key in keys:
        named = db.session.scalar(
            db.select(Video.id).where((Video.poster_object_key == key) | (Video.playable_object_key == key)).limit(1)
        )
        size = storage.size(key)
        if named is not None or size is None:
            continue
        storage.delete(key)
        yield Folded(key.rpartition("/")[2], key, size, Fold.REMOVED)


def _switch(sha256: str, damaged: str, whole: str) -> bool:
    """Make the original of ``sha256`` the whole copy, and its videos whole again; False when it changed meanwhile."""
    result = db.session.execute(
        db.update(Original).where(Original.sha256 == sha256, Original.storage_key == damaged).values(storage_key=whole)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 1:
        db.session.execute(
            db.update(Video).where(Video.sha256 == sha256).values(status=VideoStatus.OK.value, verified_at=utcnow())
        )
    db.session.commit()
    return result.rowcount == 1


def fold_at_start_up(storage: Storage, max_videos: int) -> int | None:
    """The upgrade's fold: :func:`dedupe` a library of fewer than ``max_videos`` videos; the bytes saved.

    Hashing each kept original takes a while for a large library, which
    should not keep the portal from answering: it is only told that the
    command is due (None), as is a small one whose fold finds damage.
    Resumable like the command, which finishes a fold a killed start left.
    """
    pending = len(second_copies()) + len(shared_made_twice())
    if not pending:
        return 0
    videos = db.session.scalar(db.select(func.count()).select_from(Video)) or 0
    if videos >= max_videos:
        log.warning(
            "%d videos keep a second copy of bytes stored once already; this library (%d videos) is too large to "
            "fold at start-up: run `flask --app wsgi storage dedupe`",
            pending, videos,
        )
        return None
    saved = removed = damaged = 0
    for folded in dedupe(storage):
        if folded.outcome is Fold.DAMAGED:
            damaged += 1
            continue
        removed += 1
        saved += folded.size
    if removed:
        log.info("start-up fold: removed %d second copies of stored originals, %d bytes saved", removed, saved)
    if damaged:
        log.warning(
            "start-up fold: %d originals and their copies are all damaged, both kept: run `flask --app wsgi verify`",
            damaged,
        )
    return saved

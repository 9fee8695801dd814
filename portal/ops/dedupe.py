"""``flask --app wsgi storage dedupe``: remove the second copies of originals that a library stored before sharing keeps.

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
from ..library.models import Video
from ..library.models import VideoStatus
from ..library.models import utcnow
from ..storage import Storage
from .transfer import sha256_of

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
    Resumable like the command, so a start killed half-way folds the rest at
    the next start.
    """
    pending = len(second_copies())
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

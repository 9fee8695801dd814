"""The trash: a deleted video leaves the library but keeps its row and objects, restorable, until purged.

Moving to the trash only marks the row (``deleted_at``, ``deleted_by_id``), so
a restore gives back the very same video: id, checksum, owner, media, share
links. Every look-up of the library leaves trashed videos out
(:func:`~portal.library.service.get_video`, the listing, share links); jobs
and ``verify`` still see them, so a restored video comes back with good bytes.

After ``TRASH_DAYS`` a video is purged: the row goes first, then every stored
object (a failure in between leaves strays, never a row without bytes); its
original only with the last video that uses it (:mod:`.originals`).
``TRASH_DAYS = 0`` deletes at once, as before there was a trash.

Each change is one conditional statement (``... WHERE id = :id AND deleted_at
IS NOT NULL``) whose row count says whether it happened, so two requests racing
on one video (restore and purge, a restore twice) end with one winner and a
:class:`~portal.errors.VideoNotFound` for the other. Who may: whoever could
delete the video (its owner, any admin); emptying the whole trash is for admins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import Update
from sqlalchemy import func
from sqlalchemy.engine import CursorResult

from .. import errors
from .. import events
from ..accounts.models import Role
from ..accounts.models import User
from ..accounts.permissions import Action
from ..accounts.permissions import Caller
from ..accounts.permissions import check
from ..extensions import db
from . import catalog
from . import originals
from . import service
from .listing import Listing
from .listing import Page
from .listing import search_conditions
from .models import Caption
from .models import Video
from .models import VideoTag
from .models import as_utc
from .models import utcnow

audit = logging.getLogger("portal.audit")


@dataclass(frozen=True)
class Usage:
    """How many videos a trash holds and the bytes they keep (originals and copies)."""

    count: int
    bytes: int


@dataclass(frozen=True)
class Purged:
    """A video purged for good, as the command line reports it."""

    id: str
    filename: str


def trash_days() -> int:
    """Days a video stays in the trash (``TRASH_DAYS``, checked at start-up); 0: no trash."""
    return int(current_app.config["TRASH_DAYS"])


def purge_at(video: Video) -> datetime:
    """When a trashed video is purged: ``TRASH_DAYS`` after it was moved there."""
    assert video.deleted_at is not None, "only a video in the trash is purged"
    return as_utc(video.deleted_at) + timedelta(days=trash_days())


def move_to_trash(video: Video, by: User, now: datetime | None = None) -> bool:
    """Take ``video`` out of the library; False when ``TRASH_DAYS`` is 0 and it was deleted for good instead.

    Whether ``by`` may delete it is the caller's check (as for a delete). A
    video moved to the trash meanwhile by another request is not found.
    """
    if trash_days() == 0:
        service.delete_video(video, by=by)
        return False
    moment = now or utcnow()
    video_id, filename, owner = video.id, video.filename, video.owner_name
    changed = _rows_changed(
        db.update(Video)
        .where(Video.id == video_id, Video.deleted_at.is_(None))
        .values(deleted_at=moment, deleted_by_id=by.id)
    )
    if not changed:
        raise errors.VideoNotFound()
    audit.info("video moved to trash: id=%s filename=%r owner=%s by=%s", video_id, filename, owner, by.username)
    return True


def get_trashed(video_id: str) -> Video:
    """A video in the trash; one in the library (or gone) is not found."""
    if not service.is_video_id(video_id):
        raise errors.VideoNotFound()
    video = db.session.scalar(db.select(Video).where(Video.id == video_id, Video.deleted_at.is_not(None)))
    if video is None:
        raise errors.VideoNotFound()
    return video


def _visible_to(caller: Caller) -> list[ColumnElement[bool]]:
    """The trashed videos ``caller`` may see, restore and purge: an admin's all, anyone else's their own."""
    if caller.role is Role.ADMIN:
        return [Video.deleted_at.is_not(None)]
    return [Video.deleted_at.is_not(None), Video.owner_id == caller.user.id]


def list_trash(listing: Listing, caller: Caller) -> Page:
    """A page of the trash the caller may act on, the most recently deleted first (``listing.sort`` is not used)."""
    check(caller, Action.DELETE)
    conditions = [*_visible_to(caller), *search_conditions(listing)]
    total = db.session.scalar(db.select(func.count()).select_from(Video).where(*conditions)) or 0
    items = db.session.scalars(
        db.select(Video)
        .where(*conditions)
        .order_by(Video.deleted_at.desc(), Video.id.desc())
        .limit(listing.per_page)
        .offset((listing.page - 1) * listing.per_page)
    ).all()
    return Page(items=list(items), total=total, page=listing.page, per_page=listing.per_page)


def trash_page(caller: Caller, limit: str | int | None = None, cursor: str | None = None) -> catalog.CatalogPage:
    """A page of the trash the caller may act on by cursor (v2), the most recently deleted first."""
    check(caller, Action.DELETE)
    size = catalog.CatalogQuery.parse(limit=limit).limit
    after = catalog.decode_cursor(cursor, catalog.TRASH_ORDER) if cursor else None
    conditions = _visible_to(caller)
    items, next_cursor = catalog.keyset_page(conditions, catalog.TRASH_ORDER, size, after)
    return catalog.CatalogPage(items=items, next_cursor=next_cursor, total=catalog.count(conditions))


def usage(caller: Caller) -> Usage:
    """What the trash the caller sees holds; nothing for a caller who may delete nothing."""
    if not caller.may(Action.DELETE):
        return Usage(count=0, bytes=0)
    count, size = db.session.execute(
        db.select(func.count(), func.coalesce(func.sum(Video.size + func.coalesce(Video.playable_size, 0)), 0))
        .select_from(Video)
        .where(*_visible_to(caller))
    ).one()
    return Usage(count=int(count), bytes=int(size))


def restore(video_id: str, caller: Caller) -> Video:
    """Put a trashed video back in the library as it was; a second restore (or one after a purge) is not found."""
    video = get_trashed(video_id)
    check(caller, Action.DELETE, video)
    changed = _rows_changed(
        db.update(Video)
        .where(Video.id == video.id, Video.deleted_at.is_not(None))
        .values(deleted_at=None, deleted_by_id=None)
    )
    if not changed:
        raise errors.VideoNotFound()
    audit.info("video restored: id=%s filename=%r by=%s", video.id, video.filename, caller.username)
    db.session.refresh(video)
    return video


def purge(video_id: str, caller: Caller) -> Purged:
    """Delete a trashed video for good, row and every stored object."""
    video = get_trashed(video_id)
    check(caller, Action.DELETE, video)
    purged = Purged(id=video.id, filename=video.filename)
    _purge(video, by=caller.username)
    return purged


def check_may_empty(caller: Caller) -> None:
    """Emptying the trash is an admin's to do, since it holds everyone's videos."""
    check(caller, Action.DELETE)
    if caller.role is not Role.ADMIN:
        raise errors.Forbidden(f"Emptying the trash needs the admin role; {caller.username} is not an admin.")


def empty_trash(caller: Caller) -> list[Purged]:
    """Purge the whole trash (:func:`check_may_empty`)."""
    check_may_empty(caller)
    return purge_all(by=caller.username)


def purge_all(by: str) -> list[Purged]:
    """Purge every video in the trash, whatever its age (``trash purge --all``, Empty trash)."""
    return _purge_where(Video.deleted_at.is_not(None), by=by)


def purge_expired(now: datetime | None = None) -> list[Purged]:
    """Purge the videos trashed ``TRASH_DAYS`` or more before ``now``: the periodic job, ``trash purge``, ``cleanup``."""
    cutoff = (now or utcnow()) - timedelta(days=trash_days())
    return _purge_where(Video.deleted_at <= cutoff, by="retention")


def _purge_where(condition: ColumnElement[bool], by: str) -> list[Purged]:
    """Purge each trashed video matching ``condition``, oldest first; one restored or purged meanwhile is skipped."""
    ids = db.session.scalars(db.select(Video.id).where(condition).order_by(Video.deleted_at, Video.id)).all()
    purged = []
    for video_id in ids:
        video = db.session.get(Video, video_id)
        if video is None or not video.in_trash:
            continue
        filename = video.filename
        try:
            _purge(video, by=by)
        except errors.VideoNotFound:
            continue
        purged.append(Purged(id=video_id, filename=filename))
    return purged


def _purge(video: Video, by: str) -> None:
    """Remove the row (and its share links) if it is still in the trash, then every object of the video."""
    keys = video.own_keys
    video_id, filename, owner = video.id, video.filename, video.owner_name
    # Share links and tags go with their video; a bulk DELETE does not cascade on SQLite, so they are named here
    # (the links by their own floor, :mod:`portal.sharing.events`).
    events.publish(events.video_purging, video_id=video_id)
    db.session.execute(db.delete(VideoTag).where(VideoTag.video_id == video_id))
    db.session.execute(db.delete(Caption).where(Caption.video_id == video_id))
    result = db.session.execute(db.delete(Video).where(Video.id == video_id, Video.deleted_at.is_not(None)))
    assert isinstance(result, CursorResult)
    if result.rowcount == 0:
        db.session.rollback()
        raise errors.VideoNotFound()
    # Decided in this transaction, under the original's row lock: its object goes only with its last video.
    keys += originals.release(video)
    db.session.commit()
    audit.info("video purged: id=%s filename=%r owner=%s by=%s", video_id, filename, owner, by)
    service.remove_stored_objects(video_id, keys)


def _rows_changed(statement: Update) -> int:
    """Run one UPDATE and commit it; how many rows it changed (0: another request got there first)."""
    result = db.session.execute(statement)
    # What an UPDATE gives back, though Session.execute is typed as any statement's Result.
    assert isinstance(result, CursorResult)
    db.session.commit()
    return result.rowcount

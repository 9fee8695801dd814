"""Storage quotas: what each user uses, what they may use, and the room an upload must fit in.

Usage is what a user would need if nothing were shared: the size of each of
their videos (the trash included, until it is purged) plus the declared
length of each of their resumable uploads still in progress, so that a tus
upload reserves its room when it is created rather than at its last chunk.
:func:`usage_of` is the one definition; every page, answer and check reads it.

A quota is the user's own (``users.quota_bytes``), none at all
(``users.quota_unlimited``), or, when the row says neither, the
``PORTAL_DEFAULT_QUOTA`` setting (unset: unlimited). Admins have one too.

It reads the rows of users, videos and uploads (to add up their sizes), so it
lives here, above :mod:`portal.accounts` and :mod:`portal.library`, beside the
uploads it holds to their room; it speaks no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select
from sqlalchemy import func

from ..accounts import service
from ..accounts.models import User
from ..config import SIZE_HINT
from ..config import parse_size
from ..config import size_setting
from ..errors import InvalidQuota
from ..errors import QuotaExceeded
from ..extensions import db
from ..library.models import Video
from ..library.models import utcnow
from .models import ResumableUpload

#: What ``set-quota`` and the users page take besides a size.
UNLIMITED = "none"
DEFAULT = "default"


def default_quota() -> int | None:
    """PORTAL_DEFAULT_QUOTA in bytes; None: unlimited."""
    return size_setting(current_app.config["DEFAULT_QUOTA"])


def quota_of(user: User) -> int | None:
    """The bytes ``user`` may use; None: unlimited."""
    if user.quota_unlimited:
        return None
    return user.quota_bytes if user.quota_bytes is not None else default_quota()


def _uploads_in_progress() -> list[object]:
    """The conditions of a resumable upload whose declared length counts: not finished, not expired."""
    return [ResumableUpload.video_id.is_(None), ResumableUpload.expires_at > utcnow()]


def usage_of(user: User, excluding_upload: str | None = None) -> int:
    """The bytes ``user`` uses (see the module's docstring); ``excluding_upload``: leave that tus upload out."""
    videos = db.select(func.coalesce(func.sum(Video.size), 0)).where(Video.owner_id == user.id)
    uploads = db.select(func.coalesce(func.sum(ResumableUpload.length), 0)).where(
        ResumableUpload.owner_id == user.id, *_uploads_in_progress()
    )
    if excluding_upload is not None:
        uploads = uploads.where(ResumableUpload.id != excluding_upload)
    return int(db.session.scalar(videos) or 0) + int(db.session.scalar(uploads) or 0)


@dataclass(frozen=True)
class Usage:
    """One user's line on the users page and in ``users list``."""

    user: User
    usage: int
    quota: int | None
    #: Videos in the library (the trash's are counted in ``usage``, not here).
    video_count: int

    @classmethod
    def of(cls, user: User) -> Usage:
        return cls(user=user, usage=usage_of(user), quota=quota_of(user), video_count=video_count_of(user))


def usage_of_everyone() -> list[Usage]:
    """Every user's usage, quota and video count, the largest usage first (then by name)."""
    videos = _per_owner(db.select(Video.owner_id, func.sum(Video.size)).group_by(Video.owner_id))
    counts = _per_owner(
        db.select(Video.owner_id, func.count()).where(Video.deleted_at.is_(None)).group_by(Video.owner_id)
    )
    uploads = _per_owner(
        db.select(ResumableUpload.owner_id, func.sum(ResumableUpload.length))
        .where(*_uploads_in_progress())
        .group_by(ResumableUpload.owner_id)
    )
    rows = [
        Usage(
            user=user,
            usage=videos.get(user.id, 0) + uploads.get(user.id, 0),
            quota=quota_of(user),
            video_count=counts.get(user.id, 0),
        )
        for user in service.list_users()
    ]
    return sorted(rows, key=lambda row: (-row.usage, row.user.username_key))


def _per_owner(query: Select[Any]) -> dict[int, int]:
    """A grouped query's (owner id, number) rows as a mapping."""
    return {owner: int(number or 0) for owner, number in db.session.execute(query) if owner is not None}


def video_count_of(user: User) -> int:
    """The user's videos in the library (not the trash)."""
    count = db.select(func.count()).select_from(Video).where(Video.owner_id == user.id, Video.deleted_at.is_(None))
    return int(db.session.scalar(count) or 0)


def parse_quota(text: str) -> int | str:
    """A quota as typed: bytes or a size with a unit, :data:`UNLIMITED` or :data:`DEFAULT`."""
    cleaned = text.strip().lower()
    if cleaned in (UNLIMITED, DEFAULT):
        return cleaned
    try:
        return parse_size(text)
    except ValueError:
        raise InvalidQuota(
            f"A quota is {SIZE_HINT}, '{UNLIMITED}' for unlimited, or '{DEFAULT}' for PORTAL_DEFAULT_QUOTA's; "
            f"got {text!r}."
        ) from None


def set_quota(username: str, text: str) -> User:
    """Give ``username`` a quota as :func:`parse_quota` reads it; videos already stored stay, whatever it is."""
    quota = parse_quota(text)
    user = service.get_user(username)
    user.quota_unlimited = quota == UNLIMITED
    user.quota_bytes = quota if isinstance(quota, int) else None
    db.session.commit()
    return user


class Room:
    """The room one request's uploads have under their owner's quota, taken as their bytes arrive.

    Asked once per request (the usage is one query), then every chunk is
    counted against it, so that an upload whose size was not declared is
    stopped at the first byte past the quota, before it is stored; several
    files of one form share it.
    """

    def __init__(self, user: User, usage: int, quota: int) -> None:
        self.user = user
        self.usage = usage
        self.quota = quota
        self.received = 0

    def check(self, size: int) -> None:
        """Refuse a file of ``size`` bytes, declared before any of it arrives, that does not fit."""
        if self.usage + self.received + size > self.quota:
            raise QuotaExceeded(self.usage + self.received, self.quota, size)

    def take(self, count: int, file_size: int) -> None:
        """``count`` more bytes arrived of a file now ``file_size`` long; refused from the first byte past the quota."""
        self.received += count
        if self.usage + self.received > self.quota:
            raise QuotaExceeded(self.usage + self.received - file_size, self.quota, file_size)

    def confirm(self, size: int) -> None:
        """Ask again just before a file of ``size`` bytes becomes a video: uploads of the same user that
        finished meanwhile (other requests, other processes) count now, and so does a quota lowered since."""
        db.session.refresh(self.user)
        check_room(self.user, size)


def room_for(user: User, excluding_upload: str | None = None) -> Room | None:
    """The room ``user`` has now; None when their quota is unlimited."""
    quota = quota_of(user)
    if quota is None:
        return None
    return Room(user, usage_of(user, excluding_upload), quota)


def check_room(user: User, size: int, excluding_upload: str | None = None) -> None:
    """Refuse, with :class:`~portal.errors.QuotaExceeded`, ``size`` more bytes that ``user``'s quota has no room for."""
    room = room_for(user, excluding_upload)
    if room is not None:
        room.check(size)

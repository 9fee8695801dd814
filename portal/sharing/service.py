"""Share links: made by anyone who may watch a video, opened by anyone who has the link.

A link's token is random (192 bits) and shown once, when it is made; only its
SHA-256 is kept, so a copy of the database opens nothing. A link opens its one
video until it expires or is revoked, and stops working at once when the user
who made it is disabled (as their API tokens do). Links made and revoked are
logged to ``portal.audit``, never with the token. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta

from sqlalchemy import select

from .. import errors
from ..accounts.models import Role
from ..accounts.models import User
from ..accounts.models import utcnow
from ..accounts.service import token_hash
from ..extensions import MAX_ROW_ID
from ..extensions import db
from ..library.models import Video
from ..library.models import as_utc
from .models import ShareLink

audit = logging.getLogger("portal.audit")

MIN_DAYS = 1
MAX_DAYS = 90
DEFAULT_DAYS = 7
#: 24 random bytes: 192 bits, beyond guessing; 32 characters in the URL.
TOKEN_BYTES = 24
#: Longer than any token made here: a longer one is refused before it is hashed.
MAX_TOKEN_LENGTH = 128


def _check_days(days: object) -> int:
    if days is None:
        return DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise errors.InvalidShareDays(MIN_DAYS, MAX_DAYS)
    return days


def create_share(video: Video, by: User, days: int | None = None) -> tuple[ShareLink, str]:
    """A new link to ``video`` lasting ``days`` (1 to 90, default 7), and its token, which is not kept.

    Whether ``by`` may watch the video (and so share it) is the caller's check.
    """
    lifetime = _check_days(days)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    share = ShareLink(
        video=video,
        created_by=by,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=lifetime),
    )
    db.session.add(share)
    db.session.commit()
    audit.info(
        "share created: id=%s video=%s by=%s expires=%s",
        share.id, video.id, by.username, share.expires_at.isoformat(),
    )
    return share, token


def list_shares(video: Video) -> list[ShareLink]:
    """The links to ``video`` not revoked, oldest first, expired ones included (their ``expires_at`` says so).

    Revoked links are left out: they can never work again. An expired one is
    still listed, so that its maker sees it ran out rather than wondering where it went.
    """
    query = (
        select(ShareLink)
        .where(ShareLink.video_id == video.id, ShareLink.revoked_at.is_(None))
        .order_by(ShareLink.created_at, ShareLink.id)
    )
    return list(db.session.scalars(query))


def is_expired(share: ShareLink) -> bool:
    return as_utc(share.expires_at) <= utcnow()


def may_revoke(share: ShareLink, user: User) -> bool:
    """The video's owner may revoke any link to it, and so may its maker and any admin."""
    return user.id in (share.created_by_id, share.video.owner_id) or user.role == Role.ADMIN.value


def revoke_refused(maker: str, caller: str) -> errors.Forbidden:
    return errors.Forbidden(
        f"Only the video's owner, the one who made this share link ({maker}) or an admin may revoke it; {caller} is none of them."
    )


def revoke_share(share_id: int, by: User) -> ShareLink:
    """Revoke a link for good (see :func:`may_revoke`); a link already revoked is not found."""
    share = db.session.get(ShareLink, share_id) if isinstance(share_id, int) and 0 < share_id <= MAX_ROW_ID else None
    if share is None or share.revoked_at is not None:
        raise errors.ShareNotFound()
    if not may_revoke(share, by):
        raise revoke_refused(share.created_by.username, by.username)
    share.revoked_at = utcnow()
    db.session.commit()
    audit.info("share revoked: id=%s video=%s by=%s", share.id, share.video_id, by.username)
    return share


def open_share(token: str) -> ShareLink:
    """The link ``token`` opens, else :class:`~portal.errors.ShareLinkUnavailable` (unknown, expired, revoked, maker disabled,
    video in the trash).

    The link is found by the SHA-256 of the token (an index look-up that
    reveals nothing of the token), then the stored hash is compared in
    constant time, as for API tokens.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise errors.ShareLinkUnavailable()
    digest = token_hash(token)
    share = db.session.scalar(select(ShareLink).where(ShareLink.token_hash == digest))
    if share is None or not hmac.compare_digest(share.token_hash, digest):
        raise errors.ShareLinkUnavailable()
    # A video in the trash is out of reach of its links too; a restore brings them back.
    if share.revoked_at is not None or is_expired(share) or share.created_by.disabled or share.video.in_trash:
        raise errors.ShareLinkUnavailable()
    return share

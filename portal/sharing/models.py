"""Rows of share links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import backref
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from ..accounts.models import User
from ..accounts.models import utcnow
from ..extensions import Model
from ..library.models import Video


class ShareLink(Model):
    """``/s/<token>`` opens ``video`` until ``expires_at``; only the SHA-256 of the token is kept."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    #: Deleting a video deletes its links with it (on SQLite too, where foreign keys are not enforced).
    video: Mapped[Video] = relationship(backref=backref("share_links", cascade="all, delete-orphan"))
    created_by: Mapped[User] = relationship()

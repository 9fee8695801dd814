"""Rows of resumable (tus) uploads: what every process needs to continue an upload another one started."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..accounts.models import utcnow
from ..extensions import Model


class ResumableUpload(Model):
    """An unfinished upload of ``length`` bytes, ``offset`` of them stored so far.

    The state lives here rather than in a process's memory, so that a restarted portal or
    another worker process continues where the last PATCH stopped; ``storage_state`` is what
    the storage backend needs for that (an S3 multipart upload id and its parts), as JSON.

    The video it becomes takes the upload's ``id`` (its bytes go under that video's key from
    the start); ``video_id`` is set once the video's row exists. ``locked_until`` is the lease
    of the one request writing to it: a process killed mid-PATCH holds it no longer than that.
    """

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    storage_state: Mapped[str | None] = mapped_column(Text)
    video_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

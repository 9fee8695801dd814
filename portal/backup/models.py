"""Rows of scheduled backups: when each started and ended, how, and the backup it made."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from ..accounts.models import utcnow
from ..extensions import Model


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Left ``running`` by a process that died (kill -9, a crash): found so by the next run, under the lock.
    INTERRUPTED = "interrupted"


class BackupRun(Model):
    """One scheduled backup, written when it starts and again when it ends, so a page can show either."""

    __tablename__ = "backup_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    #: The backup's id in its destination (``backup list``), once its manifest is written.
    backup_id: Mapped[str | None] = mapped_column(String(64))
    #: What it did (objects copied, backups pruned), or why it failed.
    message: Mapped[str | None] = mapped_column(Text)

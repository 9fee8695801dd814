"""What share links do on the library's events (:mod:`portal.events`): a purged video's links go with it."""

from __future__ import annotations

from flask import Flask

from .. import events
from ..extensions import db
from .models import ShareLink


def connect(app: Flask) -> None:
    events.video_purging.connect(delete_links, sender=app)


def delete_links(app: Flask, video_id: str) -> None:
    """Delete the video's share links in the purge's transaction, before its row (they point to it)."""
    db.session.execute(db.delete(ShareLink).where(ShareLink.video_id == video_id))

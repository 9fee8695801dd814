"""What the library does on the events of the floors below it (:mod:`portal.events`)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .. import events
from .service import adopt_ownerless_videos


def connect(app: Flask) -> None:
    events.became_admin.connect(adopt_videos, sender=app)


def adopt_videos(app: Flask, user: Any) -> None:
    """The first admin (and any later one, while videos without an owner are left) adopts them."""
    adopt_ownerless_videos(user)

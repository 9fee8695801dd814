"""Links to a video's pages, built once per request and reused for every video.

``url_for`` walks the URL map on every call; a page of 100 videos needs
hundreds of links that differ only in the id. The link is built once with a
placeholder for the id, then the placeholder is replaced.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import g
from flask import url_for
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map

from ..extensions import MAX_ROW_ID


class RowIdConverter(IntegerConverter):
    """``<row_id:name>``: a positive integer a database row can have; any other number is no route (404).

    With a plain ``int``, an id past what the column holds reached the database and failed there
    with a 500 (SQLite: past 64 bits; PostgreSQL: past 32).
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ROW_ID)

#: Stands for the id while a link is built; ids are UUIDs, so it never occurs in one.
_ID_SLOT = "__video_id__"


def share_link(endpoint: str, token: str) -> str:
    """The absolute URL of a share link's page (or its stream, poster): on ``PORTAL_BASE_URL`` when set.

    Otherwise from the request, whose ``Host`` the client chose: behind a proxy that passes any
    Host on, a link made with ``Host: evil.com`` would point there.
    """
    base = current_app.config["BASE_URL"]
    if base:
        return base.rstrip("/") + url_for(endpoint, token=token)
    return url_for(endpoint, token=token, _external=True)


def video_link(endpoint: str, video_id: str, external: bool = False) -> str:
    """``url_for(endpoint, video_id=video_id, _external=external)``, from a per-request template."""
    templates: dict[tuple[str, bool], str] = g.setdefault("video_link_templates", {})
    template = templates.get((endpoint, external))
    if template is None:
        template = templates[endpoint, external] = url_for(endpoint, video_id=_ID_SLOT, _external=external)
    return template.replace(_ID_SLOT, video_id)

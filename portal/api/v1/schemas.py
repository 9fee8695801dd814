"""How v1 shows a video as JSON. Changing a field here is a v1 contract change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g
from flask import url_for

from ...models import Video
from ...models import as_utc
from ...videos import Page


def iso8601(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")


#: Stands for the id while a link is built once per request; ids are UUIDs, so it never occurs in one.
_ID_SLOT = "__video_id__"


def _link_templates() -> tuple[str, str]:
    """The file and content links with a slot for the id, built once per request.

    ``url_for`` walks the URL map on every call; a page of 100 files needs 200
    links that differ only in the id.
    """
    templates = g.get("api_v1_link_templates")
    if templates is None:
        templates = (
            url_for("api_v1.get_file", video_id=_ID_SLOT, _external=True),
            url_for("api_v1.download_file", video_id=_ID_SLOT, _external=True),
        )
        g.api_v1_link_templates = templates
    return templates


def file_json(video: Video) -> dict[str, Any]:
    url, content_url = _link_templates()
    return {
        "id": video.id,
        "filename": video.filename,
        "content_type": video.content_type,
        "size": video.size,
        "sha256": video.sha256,
        "status": video.status,
        "created_at": iso8601(video.created_at),
        "verified_at": iso8601(video.verified_at),
        "url": url.replace(_ID_SLOT, video.id),
        "content_url": content_url.replace(_ID_SLOT, video.id),
    }


def page_json(page: Page) -> dict[str, Any]:
    return {
        "items": [file_json(video) for video in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }

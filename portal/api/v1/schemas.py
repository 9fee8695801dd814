"""How v1 shows a video as JSON. Changing a field here is a v1 contract change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...http.links import video_link
from ...library.listing import Page
from ...library.models import Video
from ...library.models import as_utc


def iso8601(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def file_json(video: Video) -> dict[str, Any]:
    return {
        "id": video.id,
        "filename": video.filename,
        "content_type": video.content_type,
        "size": video.size,
        "sha256": video.sha256,
        "status": video.status,
        "created_at": iso8601(video.created_at),
        "verified_at": iso8601(video.verified_at),
        "owner": video.owner_name,
        "url": video_link("api_v1.get_file", video.id, external=True),
        "content_url": video_link("api_v1.download_file", video.id, external=True),
    }


def page_json(page: Page) -> dict[str, Any]:
    return {
        "items": [file_json(video) for video in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }

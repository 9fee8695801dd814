"""How v2 shows a video, a page of them and a share link as JSON."""

from __future__ import annotations

from typing import Any

from ...errors import PlaybackNotReady
from ...http.links import video_link
from ...library import trash
from ...library.catalog import CatalogPage
from ...library.models import Video
from ...library.service import playback_of
from ..v1.schemas import iso8601
from ..v1.schemas import media_json


def video_json(video: Video) -> dict[str, Any]:
    return {
        "id": video.id,
        "title": video.display_title,
        "description": video.description,
        "tags": video.tags,
        "filename": video.filename,
        "content_type": video.content_type,
        "size": video.size,
        "sha256": video.sha256,
        "status": video.status,
        "owner": video.owner_name,
        "created_at": iso8601(video.created_at),
        "updated_at": iso8601(video.updated_at or video.created_at),
        "verified_at": iso8601(video.verified_at),
        "media": media_json(video),
        "processing": {"state": video.processing_state, "error": video.processing_error},
        "playback": playback_json(video),
        "links": links_json(video),
    }


def links_json(video: Video) -> dict[str, str]:
    return {
        "self": video_link("api_v2.get_video", video.id, external=True),
        "content": video_link("api_v2.download_video", video.id, external=True),
        "playback": video_link("api_v2.play_video", video.id, external=True),
        "poster": video_link("api_v2.get_poster", video.id, external=True),
        "shares": video_link("api_v2.list_shares", video.id, external=True),
    }


def playback_json(video: Video) -> dict[str, Any] | None:
    """What a player should load (as v1's ``playback``); None while the copy the video needs is being made."""
    try:
        stored = playback_of(video)
    except PlaybackNotReady:
        return None
    return {
        "url": video_link("api_v2.play_video", video.id, external=True),
        "content_type": stored.content_type,
        "source": "copy" if stored.playable_copy else "original",
        "sha256": stored.sha256,
    }


def trashed_video_json(video: Video) -> dict[str, Any]:
    """The video's JSON, and when it was deleted, by whom, and when it will be purged."""
    return {
        **video_json(video),
        "deleted_at": iso8601(video.deleted_at),
        "deleted_by": video.deleted_by.username if video.deleted_by is not None else None,
        "purge_at": iso8601(trash.purge_at(video)),
    }


def page_json(page: CatalogPage, item: Any = video_json) -> dict[str, Any]:
    return {
        "items": [item(video) for video in page.items],
        "next_cursor": page.next_cursor,
        "total": {"value": page.total.value, "relation": "eq" if page.total.exact else "gte"},
    }


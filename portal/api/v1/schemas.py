"""How v1 shows a video as JSON. Changing a field here is a v1 contract change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import PlaybackNotReady
from ...http.links import video_link
from ...library.listing import Page
from ...library.models import Video
from ...library.models import as_utc
from ...library.service import playback_of


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
        "media": media_json(video),
        "processing": {"state": video.processing_state, "error": video.processing_error},
        "playback": playback_json(video),
    }


def playback_json(video: Video) -> dict[str, Any] | None:
    """What a player should load; None while the copy the video needs is being made (or could not be)."""
    try:
        stored = playback_of(video)
    except PlaybackNotReady:
        return None
    return {
        "url": video_link("api_v1.playback_file", video.id, external=True),
        "content_type": stored.content_type,
        "source": "copy" if stored.playable_copy else "original",
        "sha256": stored.sha256,
    }


def media_json(video: Video) -> dict[str, Any] | None:
    """What probing found; None until the file has been probed."""
    if not video.has_facts:
        return None
    return {
        "duration": video.duration,
        "width": video.width,
        "height": video.height,
        "video_codec": video.video_codec,
        "audio_codec": video.audio_codec,
        "audio_tracks": video.audio_tracks,
        "frame_rate": video.frame_rate,
        "bit_rate": video.bit_rate,
        "container": video.container,
    }


def page_json(page: Page) -> dict[str, Any]:
    return {
        "items": [file_json(video) for video in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }

"""Routes of /api/v2 for a video's captions: list them, and get, add or replace, and remove one per language.

A caption is sent as the raw body of a PUT (the ``.vtt`` or ``.srt`` file as it
is, any content type) with its ``label`` as a query parameter. Replacing or
removing one takes ``If-Match`` with its ETag, as a change of the video's
details does: 428 without it, 412 when it names another version.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request
from flask import url_for

from ...accounts.permissions import Action
from ...errors import InvalidInput
from ...http.auth import caller_required
from ...http.auth import requires
from ...http.auth import viewable
from ...http.delivery import send_caption
from ...library import captions
from ...library import service
from ...library.models import Caption
from ...library.models import Video
from ...uploads.request import portal_request
from ...uploads.request import takes_small_file
from . import bp
from .schemas import iso8601

CAPTION_HINT = "Send the .vtt or .srt file as the body, with ?label= naming it for the player's menu."


def caption_json(video: Video, caption: Caption) -> dict[str, Any]:
    return {
        "language": caption.language,
        "label": caption.label,
        "url": url_for("api_v2.get_caption", video_id=video.id, language=caption.language, _external=True),
        "source": caption.source,
        "size": caption.size,
        "sha256": caption.sha256,
        "created_at": iso8601(caption.created_at),
    }


@bp.get("/videos/<video_id>/captions")
@viewable
def list_captions(video_id: str) -> Response:
    video = service.get_video(video_id)
    return jsonify({"items": [caption_json(video, caption) for caption in captions.list_captions(video)]})


@bp.get("/videos/<video_id>/captions/<language>")
@viewable
def get_caption(video_id: str, language: str) -> Response:
    """The WebVTT, as ``text/vtt; charset=utf-8`` with ``nosniff``; its ETag is its SHA-256."""
    return send_caption(captions.get_caption(service.get_video(video_id), language))


def caption_body() -> bytes:
    """The caption file of the request: its raw body, or a multipart field ``file`` (read up to one byte past the limit)."""
    if request.mimetype == "multipart/form-data":
        part = portal_request().files.get("file")
        if part is None:
            raise InvalidInput(f"No caption file was sent: put it in the multipart field 'file'. {CAPTION_HINT}")
        return part.stream.getvalue()  # type: ignore[attr-defined]
    raw = request.stream.read(captions.MAX_CAPTION_BYTES + 1)
    if not raw:
        raise InvalidInput(f"The body is empty. {CAPTION_HINT}")
    return raw


@bp.put("/videos/<video_id>/captions/<language>")
@takes_small_file(captions.MAX_CAPTION_BYTES, captions.caption_too_large)
@requires(Action.EDIT)
def put_caption(video_id: str, language: str) -> tuple[Response, int, dict[str, str]]:
    """201 with ``Location`` for a new caption, 200 for a replaced one; its ETag either way."""
    video = service.get_video(video_id)
    label = request.form.get("label") if request.mimetype == "multipart/form-data" else None
    caption, created = captions.put_caption(
        video,
        language,
        label or request.args.get("label"),
        caption_body(),
        by=caller_required(),
        if_match=request.headers.get("If-Match"),
    )
    body = caption_json(video, caption)
    headers = {"ETag": captions.etag_of(caption)}
    if created:
        headers["Location"] = body["url"]
    return jsonify(body), 201 if created else 200, headers


@bp.delete("/videos/<video_id>/captions/<language>")
@requires(Action.EDIT)
def delete_caption(video_id: str, language: str) -> tuple[str, int]:
    video = service.get_video(video_id)
    captions.delete_caption(video, language, by=caller_required(), if_match=request.headers.get("If-Match"))
    return "", 204

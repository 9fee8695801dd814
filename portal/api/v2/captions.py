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
from ...errors import CaptionNotFound
from ...errors import CaptionVersionRequired
from ...errors import FileUnavailable
from ...errors import InvalidInput
from ...errors import InvalidLanguage
from ...errors import PortalError
from ...errors import StaleCaption
from ...errors import VideoNotFound
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
from ..models import BINARY
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from . import bp
from .models import CAPTION_ETAG
from .models import Caption as CaptionModel
from .models import CaptionIfMatch
from .models import CaptionIfMatchRequired
from .models import CaptionList
from .models import CaptionQuery
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


def _refused_files() -> list[PortalError]:
    """Why a caption file is refused (nothing is stored): the service's own messages."""
    refused: list[PortalError] = []
    for raw in (b"caf\xe9", b"just words", b"1\n00:00:05,000 --> 00:00:02,000\nx\n"):
        try:
            captions.normalise(raw)
        except PortalError as error:
            refused.append(error)
    return refused


def _put_refusals() -> list[PortalError]:
    return [
        InvalidInput(f"The body is empty. {CAPTION_HINT}"),
        InvalidLanguage(f"'english!' is not a language tag: give {captions.LANGUAGE_HINT}."),
        VideoNotFound(), StaleCaption(), captions.caption_too_large(), *_refused_files(), CaptionVersionRequired(),
        CaptionVersionRequired(captions.STAR_NAMES_NO_CAPTION),
    ]


@bp.get("/videos/<video_id>/captions")
@viewable
@operation("The video's captions", tags=["captions"], answers={200: Answer(CaptionList, "Every caption, by language.")},
           errors=lambda: [VideoNotFound()])
def list_captions(video_id: str) -> Response:
    video = service.get_video(video_id)
    return jsonify({"items": [caption_json(video, caption) for caption in captions.list_captions(video)]})


@bp.get("/videos/<video_id>/captions/<language>")
@viewable
@operation("One caption, as WebVTT", tags=["captions"], touches_bytes=True, answers={
    200: Answer(description="The WebVTT (`text/vtt; charset=utf-8`, `X-Content-Type-Options: nosniff`).",
                headers=CAPTION_ETAG, content={"text/vtt": {"schema": {"type": "string"}}}),
    304: Answer(description="`If-None-Match` names the current caption."),
}, errors=lambda: [VideoNotFound(), CaptionNotFound(),
                   FileUnavailable("The stored 'en' caption no longer matches its SHA-256, so it is not served.")])
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
@operation(
    "Add or replace the caption in a language", tags=["captions"], query=CaptionQuery, headers=CaptionIfMatch,
    body=Body({"text/plain": {"type": "string"}, "application/octet-stream": BINARY},
              description="The file as it is, under any content type (`text/vtt`, `application/x-subrip`, ...)."),
    answers={200: Answer(CaptionModel, "Replaced.", headers=CAPTION_ETAG),
             201: Answer(CaptionModel, "Added.", headers={**CAPTION_ETAG, "Location": {"schema": {"type": "string"}}})},
    touches_bytes=True, errors=_put_refusals,
    description=f"{CAPTION_HINT} The file is SRT or WebVTT, UTF-8 (or UTF-16 with a byte-order mark), at most "
    f"{captions.MAX_CAPTION_BYTES // (1024 * 1024)} MiB; it is kept as normalised WebVTT. Replacing a caption needs "
    "`If-Match` with its ETag (428 without or with `*`, 412 for another version). The owner's or an admin's to do.",
)
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
@operation("Remove the caption in a language", tags=["captions"], headers=CaptionIfMatchRequired, touches_bytes=True,
           answers={204: Answer(description="Removed, with its stored WebVTT.")},
           errors=lambda: [VideoNotFound(), CaptionNotFound(), StaleCaption(), CaptionVersionRequired(),
                           CaptionVersionRequired(captions.STAR_NAMES_NO_CAPTION)])
def delete_caption(video_id: str, language: str) -> tuple[str, int]:
    video = service.get_video(video_id)
    captions.delete_caption(video, language, by=caller_required(), if_match=request.headers.get("If-Match"))
    return "", 204

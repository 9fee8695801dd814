"""Captions in the browser: add, replace and remove them on a video's page, and the player's tracks.

The forms post a small file (:func:`~portal.uploads.request.takes_small_file`:
kept in memory, never in storage) with the form's CSRF token; every rule is
the captions service's, and what it refuses comes back as a flashed message
saying what to fix. The player offers each caption as a ``<track>``; the one
in the browser's language (``Accept-Language``) is its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from ..accounts.permissions import Action
from ..errors import CaptionTooLarge
from ..errors import CaptionVersionRequired
from ..errors import InvalidCaption
from ..errors import InvalidInput
from ..errors import StaleCaption
from ..http.auth import caller_required
from ..http.auth import requires
from ..http.auth import viewable
from ..http.delivery import send_caption
from ..library import captions
from ..library import service
from ..library.models import Video
from ..uploads.request import takes_small_file
from .forms import CaptionForm
from .forms import RemoveCaptionForm
from .forms import ReplaceCaptionForm
from .views import bp

#: What the service refuses that the person can fix in the form.
REFUSALS = (InvalidInput, InvalidCaption, CaptionTooLarge, StaleCaption, CaptionVersionRequired)


@dataclass(frozen=True)
class Track:
    """One ``<track>`` of a player."""

    src: str
    language: str
    label: str
    default: bool


@bp.app_template_global()
def caption_tracks(video: Video, endpoint: str, **url_values: Any) -> list[Track]:
    """The video's captions as tracks whose ``src`` is ``endpoint``'s; the default is the browser's language, if any is."""
    listed = captions.list_captions(video)
    default = captions.best_language(listed, list(request.accept_languages))
    return [
        Track(url_for(endpoint, language=caption.language, **url_values), caption.language, caption.label,
              caption.language == default)
        for caption in listed
    ]


@bp.app_template_global()
def caption_forms() -> dict[str, CaptionForm | ReplaceCaptionForm | RemoveCaptionForm]:
    """The forms of a video page's captions section (each carries the CSRF token)."""
    return {"add": CaptionForm(), "replace": ReplaceCaptionForm(), "remove": RemoveCaptionForm()}


bp.add_app_template_global(captions.etag_of, "caption_etag")


def _file_of(form: CaptionForm | ReplaceCaptionForm) -> bytes:
    part = form.file.data
    if part is None or not part.filename:
        raise InvalidInput("Choose a caption file (.vtt or .srt) to send.")
    return part.stream.getvalue()


def _back(video_id: str) -> BaseResponse:
    return redirect(url_for("web.video", video_id=video_id, _anchor="captions"), 303)


@bp.get("/videos/<video_id>/captions/<language>")
@viewable
def caption(video_id: str, language: str) -> Response:
    return send_caption(captions.get_caption(service.get_video(video_id), language))


def _put_and_tell(
    video: Video, language: str, label: str | None, form: CaptionForm | ReplaceCaptionForm, if_match: str | None, verb: str
) -> BaseResponse:
    """Store the form's caption file and say how it went (``verb``: "added", "replaced") in a flashed message."""
    try:
        caption, _created = captions.put_caption(video, language, label, _file_of(form), by=caller_required(), if_match=if_match)
    except CaptionVersionRequired:
        flash("This video has a caption in that language already: use its Replace, or remove it first.", "error")
    except REFUSALS as error:
        flash(f"The caption was not {verb}: {error.message}", "error")
    else:
        flash(f"{verb.capitalize()} the caption “{caption.label}” ({caption.language}).", "success")
    return _back(video.id)


@bp.post("/videos/<video_id>/captions")
@takes_small_file(captions.MAX_CAPTION_BYTES, captions.caption_too_large)
@requires(Action.EDIT)
def add_caption(video_id: str) -> BaseResponse:
    """A new caption; a language that has one already is refused with a word about its Replace."""
    form = CaptionForm()
    return _put_and_tell(service.get_video(video_id), form.language.data or "", form.label.data, form, None, "added")


@bp.post("/videos/<video_id>/captions/<language>")
@takes_small_file(captions.MAX_CAPTION_BYTES, captions.caption_too_large)
@requires(Action.EDIT)
def replace_caption(video_id: str, language: str) -> BaseResponse:
    """A new file for a caption, keeping its language and label, if it is still the version the page showed."""
    video = service.get_video(video_id)
    current = captions.get_caption(video, language)
    form = ReplaceCaptionForm()
    return _put_and_tell(video, current.language, current.label, form, form.version.data, "replaced")


@bp.post("/videos/<video_id>/captions/<language>/remove")
@requires(Action.EDIT)
def remove_caption(video_id: str, language: str) -> BaseResponse:
    video = service.get_video(video_id)
    form = RemoveCaptionForm()
    try:
        captions.delete_caption(video, language, by=caller_required(), if_match=form.version.data)
    except REFUSALS as error:
        flash(f"The caption was not removed: {error.message}", "error")
    else:
        flash(f"Removed the caption in {language}.", "success")
    return _back(video_id)

"""Routes of the web pages: parse the request, call the library's service, render a page.

Every state change is a POST: Flask-WTF's ``CSRFProtect`` has checked its token
before any view here runs (a failure renders the "form expired" page), and every
GET only reads. Errors raised by the service reach the one handler in
:mod:`portal.http.errors`, which renders them as the site's error page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import Callable

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from .. import __version__
from ..accounts.permissions import Action
from ..accounts.permissions import check
from ..errors import InvalidDetails
from ..errors import InvalidInput
from ..errors import PortalError
from ..errors import StaleDetails
from ..errors import TooManyVerifies
from ..errors import UploadTooLarge
from ..errors import format_bytes
from ..http.auth import caller_required
from ..http.auth import current_caller
from ..http.auth import public
from ..http.auth import requires
from ..http.auth import viewable
from ..http.delivery import send_poster
from ..http.delivery import send_stored
from ..http.delivery import send_video
from ..http.links import video_link
from ..library import catalog
from ..library import integrity
from ..library import service
from ..library import trash
from ..library.formats import ACCEPTED_FORMATS
from ..library.formats import EXTENSIONS
from ..library.listing import Listing
from ..library.listing import default_per_page
from ..library.listing import library_size
from ..library.models import Video
from ..library.models import VideoStatus
from ..library.models import as_utc
from ..library.models import default_title
from ..sharing import service as sharing
from ..uploads import quota
from ..uploads.intake import upload_limit
from ..uploads.request import portal_request
from ..uploads.request import takes_uploads
from .components import icon
from .components import processing_badge
from .components import status_badge
from .flashes import bound_session_cookie
from .flashes import flash_group
from .forms import ActionForm
from .forms import DetailsForm
from .forms import ShareForm
from .forms import UploadForm
from .once import take_new_share

bp = Blueprint("web", __name__)
# Every answer, the API's and error pages too: a message flashed anywhere must not overflow the cookie.
bp.after_app_request(bound_session_cookie)

#: The library's sort choices (``?sort=``), as the service's sort keys.
LIBRARY_SORTS = {"newest": "-created_at", "name": "title", "size": "-size"}
DEFAULT_SORT = "newest"
#: A flashed message of this category, followed by a video's id, offers to undo its move to the trash.
UNDO_CATEGORY = "undo:"


@bp.app_context_processor
def site_context() -> dict[str, object]:
    # An app-wide processor, so that error pages rendered outside this blueprint get it too.
    return {"portal_version": __version__, "caller": current_caller(), "may": may, "undo_category": UNDO_CATEGORY}


def may(action: str, video: Video | None = None) -> bool:
    """Whether to show a control: the signed-in caller may do ``action`` (the server checks again)."""
    caller = current_caller()
    return caller is not None and caller.may(action, video)


bp.add_app_template_global(icon)
bp.add_app_template_global(status_badge)
bp.add_app_template_global(processing_badge)
bp.add_app_template_global(video_link)
bp.add_app_template_global(service.awaits_copy)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    return format_bytes(size)


@bp.app_template_filter("video_format")
def video_format(content_type: str) -> str:
    """The short name people know a container by: MP4, MOV, MKV, WEBM..."""
    extension = EXTENSIONS.get(content_type)
    return extension.lstrip(".").upper() if extension else content_type.split("/")[-1].upper()


@bp.app_template_filter("when")
def when(moment: datetime | None) -> str:
    """A moment as people read it, e.g. ``24 Nov 2026, 19:02 UTC``."""
    if moment is None:
        return "never"
    moment = as_utc(moment)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    """A duration as a player shows it: ``m:ss``, or ``h:mm:ss`` from an hour up."""
    if seconds is None:
        return "unknown"
    minutes, whole_seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole_seconds:02d}" if hours else f"{minutes}:{whole_seconds:02d}"


@bp.app_template_filter("bitrate")
def bitrate(bits_per_second: int | None) -> str:
    if bits_per_second is None:
        return "unknown"
    if bits_per_second >= 1_000_000:
        return f"{bits_per_second / 1_000_000:.1f} Mbit/s"
    return f"{bits_per_second / 1000:.0f} kbit/s"


@bp.app_template_filter("isotime")
def isotime(moment: datetime) -> str:
    return as_utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the library -------------------------------------------------------------


@bp.get("/")
@viewable
def library() -> str:
    """The library a page at a time, through the catalog: the search box looks in titles, descriptions,
    tags and file names; ``tag`` (repeatable) filters; pages follow each other by cursor, so a page deep
    in a million videos costs what the first does."""
    sort = request.args.get("sort") or DEFAULT_SORT
    if sort not in LIBRARY_SORTS:
        raise InvalidInput(f"Sort by one of: {', '.join(LIBRARY_SORTS)}.")
    per_page = Listing.parse(per_page=request.args.get("per_page")).per_page
    query = catalog.CatalogQuery.parse(
        text=request.args.get("q"),
        tags=request.args.getlist("tag"),
        sort=LIBRARY_SORTS[sort],
        limit=per_page,
        cursor=request.args.get("cursor"),
        processing=request.args.get("processing"),
        caller=current_caller(),
    )
    page = catalog.search(query)
    filtered = bool(query.text or query.tags or query.processing)
    caller = current_caller()
    return render_template(
        "videos/library.html",
        page=page,
        # Without a filter the exact size is one row away (:func:`library_size`); a search's total is capped.
        total=catalog.Total(value=library_size(), exact=True) if not filtered else page.total,
        filtered=filtered,
        paged=query.after is not None,
        trash_usage=trash.usage(caller) if caller is not None else None,
        storage_usage=quota.Usage.of(caller.user) if caller is not None else None,
        query=query.text,
        tags=query.tags,
        processing=query.processing,
        sort=sort,
        library_url=_library_url_keeping(query, sort, per_page),
    )


def _library_url_keeping(query: catalog.CatalogQuery, sort: str, per_page: int) -> Callable[..., str]:
    """Links to the library keeping the search, filters, order and page size, with only what differs from the defaults.

    ``cursor`` goes to the page after it; ``tags`` replaces the tag filters (a chip adds its tag to them).
    """
    params: dict[str, Any] = {}
    if query.text:
        params["q"] = query.text
    if sort != DEFAULT_SORT:
        params["sort"] = sort
    if per_page != default_per_page():
        params["per_page"] = per_page
    if query.processing:
        params["processing"] = query.processing

    def library_url(cursor: str | None = None, tags: tuple[str, ...] | list[str] = query.tags) -> str:
        values = {**params, "tag": list(tags)} if tags else dict(params)
        if cursor:
            values["cursor"] = cursor
        return url_for("web.library", **values)

    return library_url


@bp.app_template_global()
def shown_title(video: Video) -> str:
    """What a video is called on the pages: the title someone gave it, else its file name."""
    return video.title if video.title and video.title != default_title(video.filename) else video.filename


def page_numbers(current: int, pages: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and a few around the current one; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, current - around), min(pages, current + around) + 1)})
    numbers: list[int | None] = []
    shown_before: int | None = None
    for number in shown:
        if shown_before is not None and number - shown_before > 1:
            numbers.append(None)
        numbers.append(number)
        shown_before = number
    return numbers


# --- uploading ---------------------------------------------------------------


@bp.route("/upload", methods=["GET", "POST"])
@takes_uploads
@requires(Action.UPLOAD)
def upload() -> BaseResponse | str | tuple[str, int]:
    form = UploadForm()
    if request.method != "POST":
        return render_upload(form)
    if not form.validate():
        return render_upload(form), 400
    files: list[FileStorage] = form.file.data
    if len(files) == 1:
        # One file: any error is the answer (the site's error page, with its status).
        return uploaded(store(files[0]))
    return store_several(files)


def render_upload(form: UploadForm) -> str:
    limit = upload_limit()
    return render_template(
        "videos/upload.html",
        form=form,
        limit=limit,
        too_large_message=UploadTooLarge(limit).message,
        accepted_formats=ACCEPTED_FORMATS,
        chunk_bytes=min(int(current_app.config["UPLOAD_CHUNK_BYTES"]), limit),
    )


def store(file: FileStorage) -> Video:
    """Finish a file the request class already streamed into storage and hashed: no copy, no re-read."""
    return service.finish_upload(portal_request().incoming_for(file), file.filename, [], owner=caller_required().user)


def uploaded(video: Video) -> BaseResponse:
    """The plain form is sent on to the video's page; the progress bar script gets 201 and goes there itself.

    The script gets no flash message: it shows its own progress, and a batch of
    many files would pile messages up in the session cookie until it overflowed.
    """
    location = url_for("web.video", video_id=video.id)
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return Response(status=201, headers={"Location": location})
    flash(f"Uploaded “{video.filename}”.", "success")
    duplicate = service.duplicate_of(video, caller_required().user)
    if duplicate is not None:
        other = service.get_video(duplicate)
        page = url_for("web.video", video_id=other.id)
        flash(f"Its bytes are the same as those of “{other.filename}” ({page}), so they are stored once.", "info")
    return redirect(location, 303)


def store_several(files: list[FileStorage]) -> BaseResponse:
    """Keep every good file of a multi-file form and say which ones were refused, and why.

    One message per reason, naming a few files, so that the messages (kept in
    the session cookie until shown) stay small however many files were sent.
    """
    stored: list[Video] = []
    refused: dict[str, list[str]] = {}
    for file in files:
        try:
            stored.append(store(file))
        except PortalError as error:
            refused.setdefault(error.message, []).append(file.filename or "unnamed")
    count = sum(len(names) for names in refused.values())
    flash_group(
        [f"Not uploaded: {some_names(names)}. {message}" for message, names in refused.items()],
        "error",
        f"{count} files were refused" if count != 1 else "1 file was refused",
    )
    if not stored:
        return redirect(url_for("web.upload"), 303)
    named = some_names([video.filename for video in stored])
    flash(f"Uploaded {len(stored)} videos: {named}." if len(stored) > 1 else f"Uploaded {named}.", "success")
    return redirect(url_for("web.library"), 303)


#: How much of a file name a message shows: a message waits in the session cookie until it is
#: shown, and six 250-character CJK names made a cookie over the 4 KB browsers keep.
SHOWN_NAME_LENGTH = 40


def some_names(names: list[str], shown: int = 5) -> str:
    """``“a”, “b” and 3 more``: enough to recognise a batch, bounded in length."""
    listed = ", ".join(f"“{short_name(name)}”" for name in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def short_name(name: str) -> str:
    """A file name of at most :data:`SHOWN_NAME_LENGTH` characters, cut with an ellipsis."""
    return name if len(name) <= SHOWN_NAME_LENGTH else name[: SHOWN_NAME_LENGTH - 1] + "…"


# --- one video ---------------------------------------------------------------


@bp.get("/videos/<video_id>")
@viewable
def video(video_id: str) -> str | tuple[str, dict[str, str]]:
    """The video's page; right after "Create share link", with the new link shown once and kept by no cache."""
    video = service.get_video(video_id)
    new_share = take_new_share(video)
    if new_share is None:
        return render_video(video)
    page = render_video(video, new_share=new_share.share, new_share_url=new_share.url)
    return page, {"Cache-Control": "private, no-store"}


def render_video(video: Video, details_form: DetailsForm | None = None, **extra: object) -> str:
    """The video's page; its share links are listed to signed-in callers only (a visitor cannot share).

    An upload whose bytes were stored already links the first video with them
    that the caller may see (the same rule as the API's ``duplicate_of``).

    The form of its details is filled from the video as it is now, unless a
    refused save passes the caller's own input back.
    """
    caller = current_caller()
    shares = sharing.list_shares(video) if caller is not None and caller.may(Action.SHARE, video) else []
    same_bytes = service.duplicate_of(video, caller.user) if caller is not None else None
    return render_template(
        "videos/video.html",
        video=video,
        same_bytes=service.get_video(same_bytes) if same_bytes is not None else None,
        details_form=details_form or details_form_of(video),
        form=ActionForm(),
        share_form=ShareForm(),
        shares=shares,
        expired_shares={share.id for share in shares if sharing.is_expired(share)},
        revocable_shares={share.id for share in shares if caller is not None and sharing.may_revoke(share, caller.user)},
        **extra,
    )


def details_form_of(video: Video) -> DetailsForm:
    """The details form showing ``video``'s current details and naming their version."""
    return DetailsForm(
        formdata=None,
        data={
            "title": video.display_title,
            "description": video.description,
            "tags": ", ".join(video.tags),
            "version": catalog.etag_of(video),
        },
    )


@bp.post("/videos/<video_id>/details")
@requires(Action.EDIT)
def edit_details(video_id: str) -> BaseResponse | tuple[str, int]:
    """Save the title, description and tags, if nobody saved others since the form was filled (its ``version``).

    Someone else's save in between is not overwritten: the page comes back
    with their version in the form and a message saying so (409). A value
    the catalog refuses comes back with the caller's input and the reason (422).
    An empty title gives the video back its file name's.
    """
    video = service.get_video(video_id)
    check(current_caller(), Action.EDIT, video)
    form = DetailsForm()
    try:
        catalog.update_details(
            video,
            by=caller_required(),
            if_match=form.version.data or "",
            title=(form.title.data or "").strip() or None,
            description=form.description.data or "",
            tags=form.tag_list(),
        )
    except StaleDetails:
        current = service.get_video(video_id)  # the catalog has let go of the stale version: this is theirs
        flash(
            "Someone else saved changes to this video while you were editing. The form now shows their version: "
            "make your changes again and save.",
            "error",
        )
        return render_video(current), 409
    except InvalidDetails as error:
        return render_video(video, details_form=form, details_error=error.message), 422
    flash(f"Saved the details of “{shown_title(video)}”.", "success")
    return redirect(url_for("web.video", video_id=video_id), 303)


@bp.route("/videos/<video_id>/stream", methods=["GET", "HEAD"])
@viewable
def stream(video_id: str) -> Response:
    """The player's source (the playable copy when there is one), with ranges so that seeking skips ahead."""
    return send_stored(service.player_source(service.get_video(video_id)), "inline")


@bp.get("/videos/<video_id>/playback")
@viewable
def playback_state(video_id: str) -> Response:
    """Asked now and then by a page waiting for the copy: whether its player can be put in."""
    return player_state(service.get_video(video_id))


def player_state(video: Video) -> Response:
    """``{"ready": …, "processing": …}``: ready once the player has a source browsers play; never kept by a cache."""
    answer = jsonify(ready=not service.awaits_copy(video), processing=video.processing_state)
    answer.headers["Cache-Control"] = "private, no-store"
    return answer


@bp.get("/videos/<video_id>/poster")
@viewable
def poster(video_id: str) -> Response:
    """The picture of the library's card and the player's first picture."""
    return send_poster(service.get_video(video_id))


@bp.route("/videos/<video_id>/download", methods=["GET", "HEAD"])
@viewable
def download(video_id: str) -> Response:
    return send_video(service.get_video(video_id), "attachment")


@bp.post("/videos/<video_id>/verify")
def verify(video_id: str) -> BaseResponse:
    video = service.get_video(video_id)
    try:
        integrity.verify(video, by=caller_required().user)
    except TooManyVerifies as error:
        flash(error.message, "error")
        response = redirect(url_for("web.video", video_id=video.id), 303)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if video.status == VideoStatus.OK.value:
        flash(f"Checked: the stored bytes of “{video.filename}” match their SHA-256.", "success")
    elif video.status == VideoStatus.MISSING.value:
        flash(f"The stored bytes of “{video.filename}” are missing. Restore them from a backup or delete it.", "error")
    else:
        flash(f"The stored bytes of “{video.filename}” do not match their SHA-256: the file is damaged.", "error")
    return redirect(url_for("web.video", video_id=video.id), 303)


@bp.post("/videos/<video_id>/process")
@requires(Action.PROCESS)
def process(video_id: str) -> BaseResponse:
    """"Try again" after a failure: queue the video's processing anew (its owner's or an admin's)."""
    video = service.get_video(video_id)
    check(current_caller(), Action.PROCESS, video)
    service.process_again(video)
    flash(f"“{video.filename}” is queued to be processed again.", "success")
    return redirect(url_for("web.video", video_id=video.id), 303)


@bp.route("/videos/<video_id>/delete", methods=["GET", "POST"])
@requires(Action.DELETE)
def delete(video_id: str) -> BaseResponse | str:
    """GET asks for confirmation (the page without JavaScript); POST moves the video to the trash (deletes it without one)."""
    video = service.get_video(video_id)
    check(current_caller(), Action.DELETE, video)
    if request.method != "POST":
        return render_template("videos/delete.html", video=video, form=ActionForm())
    name = video.filename
    if trash.move_to_trash(video, by=caller_required().user):
        # The category carries the video's id: base.html shows the message with an Undo button that restores it.
        flash(f"Moved to trash: “{name}”.", f"{UNDO_CATEGORY}{video_id}")
    else:
        flash(f"Deleted “{name}”.", "success")
    return redirect(url_for("web.library"), 303)


@bp.get("/docs")
@public
def api_docs() -> BaseResponse:
    """The address the first API's README gave for its docs: today's interactive docs, v2's."""
    return redirect(url_for("api_v2.docs_page"), 302)

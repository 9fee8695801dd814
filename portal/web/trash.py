"""The trash in the browser: its page, Restore (also the Undo after a delete), Delete forever, Empty trash.

Each change is a POST with the form's CSRF token; Delete forever and Empty
trash first ask for confirmation on a page of their own (they cannot be undone),
as deleting does. The rules (who may, what a race ends with) are the trash
service's (:mod:`portal.library.trash`).
"""

from __future__ import annotations

from datetime import datetime

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from ..accounts.permissions import Action
from ..accounts.permissions import check
from ..http.auth import caller_required
from ..http.auth import requires
from ..library import trash
from ..library.listing import Listing
from ..library.models import as_utc
from ..library.models import utcnow
from .forms import ActionForm
from .views import bp
from .views import page_numbers


@bp.app_template_filter("time_left")
def time_left(moment: datetime) -> str:
    """How long until ``moment``, as people say it: ``30 days``, ``5 hours``, ``less than an hour``.

    Rounded to the nearest day (hour), so that a video deleted a moment ago
    shows the whole ``TRASH_DAYS`` the page promises, not one day less.
    """
    seconds = (as_utc(moment) - utcnow()).total_seconds()
    if seconds >= 86400:
        days = round(seconds / 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = round(seconds / 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return "less than an hour"


@bp.get("/trash")
@requires(Action.DELETE)
def trash_page() -> str:
    listing = Listing.parse(page=request.args.get("page"), per_page=request.args.get("per_page"))
    caller = caller_required()
    page = trash.list_trash(listing, caller)
    return render_template(
        "videos/trash.html",
        page=page,
        usage=trash.usage(caller),
        purge_at=trash.purge_at,
        form=ActionForm(),
        page_numbers=page_numbers(page.page, page.pages),
    )


@bp.post("/trash/<video_id>/restore")
@requires(Action.DELETE)
def restore(video_id: str) -> BaseResponse:
    """Restore, and the Undo of the message after a delete: back to the video's page."""
    video = trash.restore(video_id, caller_required())
    flash(f"Restored “{video.filename}”.", "success")
    return redirect(url_for("web.video", video_id=video.id), 303)


@bp.route("/trash/<video_id>/purge", methods=["GET", "POST"])
@requires(Action.DELETE)
def purge(video_id: str) -> BaseResponse | str:
    """GET asks for confirmation; POST deletes for good."""
    if request.method != "POST":
        video = trash.get_trashed(video_id)
        check(caller_required(), Action.DELETE, video)
        return render_template("videos/purge.html", video=video, form=ActionForm())
    purged = trash.purge(video_id, caller_required())
    flash(f"Deleted “{purged.filename}” for good.", "success")
    return redirect(url_for("web.trash_page"), 303)


@bp.route("/trash/empty", methods=["GET", "POST"])
@requires(Action.DELETE)
def empty_trash() -> BaseResponse | str:
    """GET asks for confirmation; POST purges everything in the trash (admins)."""
    caller = caller_required()
    if request.method != "POST":
        trash.check_may_empty(caller)
        return render_template("videos/empty_trash.html", usage=trash.usage(caller), form=ActionForm())
    purged = trash.empty_trash(caller)
    flash(f"Emptied the trash: {len(purged)} video{'s' if len(purged) != 1 else ''} deleted for good.", "success")
    return redirect(url_for("web.trash_page"), 303)

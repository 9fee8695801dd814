"""Routes of /api/v1 for the trash: list what was deleted, restore it, or purge it for good.

``DELETE /files/<id>`` moves a file here (:mod:`.routes`); from then on the file
is not found under ``/files`` until it is restored. Whoever could delete a file
may restore or purge it; emptying the whole trash is for admins.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...http.auth import caller_required
from ...http.auth import requires
from ...library import trash
from ...library.listing import Listing
from ...library.models import Video
from . import bp
from .schemas import file_json
from .schemas import iso8601


def trashed_file_json(video: Video) -> dict[str, Any]:
    """The file's JSON, and when it was deleted, by whom, and when it will be purged."""
    return {
        **file_json(video),
        "deleted_at": iso8601(video.deleted_at),
        "deleted_by": video.deleted_by.username if video.deleted_by is not None else None,
        "purge_at": iso8601(trash.purge_at(video)),
    }


@bp.get("/trash")
@requires(Action.DELETE)
def list_trash() -> Response:
    listing = Listing.parse(
        page=request.args.get("page"), per_page=request.args.get("per_page"), query=request.args.get("q")
    )
    page = trash.list_trash(listing, caller_required())
    return jsonify(
        items=[trashed_file_json(video) for video in page.items], total=page.total, page=page.page, per_page=page.per_page
    )


@bp.delete("/trash")
@requires(Action.DELETE)
def empty_trash() -> tuple[str, int]:
    trash.empty_trash(caller_required())
    return "", 204


@bp.post("/trash/<video_id>/restore")
@requires(Action.DELETE)
def restore_file(video_id: str) -> Response:
    return jsonify(file_json(trash.restore(video_id, caller_required())))


@bp.delete("/trash/<video_id>")
@requires(Action.DELETE)
def purge_file(video_id: str) -> tuple[str, int]:
    trash.purge(video_id, caller_required())
    return "", 204

"""Routes of /api/v1 for the trash: list what was deleted, restore it, or purge it for good.

``DELETE /files/<id>`` moves a file here (:mod:`.routes`); from then on the file
is not found under ``/files`` until it is restored. Whoever could delete a file
may restore or purge it; emptying the whole trash is for admins.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from ...accounts.models import Role
from ...accounts.permissions import Action
from ...errors import Forbidden
from ...errors import PortalError
from ...errors import VideoNotFound
from ...http.auth import caller_required
from ...http.auth import requires
from ...library import trash
from ...library.listing import MAX_PER_PAGE
from ...library.listing import Listing
from ...library.models import Video
from ..spec import Answer
from ..spec import example_caller
from ..spec import operation
from . import bp
from .models import File
from .models import TrashPage
from .models import TrashQuery
from .routes import refusal
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
@operation("List the deleted files, the most recently deleted first", tags=["trash"], query=TrashQuery,
           answers={200: Answer(TrashPage, "One page of the trash.")},
           errors=lambda: refusal(lambda: Listing.parse(per_page=str(MAX_PER_PAGE + 1))),
           description=lambda: f"Files stay in the trash for {int(current_app.config['TRASH_DAYS'])} days (the "
           "portal's `TRASH_DAYS`), then are purged. Admins see everyone's; uploaders their own. A token needs the "
           "`delete` scope.")
def list_trash() -> Response:
    listing = Listing.parse(
        page=request.args.get("page"), per_page=request.args.get("per_page"), query=request.args.get("q")
    )
    page = trash.list_trash(listing, caller_required())
    return jsonify(
        items=[trashed_file_json(video) for video in page.items], total=page.total, page=page.page, per_page=page.per_page
    )


def _refused_emptying() -> list[PortalError]:
    """What an uploader who asks to empty the trash is told, in the trash service's words."""
    try:
        trash.check_may_empty(example_caller(Role.UPLOADER))
    except Forbidden as error:
        return [error]
    raise AssertionError("an uploader may empty the trash: no example of a refusal")


@bp.delete("/trash")
@requires(Action.DELETE)
@operation("Empty the trash", tags=["trash"], answers={204: Answer(description="Emptied.")}, touches_bytes=True,
           errors=_refused_emptying,
           description="Purges every video in the trash, everyone's, with all its stored objects: admins only.")
def empty_trash() -> tuple[str, int]:
    trash.empty_trash(caller_required())
    return "", 204


@bp.post("/trash/<video_id>/restore")
@requires(Action.DELETE)
@operation("Restore a deleted file", tags=["trash"], answers={200: Answer(File, "Restored: the file's JSON.")},
           errors=lambda: [VideoNotFound()], description="The file is back as it was: same id, checksum, owner, media "
           "and share links. Whoever could delete it may restore it.")
def restore_file(video_id: str) -> Response:
    return jsonify(file_json(trash.restore(video_id, caller_required())))


@bp.delete("/trash/<video_id>")
@requires(Action.DELETE)
@operation("Delete a video in the trash for good", tags=["trash"], answers={204: Answer(description="Deleted for good.")},
           touches_bytes=True, errors=lambda: [VideoNotFound()],
           description="The row and every stored object (bytes, poster, copies) are removed; this cannot be undone. "
           "Whoever could delete the video may purge it.")
def purge_file(video_id: str) -> tuple[str, int]:
    trash.purge(video_id, caller_required())
    return "", 204

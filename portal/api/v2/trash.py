"""Routes of /api/v2 for the trash: list it by cursor, restore, purge, empty (v1's rules)."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...errors import VideoNotFound
from ...http.auth import caller_required
from ...http.auth import requires
from ...library import trash
from ..spec import Answer
from ..spec import operation
from ..v1 import trash as v1
from . import bp
from .models import Page
from .models import TrashPage
from .models import Video
from .schemas import page_json
from .schemas import trashed_video_json
from .schemas import video_json
from .videos import list_refusals


@bp.get("/trash")
@requires(Action.DELETE)
@operation("The trash, the most recently deleted first", tags=["trash"], query=Page, errors=list_refusals,
           answers={200: Answer(TrashPage, "One page of the trash the caller may act on.")})
def list_trash() -> Response:
    page = trash.trash_page(caller_required(), limit=request.args.get("limit"), cursor=request.args.get("cursor"))
    return jsonify(page_json(page, item=trashed_video_json))


@bp.post("/trash/<video_id>/restore")
@requires(Action.DELETE)
@operation("Put a video back in the library", tags=["trash"], answers={200: Answer(Video, "Restored.")},
           errors=lambda: [VideoNotFound()])
def restore_video(video_id: str) -> Response:
    return jsonify(video_json(trash.restore(video_id, caller_required())))


# Emptying and purging answer nothing but 204, exactly as v1's views do: v2 registers those.
bp.add_url_rule("/trash", "empty_trash", v1.empty_trash, methods=["DELETE"])
bp.add_url_rule("/trash/<video_id>", "purge_video", v1.purge_file, methods=["DELETE"])

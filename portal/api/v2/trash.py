"""Routes of /api/v2 for the trash: list it by cursor, restore, purge, empty (v1's rules)."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...http.auth import caller_required
from ...http.auth import requires
from ...library import trash
from ..v1 import trash as v1
from . import bp
from .schemas import page_json
from .schemas import trashed_video_json
from .schemas import video_json


@bp.get("/trash")
@requires(Action.DELETE)
def list_trash() -> Response:
    page = trash.trash_page(caller_required(), limit=request.args.get("limit"), cursor=request.args.get("cursor"))
    return jsonify(page_json(page, item=trashed_video_json))


@bp.post("/trash/<video_id>/restore")
@requires(Action.DELETE)
def restore_video(video_id: str) -> Response:
    return jsonify(video_json(trash.restore(video_id, caller_required())))


# Emptying and purging answer nothing but 204, exactly as v1's views do: v2 registers those.
bp.add_url_rule("/trash", "empty_trash", v1.empty_trash, methods=["DELETE"])
bp.add_url_rule("/trash/<video_id>", "purge_video", v1.purge_file, methods=["DELETE"])

"""Routes of /api/v2 for share links: v1's operations (and body rules) under v2's names."""

from __future__ import annotations

from flask import Response
from flask import jsonify

from ...http.auth import caller_required
from ...library import service
from ...sharing import service as sharing
from ..v1.schemas import iso8601
from ..v1.shares import parse_share_body
from ..v1.shares import share_json
from ..v1.shares import share_url
from . import bp


@bp.post("/videos/<video_id>/shares")
def create_share(video_id: str) -> tuple[Response, int]:
    video = service.get_video(video_id)
    share, token = sharing.create_share(video, by=caller_required().user, days=parse_share_body())
    return jsonify(id=share.id, url=share_url(token), expires_at=iso8601(share.expires_at)), 201


@bp.get("/videos/<video_id>/shares")
def list_shares(video_id: str) -> Response:
    video = service.get_video(video_id)
    return jsonify(items=[share_json(share) for share in sharing.list_shares(video)])


@bp.delete("/shares/<row_id:share_id>")
def revoke_share(share_id: int) -> tuple[str, int]:
    sharing.revoke_share(share_id, by=caller_required().user)
    return "", 204

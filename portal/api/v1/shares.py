"""Routes of /api/v1 for share links: make, list and revoke the links that open one video to anyone.

Only the video's owner or an admin makes a link or lists a video's links, and a
token needs the ``upload`` scope for it: a link opens the video to anyone. A
link's URL holds its token, which is shown only in the answer that makes it: the list shows when each was made, by whom and until
when, never the URL.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...accounts.permissions import check
from ...errors import InvalidInput
from ...errors import InvalidShareDays
from ...errors import PortalError
from ...errors import ShareNotFound
from ...errors import VideoNotFound
from ...http.auth import caller_required
from ...http.auth import current_caller
from ...http.auth import requires
from ...http.json_bodies import load_json_body
from ...http.links import share_link
from ...library import service
from ...sharing import service as sharing
from ...sharing.models import ShareLink
from ...sharing.service import DEFAULT_DAYS
from ...sharing.service import MAX_DAYS
from ...sharing.service import MIN_DAYS
from ...sharing.service import revoke_refused
from ..models import NewShare
from ..models import ShareList
from ..models import ShareRequest
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from . import bp
from .schemas import iso8601

#: What the body of ``POST /files/<id>/shares`` may hold.
SHARE_FIELDS = ("days",)
#: Far more than ``{"days": 90}`` needs; a longer body is refused unread.
MAX_SHARE_BODY = 1024
#: How to send the body, said by every refusal of it.
SHARE_BODY_HINT = (
    "Send no body for a link of the default 7 days, or a JSON object such as {\"days\": 30} "
    "with Content-Type: application/json."
)
BODY_NOT_JSON = f"The body is not JSON. {SHARE_BODY_HINT}"
BODY_TOO_LONG = f"The body is longer than {MAX_SHARE_BODY} bytes. {SHARE_BODY_HINT}"
BODY_INVALID_JSON = f"The body is not valid JSON. {SHARE_BODY_HINT}"
BODY_NOT_AN_OBJECT = f"The body is not a JSON object. {SHARE_BODY_HINT}"


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def parse_share_body() -> int | None:
    """The ``days`` of the request's JSON object; None when there is no body, or no ``days`` in it.

    At most :data:`MAX_SHARE_BODY` bytes are read, whatever the body's length.
    """
    if not _has_body():
        return None
    if not request.is_json:
        raise InvalidInput(BODY_NOT_JSON)
    raw = request.stream.read(MAX_SHARE_BODY + 1)
    if len(raw) > MAX_SHARE_BODY:
        raise InvalidInput(BODY_TOO_LONG)
    body = load_json_body(raw, BODY_INVALID_JSON)
    if not isinstance(body, dict):
        raise InvalidInput(BODY_NOT_AN_OBJECT)
    unknown = sorted(set(body) - set(SHARE_FIELDS))
    if unknown:
        raise unknown_field(unknown[0])
    days = body.get("days")
    # JSON has numbers, not integers: 6.0 is the whole number JSON Schema's "integer" allows, so it is 6.
    if isinstance(days, float) and days.is_integer():
        return int(days)
    return days


def unknown_field(name: str) -> InvalidInput:
    return InvalidInput(f"Unknown field {name!r}: a share link takes only 'days'.")


def share_url(token: str) -> str:
    return share_link("shares.player", token)


def share_json(share: ShareLink) -> dict[str, Any]:
    return {
        "id": share.id,
        "expires_at": iso8601(share.expires_at),
        "created_at": iso8601(share.created_at),
        "created_by": share.created_by.username,
    }


def _body_refusals() -> list[PortalError]:
    return [InvalidShareDays(MIN_DAYS, MAX_DAYS), InvalidInput(BODY_NOT_JSON), InvalidInput(BODY_INVALID_JSON),
            InvalidInput(BODY_NOT_AN_OBJECT), unknown_field("expires"), InvalidInput(BODY_TOO_LONG), VideoNotFound()]


@bp.post("/files/<video_id>/shares")
@requires(Action.SHARE)
@operation("Make a share link to the video", tags=["shares"], body=Body({"application/json": ShareRequest}, required=False),
           answers={201: Answer(NewShare, "Made: the link, shown this once.")}, errors=_body_refusals,
           description="The video's owner or an admin may share it (a token needs the `upload` scope). The link (`url`, "
           "`/s/<token>`) opens a player page and the download of this one video to anyone who has it, without an "
           f"account, until it expires (after `days`, {MIN_DAYS} to {MAX_DAYS}, default {DEFAULT_DAYS}) or is revoked. "
           "Its token is not kept: the `url` is shown in this answer only.")
def create_share(video_id: str) -> tuple[Response, int]:
    video = service.get_video(video_id)
    check(current_caller(), Action.SHARE, video)
    share, token = sharing.create_share(video, by=caller_required().user, days=parse_share_body())
    return jsonify(id=share.id, url=share_url(token), expires_at=iso8601(share.expires_at)), 201


@bp.get("/files/<video_id>/shares")
@requires(Action.SHARE)
@operation("List the video's share links", tags=["shares"], answers={200: Answer(ShareList, "The video's links.")},
           errors=lambda: [VideoNotFound()],
           description="The links not revoked, oldest first; expired ones too, as `expires_at` shows. The video's owner "
           "and admins see them, whoever made them. Their URLs are not listed: a token is not kept once its link is made.")
def list_shares(video_id: str) -> Response:
    video = service.get_video(video_id)
    check(current_caller(), Action.SHARE, video)
    return jsonify(items=[share_json(share) for share in sharing.list_shares(video)])


@bp.delete("/shares/<row_id:share_id>")
@operation("Revoke a share link", tags=["shares"], answers={204: Answer(description="Revoked.")},
           errors=lambda: [revoke_refused("alice", "bob"), ShareNotFound()],
           description="The link stops working at once, for good. The video's owner, the link's maker and any admin may.")
def revoke_share(share_id: int) -> tuple[str, int]:
    sharing.revoke_share(share_id, by=caller_required().user)
    return "", 204

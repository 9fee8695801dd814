"""Routes of /api/v2 for videos: search and list by cursor, upload, read, edit details, deliver, delete.

Thin views: each parses the request and calls the library's services, the
same ones v1 calls; delivery (ranges, conditional GET, checksums) is
:mod:`portal.http.delivery`'s.
"""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...accounts.permissions import check
from ...errors import InvalidDetails
from ...errors import InvalidInput
from ...errors import MissingFile
from ...errors import UnsupportedBodyType
from ...http.auth import caller_required
from ...http.auth import current_caller
from ...http.auth import requires
from ...http.auth import viewable
from ...http.json_bodies import load_json_body
from ...library import catalog
from ...library import integrity
from ...library import service
from ...library import trash
from ...library.models import Video
from ...uploads import intake
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.request import portal_request
from ...uploads.request import takes_uploads
from ..v1 import routes as v1
from ..v1.routes import NO_BODY
from ..v1.routes import NO_FILE_IN_FORM
from . import bp
from .schemas import page_json
from .schemas import video_json

#: The one format a change of details is sent in (RFC 7396).
MERGE_PATCH = "application/merge-patch+json"
#: What a merge patch may change.
EDITABLE_FIELDS = ("title", "description", "tags")
#: Far more than a title, a 5,000-character description and 20 tags need; a longer body is refused unread.
MAX_PATCH_BODY = 64 * 1024
PATCH_HINT = (
    "Send a JSON object with any of 'title', 'description' and 'tags' (null clears one), "
    f"as Content-Type: {MERGE_PATCH}."
)


def _with_etag(video: Video, status: int = 200) -> tuple[Response, int, dict[str, str]]:
    return jsonify(video_json(video)), status, {"ETag": catalog.etag_of(video)}


@bp.get("/videos")
@viewable
def list_videos() -> Response:
    query = catalog.CatalogQuery.parse(
        text=request.args.get("q"),
        tags=request.args.getlist("tag"),
        owner=request.args.get("owner"),
        sort=request.args.get("sort"),
        limit=request.args.get("limit"),
        cursor=request.args.get("cursor"),
    )
    return jsonify(page_json(catalog.search(query)))


@bp.post("/videos")
@takes_uploads
@requires(Action.UPLOAD)
def upload_video() -> tuple[Response, int, dict[str, str]]:
    """The same two ways in as v1's upload: a multipart field ``file``, or the raw body with ``?filename=``."""
    content_digest = parse_content_digest(request.headers.get("Content-Digest"))
    # Every checksum the request names is checked, wherever it is given: a query's ``sha256``
    # beside a multipart form is neither ignored nor taken unchecked.
    in_query = parse_sha256_hex(request.args.get("sha256"))
    owner = caller_required().user
    if request.mimetype == "multipart/form-data":
        incoming, filename = portal_request().uploaded_file("file")
        in_form = parse_sha256_hex(request.form.get("sha256"))
        video = service.finish_upload(incoming, filename, [in_form, in_query, content_digest], owner=owner)
    elif request.mimetype == "application/x-www-form-urlencoded":
        raise MissingFile(NO_FILE_IN_FORM)
    else:
        if not request.content_length and not request.environ.get("wsgi.input_terminated"):
            raise MissingFile(NO_BODY)
        video = intake.store_stream(
            request.stream, request.args.get("filename"), [in_query, content_digest], owner=owner,
            declared=request.content_length,
        )
    body = video_json(video)
    duplicate = service.duplicate_of(video, owner)
    if duplicate is not None:
        body["duplicate_of"] = duplicate
    return jsonify(body), 201, {"ETag": catalog.etag_of(video), "Location": body["links"]["self"]}


@bp.get("/videos/<video_id>")
@viewable
def get_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    return _with_etag(service.get_video(video_id))


def parse_merge_patch() -> dict[str, object]:
    """The request's merge patch of details, checked for its format and fields (values are the service's to check)."""
    if request.mimetype != MERGE_PATCH:
        raise UnsupportedBodyType(f"The body must be a JSON merge patch. {PATCH_HINT}")
    raw = request.stream.read(MAX_PATCH_BODY + 1)
    if len(raw) > MAX_PATCH_BODY:
        raise InvalidInput(f"The body is longer than {MAX_PATCH_BODY} bytes. {PATCH_HINT}")
    patch = load_json_body(raw, f"The body is not valid JSON. {PATCH_HINT}")
    if not isinstance(patch, dict):
        raise InvalidDetails(f"The body is not a JSON object. {PATCH_HINT}")
    unknown = sorted(set(patch) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidDetails(f"{unknown[0]!r} cannot be changed: only 'title', 'description' and 'tags' can.")
    return patch


@bp.patch("/videos/<video_id>")
@requires(Action.EDIT)
def edit_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    video = service.get_video(video_id)
    check(current_caller(), Action.EDIT, video)
    patch = parse_merge_patch()
    changes = {field: patch[field] for field in EDITABLE_FIELDS if field in patch}
    edited = catalog.update_details(
        video, by=caller_required(), if_match=request.headers.get("If-Match"), **changes  # type: ignore[arg-type]
    )
    return _with_etag(edited)


@bp.delete("/videos/<video_id>")
@requires(Action.DELETE)
def delete_video(video_id: str) -> tuple[str, int]:
    """Into the trash (``/api/v2/trash``), as v1's delete."""
    video = service.get_video(video_id)
    check(current_caller(), Action.DELETE, video)
    trash.move_to_trash(video, by=caller_required().user)
    return "", 204


# The bytes are delivered exactly as v1 delivers them (ranges, conditional GET, checksums): v2
# registers v1's views under its own names.
bp.add_url_rule("/videos/<video_id>/content", "download_video", v1.download_file, methods=["GET", "HEAD"])
bp.add_url_rule("/videos/<video_id>/playback", "play_video", v1.playback_file, methods=["GET", "HEAD"])
bp.add_url_rule("/videos/<video_id>/poster", "get_poster", v1.get_poster, methods=["GET"])


@bp.post("/videos/<video_id>/verify")
def verify_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    return _with_etag(integrity.verify(service.get_video(video_id), by=caller_required().user))


@bp.post("/videos/<video_id>/process")
@requires(Action.PROCESS)
def process_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    video = service.get_video(video_id)
    check(current_caller(), Action.PROCESS, video)
    return _with_etag(service.process_again(video), 202)

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
from ...errors import BelowFreeSpaceFloor
from ...errors import ChecksumMismatch
from ...errors import DetailsVersionRequired
from ...errors import EmptyFile
from ...errors import InsufficientStorage
from ...errors import InvalidCursor
from ...errors import InvalidDetails
from ...errors import InvalidInput
from ...errors import MissingFile
from ...errors import NotAVideo
from ...errors import PortalError
from ...errors import QueueUnavailable
from ...errors import QuotaExceeded
from ...errors import StaleDetails
from ...errors import TooManyVerifies
from ...errors import UnsupportedBodyType
from ...errors import UploadTooLarge
from ...errors import VideoNotFound
from ...http.auth import caller_required
from ...http.auth import current_caller
from ...http.auth import requires
from ...http.auth import viewable
from ...http.json_bodies import load_json_body
from ...library import catalog
from ...library import integrity
from ...library import service
from ...library import trash
from ...library.formats import ACCEPTED_FORMATS
from ...library.integrity import MAX_VERIFIES_PER_USER
from ...library.integrity import VERIFY_RETRY_AFTER
from ...library.models import MAX_TAG_LENGTH
from ...library.models import Video
from ...uploads import intake
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.intake import upload_limit
from ...uploads.request import portal_request
from ...uploads.request import takes_uploads
from ..models import UPLOAD_BODY
from ..models import UploadHeaders
from ..models import UploadQuery
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from ..v1 import routes as v1
from ..v1.routes import NO_BODY
from ..v1.routes import NO_FILE_IN_FORM
from . import bp
from .models import DETAILS_ETAG
from .models import DetailsIfMatch
from .models import DetailsPatch
from .models import StoredVideo
from .models import Video as VideoAnswer
from .models import VideoPage
from .models import VideoQuery
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


def _video(description: str) -> Answer:
    return Answer(VideoAnswer, description, headers=DETAILS_ETAG)


def list_refusals() -> list[PortalError]:
    try:
        catalog.CatalogQuery.parse(limit=str(catalog.MAX_LIMIT + 1))
    except InvalidInput as error:
        return [error, InvalidCursor()]
    raise AssertionError("the limit was accepted")


def _upload_refusals() -> list[PortalError]:
    return [
        MissingFile(), MissingFile(NO_FILE_IN_FORM), MissingFile(NO_BODY), EmptyFile(),
        UploadTooLarge(upload_limit()), QuotaExceeded(4 * 1024**3, 5 * 1024**3, 2 * 1024**3),
        NotAVideo(ACCEPTED_FORMATS), ChecksumMismatch("0" * 64, "f" * 64),
        InsufficientStorage(), BelowFreeSpaceFloor(2 * 1024**3, 1024**3, 1536 * 1024**2),
    ]


def _details_refusals() -> list[PortalError]:
    try:
        catalog.clean_tags(["x" * (MAX_TAG_LENGTH + 1)])
    except InvalidDetails as error:
        refused = error
    return [
        VideoNotFound(), StaleDetails(), UnsupportedBodyType(f"The body must be a JSON merge patch. {PATCH_HINT}"),
        refused, DetailsVersionRequired(), DetailsVersionRequired(catalog.STAR_NAMES_NO_VERSION),
    ]


def _with_etag(video: Video, status: int = 200) -> tuple[Response, int, dict[str, str]]:
    return jsonify(video_json(video)), status, {"ETag": catalog.etag_of(video)}


@bp.get("/videos")
@viewable
@operation("Search and list videos, a page at a time", tags=["videos"], query=VideoQuery,
           answers={200: Answer(VideoPage, "One page of videos.")}, errors=list_refusals,
           description="Pages follow each other by `cursor` (keyset pagination): a page is as quick far down the "
           "library as at its top, and videos added meanwhile move no page. `total` is exact (`relation: eq`) up to "
           f"{catalog.TOTAL_LIMIT:,} and a lower bound (`gte`) beyond. Videos in the trash are never listed.")
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
@operation("Upload one video", tags=["videos"], query=UploadQuery, headers=UploadHeaders, body=Body(UPLOAD_BODY),
           touches_bytes=True, errors=_upload_refusals, answers={201: Answer(
               StoredVideo, "Stored. When the same bytes were stored already, `duplicate_of` names the first video "
               "with them that the caller may see (their own; any, for an admin): the bytes are stored once and "
               "shared, while this upload is a video of its own. Without such a video the key is absent.",
               headers={**DETAILS_ETAG, "Location": {"description": "The video's URL (`links.self`).",
                                                     "schema": {"type": "string", "format": "uri"}}})},
           description=lambda: "As v1's upload: the multipart field `file`, or the raw body with `?filename=`. "
           f"Recognised from its bytes ({ACCEPTED_FORMATS}); an expected SHA-256 (`sha256`, or `Content-Digest`) is "
           f"checked. At most {upload_limit()} bytes. Its title is the file name without its extension until one is set.")
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
@operation("One video", tags=["videos"], answers={200: _video("The video.")}, errors=lambda: [VideoNotFound()])
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
@operation("Change the title, description or tags", tags=["videos"], headers=DetailsIfMatch,
           body=Body({MERGE_PATCH: DetailsPatch}), answers={200: _video("Changed: the video, with its new ETag.")},
           errors=_details_refusals, description=f"A JSON merge patch (RFC 7396, `{MERGE_PATCH}`) of "
           f"{', '.join(f'`{name}`' for name in EDITABLE_FIELDS)}: a field left out stays, `null` clears it (the title "
           "becomes the file name without its extension again). `If-Match` must name the video's current ETag (from "
           "its GET), so that of two people editing one version the second is told (412) instead of overwriting the "
           "first. The owner's or an admin's to do.")
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
@operation("Move a video to the trash", tags=["videos"], answers={204: Answer(description="In the trash.")},
           touches_bytes=True, errors=lambda: [VideoNotFound()])
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
@operation("Check the stored bytes against the checksum now", tags=["videos"], touches_bytes=True,
           answers={200: _video("Checked: `status` says what was found.")},
           errors=lambda: [VideoNotFound(), TooManyVerifies(MAX_VERIFIES_PER_USER, VERIFY_RETRY_AFTER)],
           description="Re-reads the whole file. Verifies of one video that overlap share one reading and all answer "
           f"its result; a caller may have {MAX_VERIFIES_PER_USER} in progress, past which the answer is 429 with "
           "`Retry-After`.")
def verify_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    return _with_etag(integrity.verify(service.get_video(video_id), by=caller_required().user))


@bp.post("/videos/<video_id>/process")
@requires(Action.PROCESS)
@operation("Queue the video's processing again", tags=["videos"], answers={202: _video("Queued.")},
           errors=lambda: [VideoNotFound(), QueueUnavailable()])
def process_video(video_id: str) -> tuple[Response, int, dict[str, str]]:
    video = service.get_video(video_id)
    check(current_caller(), Action.PROCESS, video)
    return _with_etag(service.process_again(video), 202)

"""Routes of /api/v1: thin wrappers that parse the request and call the library's service."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...accounts.permissions import check
from ...errors import ChecksumMismatch
from ...errors import EmptyFile
from ...errors import InsufficientStorage
from ...errors import InvalidInput
from ...errors import MissingFile
from ...errors import NotAVideo
from ...errors import PlaybackNotReady
from ...errors import PortalError
from ...errors import PosterNotFound
from ...errors import QueueUnavailable
from ...errors import RangeNotSatisfiable
from ...errors import StoredCopyCorrupt
from ...errors import TooManyVerifies
from ...errors import UploadTooLarge
from ...errors import VideoNotFound
from ...http.auth import caller_required
from ...http.auth import current_caller
from ...http.auth import requires
from ...http.auth import signed_in
from ...http.auth import viewable
from ...http.delivery import send_poster
from ...http.delivery import send_stored
from ...http.delivery import send_video
from ...library import integrity
from ...library import service
from ...library import trash
from ...library.formats import ACCEPTED_FORMATS
from ...library.integrity import MAX_VERIFIES_PER_USER
from ...library.integrity import VERIFY_RETRY_AFTER
from ...library.listing import MAX_PER_PAGE
from ...library.listing import Listing
from ...library.listing import list_videos
from ...uploads import intake
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.intake import upload_limit
from ...uploads.request import portal_request
from ...uploads.request import takes_uploads
from ..models import BINARY
from ..models import DELIVERY_HEADERS
from ..models import EXAMPLE_FILENAME
from ..models import EXAMPLE_SHA256
from ..models import EXAMPLE_SIZE
from ..models import POSTER_HEADERS
from ..models import UPLOAD_BODY
from ..models import VIDEO_CONTENT
from ..models import ContentHeaders
from ..models import PosterHeaders
from ..models import UploadHeaders
from ..models import UploadQuery
from ..models import header
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from . import bp
from .models import File
from .models import ListQuery
from .models import Me
from .models import Page
from .models import StoredFile
from .schemas import file_json
from .schemas import page_json

NO_FILE_IN_FORM = (
    "A form encoded as application/x-www-form-urlencoded cannot carry a file: send multipart/form-data "
    "with the video in the field 'file', or the raw bytes with a video content type and ?filename=NAME."
)
NO_BODY = (
    "The request has no body: send the video as multipart field 'file', "
    "or as the raw body with ?filename=NAME."
)


def refusal(parse: Callable[[], object]) -> list[PortalError]:
    """The error a parser raises for bad input, so an example quotes the parser's own words."""
    try:
        parse()
    except InvalidInput as error:
        return [error]
    raise AssertionError(f"{parse} accepted its example of bad input")


def _upload_refusals() -> list[PortalError]:
    return [
        MissingFile(), MissingFile(NO_FILE_IN_FORM), MissingFile(NO_BODY), EmptyFile(),
        *refusal(lambda: parse_sha256_hex("not-hex")), *refusal(lambda: parse_content_digest("sha-256=:not-base64:")),
        UploadTooLarge(upload_limit()), NotAVideo(ACCEPTED_FORMATS),
        ChecksumMismatch(EXAMPLE_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        InsufficientStorage(),
    ]


FILE_LOCATION = {"Location": {"description": "The file's URL (its `url`).", "schema": {"type": "string", "format": "uri"}}}


@bp.get("/me")
@signed_in
@operation("Who the caller is", tags=["account"], operation_id="getMe", description="Any account may ask, whatever "
           "its token's scopes.", answers={200: Answer(Me, "The caller: their role, and with a token its id and its scopes.")})
def me() -> Response:
    caller = caller_required()
    body: dict[str, object] = {"username": caller.username, "role": caller.role.value}
    if caller.token is not None:
        body["scopes"] = sorted(scope.value for scope in caller.scopes)
        body["token_id"] = caller.token.id
    in_trash = trash.usage(caller)
    body["trash"] = {"count": in_trash.count, "bytes": in_trash.bytes}
    return jsonify(body)


@bp.get("/files")
@viewable
@operation("List files, newest first", tags=["files"], query=ListQuery, answers={200: Answer(Page, "One page of files.")},
           errors=lambda: refusal(lambda: Listing.parse(per_page=str(MAX_PER_PAGE + 1))))
def list_files() -> Response:
    listing = Listing.parse(
        page=request.args.get("page"),
        per_page=request.args.get("per_page"),
        query=request.args.get("q"),
        sort=request.args.get("sort"),
    )
    return jsonify(page_json(list_videos(listing)))


@bp.post("/files")
@takes_uploads
@requires(Action.UPLOAD)
@operation(
    "Upload one video", tags=["files"], query=UploadQuery, headers=UploadHeaders, body=Body(UPLOAD_BODY),
    touches_bytes=True, errors=_upload_refusals,
    answers={201: Answer(StoredFile, "Stored: the file's JSON. When the same bytes were stored already, `duplicate_of` "
                         "names the first file with them that the caller may see (their own; any, for an admin): the "
                         "bytes are stored once and shared, while this upload is a file of its own. Without such a file "
                         "the key is absent.", headers=FILE_LOCATION)},
    description=lambda: "Send the video as the multipart field `file`, or as the raw request body (any content type but "
    "multipart) with its name in the `filename` query parameter, which is streamed with no multipart overhead. The "
    f"video is recognised from its bytes ({ACCEPTED_FORMATS}). An expected SHA-256 (form field or query parameter "
    "`sha256`, or a `Content-Digest` header) is checked: when the bytes differ, nothing is stored. "
    f"At most {upload_limit()} bytes.",
)
def upload_file() -> tuple[Response, int, dict[str, str]]:
    content_digest = parse_content_digest(request.headers.get("Content-Digest"))
    if request.mimetype == "multipart/form-data":
        incoming, filename = portal_request().uploaded_file("file")
        expected = parse_sha256_hex(request.form.get("sha256"))
        video = service.finish_upload(incoming, filename, [expected, content_digest], owner=caller_required().user)
    elif request.mimetype == "application/x-www-form-urlencoded":
        raise MissingFile(NO_FILE_IN_FORM)
    else:
        if not request.content_length and not request.environ.get("wsgi.input_terminated"):
            raise MissingFile(NO_BODY)
        expected = parse_sha256_hex(request.args.get("sha256"))
        video = intake.store_stream(
            request.stream, request.args.get("filename"), [expected, content_digest], owner=caller_required().user,
            declared=request.content_length,
        )
    body = file_json(video)
    duplicate = service.duplicate_of(video, caller_required().user)
    if duplicate is not None:
        body["duplicate_of"] = duplicate
    return jsonify(body), 201, {"Location": body["url"]}


@bp.get("/files/<video_id>")
@viewable
@operation("Describe one file", tags=["files"], errors=lambda: [VideoNotFound()],
           answers={200: Answer(File, "The file's JSON; `status` tells whether its bytes are intact.")})
def get_file(video_id: str) -> Response:
    return jsonify(file_json(service.get_video(video_id)))


#: What the download and the playback answer (HEAD: the same, without the bytes).
DELIVERY = {
    200: Answer(description="The whole file, with the stored content type. A file found damaged while it streams is "
                "marked corrupt and the connection is closed before the last bytes.", content=VIDEO_CONTENT,
                headers={**DELIVERY_HEADERS, "Content-Length": header(type="integer", minimum=1)}),
    206: Answer(description="One byte range of the file (`Range: bytes=0-1` included, as Safari asks).",
                content=VIDEO_CONTENT, headers={**DELIVERY_HEADERS, "Content-Range": header(
                    "The bytes sent, as `bytes FIRST-LAST/SIZE`.", type="string", pattern="^bytes [0-9]+-[0-9]+/[0-9]+$")}),
    304: Answer(description="`If-None-Match` names the current ETag: the copy the client has is current.",
                headers={"ETag": DELIVERY_HEADERS["ETag"]}),
}


def _delivery_errors() -> list[PortalError]:
    return [VideoNotFound(), StoredCopyCorrupt(EXAMPLE_FILENAME), RangeNotSatisfiable(EXAMPLE_SIZE)]


@bp.route("/files/<video_id>/content", methods=["GET", "HEAD"])
@viewable
@operation("Download the bytes", tags=["files"], head_id="headFile", headers=ContentHeaders, answers=DELIVERY,
           touches_bytes=True, errors=_delivery_errors, description="Conditional and range requests are answered as "
           "HTTP says; every answer carries the file's checksum as `ETag` and `Repr-Digest`.")
def download_file(video_id: str) -> Response:
    return send_video(service.get_video(video_id), "attachment")


@bp.route("/files/<video_id>/playback", methods=["GET", "HEAD"])
@viewable
@operation("The version a player should load", tags=["files"], head_id="headPlayback", operation_id={"api_v1": "playFile"},
           headers=ContentHeaders, answers=DELIVERY, touches_bytes=True, errors=lambda: [*_delivery_errors(), PlaybackNotReady()],
           description="The original when browsers play it as it is (H.264 with AAC or MP3 in MP4 or MOV; VP8, VP9 or "
           "AV1 with Opus or Vorbis in WebM), else its browser-playable copy (H.264/AAC MP4 or WebM, made by the "
           "file's processing), with the same ranges, ETag and `Repr-Digest` guarantees as `/content`; the file's "
           "`playback` says which. `/content` always gives the original.")
def playback_file(video_id: str) -> Response:
    return send_stored(service.playback_of(service.get_video(video_id)), "inline")


@bp.get("/files/<video_id>/poster")
@viewable
@operation("The file's poster", tags=["files"], headers=PosterHeaders, touches_bytes=True,
           errors=lambda: [VideoNotFound(), PosterNotFound()],
           answers={200: Answer(description="The poster.", headers=POSTER_HEADERS,
                                content={"image/jpeg": {"schema": {**BINARY, "contentMediaType": "image/jpeg"}}}),
                    304: Answer(description="`If-None-Match` names the current ETag: the client's copy is current.")},
           description="A JPEG still at about a tenth of the video (its first picture for very short clips), at most "
           "640 pixels wide, made by the file's processing. Cacheable for a day by the caller's own cache (`private`: "
           "who may see it is decided per request); its ETag is its SHA-256.")
def get_poster(video_id: str) -> Response:
    return send_poster(service.get_video(video_id))


@bp.post("/files/<video_id>/verify")
@operation("Re-check the stored bytes against the checksum now", tags=["files"], touches_bytes=True,
           answers={200: Answer(File, "The file's JSON after the check: `status` and `verified_at` are fresh.")},
           errors=lambda: [VideoNotFound(), TooManyVerifies(MAX_VERIFIES_PER_USER, VERIFY_RETRY_AFTER)],
           description=f"A caller may have {MAX_VERIFIES_PER_USER} verifies in progress; verifies of one file that "
           "overlap share one reading of it and all answer its result.")
def verify_file(video_id: str) -> Response:
    return jsonify(file_json(integrity.verify(service.get_video(video_id), by=caller_required().user)))


@bp.post("/files/<video_id>/process")
@requires(Action.PROCESS)
@operation("Queue the file's processing again", tags=["files"], answers={202: Answer(File, "Queued: the file's JSON.")},
           errors=lambda: [VideoNotFound(), QueueUnavailable()],
           description="For a file whose processing failed, or to redo it: its owner or an admin; a token needs the "
           "`upload` scope. The file's `processing` is `queued` in the answer.")
def process_file(video_id: str) -> tuple[Response, int]:
    video = service.get_video(video_id)
    check(current_caller(), Action.PROCESS, video)
    return jsonify(file_json(service.process_again(video))), 202


@bp.delete("/files/<video_id>")
@requires(Action.DELETE)
@operation("Delete a file (to the trash)", tags=["files"], touches_bytes=True, errors=lambda: [VideoNotFound()],
           answers={204: Answer(description="Moved to the trash (deleted for good when `TRASH_DAYS` is 0).")},
           description=lambda: "Uploaders delete their own files; admins any file. The file moves to the trash: from "
           "then on it is not found here, and its bytes stay until it is purged after "
           f"{int(current_app.config['TRASH_DAYS'])} days (the portal's `TRASH_DAYS`; 0 deletes at once) or restored "
           "(`POST /api/v1/trash/{video_id}/restore`).")
def delete_file(video_id: str) -> tuple[str, int]:
    video = service.get_video(video_id)
    caller = current_caller()
    check(caller, Action.DELETE, video)
    trash.move_to_trash(video, by=caller_required().user)
    return "", 204

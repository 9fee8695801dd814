"""Routes of /api/v1: thin wrappers that parse the request and call the library's service."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from ...accounts.permissions import Action
from ...accounts.permissions import check
from ...errors import MissingFile
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
from ...library.listing import Listing
from ...library.listing import list_videos
from ...uploads import intake
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.request import portal_request
from ...uploads.request import takes_uploads
from . import bp
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


@bp.get("/me")
@signed_in
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
def get_file(video_id: str) -> Response:
    return jsonify(file_json(service.get_video(video_id)))


@bp.route("/files/<video_id>/content", methods=["GET", "HEAD"])
@viewable
def download_file(video_id: str) -> Response:
    return send_video(service.get_video(video_id), "attachment")


@bp.route("/files/<video_id>/playback", methods=["GET", "HEAD"])
@viewable
def playback_file(video_id: str) -> Response:
    return send_stored(service.playback_of(service.get_video(video_id)), "inline")


@bp.get("/files/<video_id>/poster")
@viewable
def get_poster(video_id: str) -> Response:
    return send_poster(service.get_video(video_id))


@bp.post("/files/<video_id>/verify")
def verify_file(video_id: str) -> Response:
    return jsonify(file_json(integrity.verify(service.get_video(video_id), by=caller_required().user)))


@bp.post("/files/<video_id>/process")
@requires(Action.PROCESS)
def process_file(video_id: str) -> tuple[Response, int]:
    video = service.get_video(video_id)
    check(current_caller(), Action.PROCESS, video)
    return jsonify(file_json(service.process_again(video))), 202


@bp.delete("/files/<video_id>")
@requires(Action.DELETE)
def delete_file(video_id: str) -> tuple[str, int]:
    video = service.get_video(video_id)
    caller = current_caller()
    check(caller, Action.DELETE, video)
    trash.move_to_trash(video, by=caller_required().user)
    return "", 204

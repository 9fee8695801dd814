"""Routes of /api/v1: thin wrappers that parse the request and call the library's service."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request

from ...errors import MissingFile
from ...http.delivery import send_video
from ...library import integrity
from ...library import service
from ...library.listing import Listing
from ...library.listing import list_videos
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


@bp.get("/files")
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
def upload_file() -> tuple[Response, int, dict[str, str]]:
    content_digest = parse_content_digest(request.headers.get("Content-Digest"))
    if request.mimetype == "multipart/form-data":
        incoming, filename = portal_request().uploaded_file("file")
        expected = parse_sha256_hex(request.form.get("sha256"))
        video = service.finish_upload(incoming, filename, [expected, content_digest])
    elif request.mimetype == "application/x-www-form-urlencoded":
        raise MissingFile(NO_FILE_IN_FORM)
    else:
        if not request.content_length and not request.environ.get("wsgi.input_terminated"):
            raise MissingFile(NO_BODY)
        expected = parse_sha256_hex(request.args.get("sha256"))
        video = service.store_stream(request.stream, request.args.get("filename"), [expected, content_digest])
    body = file_json(video)
    return jsonify(body), 201, {"Location": body["url"]}


@bp.get("/files/<video_id>")
def get_file(video_id: str) -> Response:
    return jsonify(file_json(service.get_video(video_id)))


@bp.route("/files/<video_id>/content", methods=["GET", "HEAD"])
def download_file(video_id: str) -> Response:
    return send_video(service.get_video(video_id), "attachment")


@bp.post("/files/<video_id>/verify")
def verify_file(video_id: str) -> Response:
    return jsonify(file_json(integrity.verify(service.get_video(video_id))))


@bp.delete("/files/<video_id>")
def delete_file(video_id: str) -> tuple[str, int]:
    service.delete_video(service.get_video(video_id))
    return "", 204

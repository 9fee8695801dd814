"""Routes of /api/v1: thin wrappers that parse the request and call :mod:`portal.videos`."""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from ... import videos
from ...errors import MissingFile
from ...serving import send_video
from ...uploads import single_uploaded_file
from . import bp
from .schemas import file_json
from .schemas import page_json


@bp.get("/files")
def list_files() -> Response:
    listing = videos.Listing.from_args(request.args, current_app.config["PER_PAGE"])
    return jsonify(page_json(videos.list_videos(listing)))


@bp.post("/files")
def upload_file() -> tuple[Response, int, dict[str, str]]:
    content_digest = videos.parse_content_digest(request.headers.get("Content-Digest"))
    if request.mimetype == "multipart/form-data":
        incoming, filename = single_uploaded_file(request.files, "file")
        expected = videos.parse_sha256_hex(request.form.get("sha256"))
        video = videos.finish_upload(incoming, filename, [expected, content_digest])
    else:
        if not request.content_length and not request.environ.get("wsgi.input_terminated"):
            raise MissingFile(
                "The request has no body: send the video as multipart field 'file', "
                "or as the raw body with ?filename=NAME."
            )
        expected = videos.parse_sha256_hex(request.args.get("sha256"))
        video = videos.store_stream(request.stream, request.args.get("filename"), [expected, content_digest])
    body = file_json(video)
    return jsonify(body), 201, {"Location": body["url"]}


@bp.get("/files/<video_id>")
def get_file(video_id: str) -> Response:
    return jsonify(file_json(videos.get_video(video_id)))


@bp.route("/files/<video_id>/content", methods=["GET", "HEAD"])
def download_file(video_id: str) -> Response:
    return send_video(videos.get_video(video_id), "attachment")


@bp.post("/files/<video_id>/verify")
def verify_file(video_id: str) -> Response:
    return jsonify(file_json(videos.verify(videos.get_video(video_id))))


@bp.delete("/files/<video_id>")
def delete_file(video_id: str) -> tuple[str, int]:
    videos.delete_video(videos.get_video(video_id))
    return "", 204



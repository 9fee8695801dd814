"""tus 1.0.0 at /api/v1/uploads: thin views that read tus headers and call the resumable uploads' service.

Core protocol plus creation, creation-with-upload, termination, expiration and
checksum (https://tus.io/protocols/resumable-upload). Every answer, errors
included, carries ``Tus-Resumable``; errors keep the API's JSON body.

The same views serve ``/api/v2/uploads`` (:mod:`portal.api.v2.uploads`
registers them under its blueprint): each URL they give is built under the
blueprint the request came to, and the finished upload's video is named by
the header and the endpoint :data:`FINISHED_LINKS` holds for that blueprint.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timezone
from email.utils import format_datetime
from typing import Any

from flask import Response
from flask import current_app
from flask import request
from flask import url_for

from ...accounts.permissions import Action
from ...errors import ChecksumMismatch
from ...errors import ChunkChecksumMismatch
from ...errors import InsufficientStorage
from ...errors import InvalidInput
from ...errors import NotAnUploadChunk
from ...errors import NotAVideo
from ...errors import OffsetMismatch
from ...errors import PortalError
from ...errors import TooManyOpenUploads
from ...errors import UnsupportedTusVersion
from ...errors import UploadBusy
from ...errors import UploadNotFound
from ...errors import UploadTooLarge
from ...http.auth import caller_required
from ...http.auth import public
from ...http.auth import requires
from ...http.links import video_link
from ...library.formats import ACCEPTED_FORMATS
from ...library.models import as_utc
from ...uploads import resumable
from ...uploads.intake import parse_sha256_hex
from ...uploads.intake import upload_limit
from ...uploads.models import ResumableUpload
from ...uploads.request import takes_chunks
from .. import spec
from ..models import header
from ..spec import Answer
from ..spec import Body
from ..spec import operation
from . import bp
from .models import FILE_URL
from .models import OFFSET
from .models import ChunkHeaders
from .models import CreationHeaders
from .models import TusHeaders
from .models import expires

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHUNK_TYPE = "application/offset+octet-stream"
#: The header naming the finished upload's file JSON.
FILE_URL_HEADER = "Portal-File-URL"
#: Per blueprint serving these views: the header naming the video a finished upload became, and the
#: endpoint of that video's JSON.
FINISHED_LINKS: dict[str, tuple[str, str]] = {"api_v1": (FILE_URL_HEADER, "api_v1.get_file")}
#: Per blueprint, how its document describes that header.
FINISHED_LINK_DOCS: dict[str, dict[str, Any]] = {"api_v1": FILE_URL}


def _finished_doc() -> dict[str, dict[str, Any]]:
    """The finished-upload header of the document being built: v1's file, v2's video."""
    blueprint = spec.building()
    return {FINISHED_LINKS[blueprint][0]: FINISHED_LINK_DOCS[blueprint]}


def _finished_name() -> str:
    return FINISHED_LINKS[spec.building()][0]


def _endpoint(name: str) -> str:
    """``name`` under the blueprint of this request (``api_v1`` or ``api_v2``)."""
    return f"{request.blueprint}.{name}"


@bp.after_request
def tus_headers(response: Response) -> Response:
    """Every answer under /uploads says which tus it speaks, failures too (a 412 lists the versions)."""
    if request.blueprint in FINISHED_LINKS and request.path.startswith(url_for(_endpoint("tus_options"))):
        response.headers["Tus-Resumable"] = TUS_VERSION
        if response.status_code == 412:
            response.headers["Tus-Version"] = TUS_VERSION
    return response


def _require_tus() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise UnsupportedTusVersion()


def _whole_number(name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isascii() or not value.isdigit():
        raise InvalidInput(f"Send the header {name} as a whole number of bytes (0 or more).")
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a key alone has an empty value)."""
    metadata: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, value = pair.strip().partition(" ")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidInput(
                "Upload-Metadata must be comma-separated 'key base64value' pairs; "
                f"the value of {key!r} is not base64 of UTF-8 text."
            ) from None
    return metadata


def parse_upload_checksum(header: str | None) -> resumable.ChunkChecksum | None:
    """``Upload-Checksum: <sha1|sha256> <base64 digest>``."""
    if header is None:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in resumable.CHUNK_ALGORITHMS:
        raise InvalidInput(f"Upload-Checksum names {algorithm!r}: use one of {', '.join(resumable.CHUNK_ALGORITHMS)}.")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if not digest:
        raise InvalidInput("Upload-Checksum must be the algorithm, a space and the base64 of the chunk's digest.")
    return resumable.ChunkChecksum(algorithm, digest)


def _upload_headers(upload: ResumableUpload) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(upload.offset),
        # PostgreSQL hands moments back in the session's time zone, SQLite without one: both made UTC.
        "Upload-Expires": format_datetime(as_utc(upload.expires_at).astimezone(timezone.utc), usegmt=True),
    }
    return headers


def _finished(video_id: str) -> dict[str, str]:
    """The header naming the video an upload became (what the version's upload answers as Location)."""
    header, endpoint = FINISHED_LINKS[request.blueprint or "api_v1"]
    return {header: video_link(endpoint, video_id, external=True)}


def _append(upload: ResumableUpload, offset: int) -> dict[str, str]:
    """Write the request's body as a chunk; the headers of the answer."""
    caller = caller_required()
    video = resumable.append_chunk(
        upload, offset, request.stream, caller.user, parse_upload_checksum(request.headers.get("Upload-Checksum"))
    )
    headers = _upload_headers(upload)
    if video is not None:
        headers["Upload-Offset"] = str(upload.length)
        headers.update(_finished(video.id))
    return headers


def _tus(*errors: PortalError) -> list[PortalError]:
    """What every tus request may be refused with, and ``errors``."""
    return [UnsupportedTusVersion(), *errors]


def _chunk_refusals() -> list[PortalError]:
    try:
        parse_upload_checksum("md5 AAAA")
    except InvalidInput as error:
        malformed = error
    return _tus(
        UploadNotFound(), malformed, OffsetMismatch(1024, 0), NotAnUploadChunk(), UploadBusy(),
        ChunkChecksumMismatch("sha256"), NotAVideo(ACCEPTED_FORMATS), ChecksumMismatch("0" * 64, "f" * 64),
        InsufficientStorage(),
    )


def _creation_refusals() -> list[PortalError]:
    limit = current_app.config["MAX_OPEN_UPLOADS"]
    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    return _tus(UploadTooLarge(upload_limit()), TooManyOpenUploads(limit, limit, hours, 3600))


def _const(value: object) -> dict[str, object]:
    return header(type="integer" if isinstance(value, int) else "string", const=value)


CHUNK_BODY = {CHUNK_TYPE: {"type": "string", "format": "binary"}}


@bp.route("/uploads", methods=["OPTIONS"])
@public
@operation("What tus this server speaks", tags=["uploads"], answers=lambda: {204: Answer(
    description="The version, extensions, size limit and checksum algorithms.", headers={
        "Tus-Resumable": _const(TUS_VERSION), "Tus-Version": _const(TUS_VERSION), "Tus-Extension": _const(TUS_EXTENSIONS),
        "Tus-Max-Size": _const(upload_limit()), "Tus-Checksum-Algorithm": _const(",".join(resumable.CHUNK_ALGORITHMS))})})
def tus_options() -> tuple[str, int, dict[str, str]]:
    return "", 204, {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(upload_limit()),
        "Tus-Checksum-Algorithm": ",".join(resumable.CHUNK_ALGORITHMS),
    }


@bp.post("/uploads")
@takes_chunks
@requires(Action.UPLOAD)
@operation("Start a resumable upload (tus creation)", tags=["uploads"], headers=CreationHeaders, touches_bytes=True,
           body=Body(CHUNK_BODY, required=False), errors=_creation_refusals, answers=lambda: {201: Answer(
               description="Created; its URL is in `Location`.", headers={
                   "Location": header(), "Upload-Expires": expires(), "Upload-Offset": OFFSET, **_finished_doc()})},
           description=lambda: "Send `Upload-Length` and `Upload-Metadata` (`filename`, and optionally `sha256`: the "
           "hex SHA-256 of the whole file, checked when the last byte arrives). A body sent as "
           f"`{CHUNK_TYPE}` is the first chunk (creation-with-upload). The upload belongs to the caller; it is removed "
           f"{current_app.config['UPLOAD_EXPIRY_HOURS']} hours after its last chunk unless finished.")
def create_upload() -> tuple[str, int, dict[str, str]]:
    _require_tus()
    if "Upload-Length" not in request.headers:
        raise InvalidInput("Send the file's size in the header Upload-Length (this server does not take Upload-Defer-Length).")
    length = _whole_number("Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    upload = resumable.create_upload(
        caller_required().user, length, metadata.get("filename"), parse_sha256_hex(metadata.get("sha256"))
    )
    upload_id = upload.id
    headers = {"Location": url_for(_endpoint("upload_status"), upload_id=upload_id, _external=True)}
    if request.mimetype == CHUNK_TYPE:
        try:
            headers.update(_append(upload, 0))
        except BaseException:
            # A creation whose first chunk is refused leaves nothing: the client never learnt its URL.
            resumable.cancel(upload_id)
            raise
    else:
        headers.update(_upload_headers(upload))
    return "", 201, headers


@bp.route("/uploads/<upload_id>", methods=["HEAD"])
@requires(Action.UPLOAD)
@operation("How much of an upload the portal holds", tags=["uploads"], operation_id="getUploadOffset",
           headers=TusHeaders, touches_bytes=True, errors=lambda: _tus(UploadNotFound()), answers=lambda: {200: Answer(
               description=f"The offset to send from; a finished upload names its video in `{_finished_name()}`.",
               headers={"Upload-Offset": OFFSET, "Upload-Length": OFFSET, "Upload-Expires": expires(),
                        "Cache-Control": _const("no-store"), **_finished_doc()})})
def upload_status(upload_id: str) -> tuple[str, int, dict[str, str]]:
    _require_tus()
    upload = resumable.get_upload(upload_id, caller_required().user)
    headers = {**_upload_headers(upload), "Upload-Length": str(upload.length), "Cache-Control": "no-store"}
    if upload.video_id is not None:
        headers.update(_finished(upload.video_id))
    return "", 200, headers


@bp.patch("/uploads/<upload_id>")
@takes_chunks
@requires(Action.UPLOAD)
@operation("Send a chunk", tags=["uploads"], headers=ChunkHeaders, body=Body(CHUNK_BODY), touches_bytes=True,
           errors=_chunk_refusals, answers=lambda: {204: Answer(
               description=f"Kept; the last chunk's answer names the new video in `{_finished_name()}`.",
               headers={"Upload-Offset": OFFSET, "Upload-Expires": expires(), **_finished_doc()})},
           description="The chunk is kept whole or not at all. The last one makes the upload a video, after the checks "
           "of `POST /api/v1/files`; if they fail, it answers their error and the upload is gone.")
def append_to_upload(upload_id: str) -> tuple[str, int, dict[str, str]]:
    _require_tus()
    upload = resumable.get_upload(upload_id, caller_required().user)
    if request.mimetype != CHUNK_TYPE:
        raise NotAnUploadChunk()
    offset = _whole_number("Upload-Offset")
    return "", 204, _append(upload, offset)


@bp.delete("/uploads/<upload_id>")
@requires(Action.UPLOAD)
@operation("Cancel an upload (tus termination)", tags=["uploads"], operation_id="cancelUpload", headers=TusHeaders,
           touches_bytes=True, errors=lambda: _tus(UploadNotFound()), answers={204: Answer(description="Cancelled.")},
           description="Its bytes are removed; a finished upload's file stays.")
def delete_upload(upload_id: str) -> tuple[str, int]:
    _require_tus()
    resumable.delete_upload(resumable.get_upload(upload_id, caller_required().user))
    return "", 204

"""The one place that turns any error into a response: the table of statuses and error codes.

Services raise the domain errors of :mod:`portal.errors`, which know nothing of
HTTP; :data:`ERROR_STATUSES` gives each its status and its stable error code.
Under ``/api/`` every error is JSON ``{"error": {"code": ..., "message": ...}}``
(under ``/api/v2/``: RFC 9457 problem details, :mod:`.problems`);
elsewhere it is the site's error page. The API's documentation reads its error
codes and messages from this table too, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
import re
import sqlite3

from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from .. import errors
from ..extensions import db
from ..metrics import count_upload
from ..storage import StorageUnavailable
from ..uploads.request import portal_request
from .problems import problem_response
from .problems import wants_problem

log = logging.getLogger(__name__)

#: Each domain error's status and error code. A subclass not listed takes its nearest listed base's.
ERROR_STATUSES: dict[type[errors.PortalError], tuple[int, str]] = {
    errors.PortalError: (500, "internal_error"),
    errors.InvalidInput: (400, "bad_request"),
    errors.MissingFile: (400, "missing_file"),
    errors.EmptyFile: (400, "empty_file"),
    errors.FileNotAccepted: (400, "file_not_accepted"),
    errors.InvalidUsername: (400, "invalid_username"),
    errors.InvalidPassword: (400, "invalid_password"),
    errors.InvalidRole: (400, "invalid_role"),
    errors.InvalidScope: (400, "invalid_scope"),
    errors.InvalidExpiry: (400, "invalid_expiry"),
    errors.CsrfTokenMissing: (400, "csrf_failed"),
    errors.WrongPassword: (400, "wrong_password"),
    errors.InvalidShareDays: (400, "invalid_days"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.SignInFailed: (401, "sign_in_failed"),
    errors.Forbidden: (403, "forbidden"),
    errors.VideoNotFound: (404, "not_found"),
    errors.PosterNotFound: (404, "poster_not_found"),
    errors.PlaybackNotReady: (404, "playback_not_ready"),
    errors.ShareNotFound: (404, "share_not_found"),
    errors.UserNotFound: (404, "user_not_found"),
    errors.TokenNotFound: (404, "token_not_found"),
    errors.UploadNotFound: (404, "upload_not_found"),
    errors.UserExists: (409, "user_exists"),
    errors.OffsetMismatch: (409, "offset_mismatch"),
    errors.UnsupportedTusVersion: (412, "tus_version"),
    errors.LastAdmin: (409, "last_admin"),
    errors.FileUnavailable: (409, "file_unavailable"),
    errors.UploadTooLarge: (413, "too_large"),
    errors.QuotaExceeded: (413, "quota_exceeded"),
    errors.InvalidQuota: (400, "invalid_quota"),
    errors.BodyTooLarge: (413, "too_large"),
    errors.NotAVideo: (415, "unsupported_media_type"),
    errors.NotAnUploadChunk: (415, "not_an_upload_chunk"),
    errors.RangeNotSatisfiable: (416, "range_not_satisfiable"),
    errors.ChecksumMismatch: (422, "checksum_mismatch"),
    errors.UploadBusy: (423, "upload_busy"),
    errors.TooManyAttempts: (429, "too_many_requests"),
    errors.TooManyOpenUploads: (429, "too_many_open_uploads"),
    errors.TooManyVerifies: (429, "too_many_verifies"),
    errors.DatabaseUnavailable: (503, "service_unavailable"),
    errors.StoreUnreachable: (503, "storage_unavailable"),
    errors.QueueUnavailable: (503, "queue_unavailable"),
    errors.ServerStopping: (503, "server_stopping"),
    errors.InsufficientStorage: (507, "insufficient_storage"),
    errors.ChunkChecksumMismatch: (460, "chunk_checksum_mismatch"),
    # A video's details and v2's catalog.
    errors.InvalidCursor: (400, "invalid_cursor"),
    errors.InvalidDetails: (422, "invalid_details"),
    errors.UnsupportedBodyType: (415, "unsupported_body_type"),
    errors.StaleDetails: (412, "precondition_failed"),
    errors.DetailsVersionRequired: (428, "precondition_required"),
    errors.CaptionNotFound: (404, "caption_not_found"),
    errors.InvalidLanguage: (400, "invalid_language"),
    errors.CaptionTooLarge: (413, "caption_too_large"),
    errors.InvalidCaption: (422, "invalid_caption"),
    errors.StaleCaption: (412, "precondition_failed"),
    errors.CaptionVersionRequired: (428, "precondition_required"),
}


#: What a 401 asks for: an API token (RFC 6750), in the portal's one realm.
BEARER_CHALLENGE = 'Bearer realm="portal"'


def status_of(error_type: type[errors.PortalError]) -> tuple[int, str]:
    """The status and error code of a domain error, from the table (nearest listed base)."""
    for klass in error_type.__mro__:
        if klass in ERROR_STATUSES:
            return ERROR_STATUSES[klass]
    raise AssertionError(f"{error_type} is not a PortalError")


def _snake_case(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, code: str, message: str, facts: dict[str, object] | None = None) -> Response:
    """The error as problem details, v1's JSON or the site's page.

    ``facts`` (numbers) become extension members of problem details; v1's
    body keeps its two members (its schema allows no more), and its message
    says the same numbers in words.
    """
    if wants_problem():
        return problem_response(status, code, message, facts)
    if wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        response = Response(render_template("errors/error.html", status=status, code=code, message=message))
    response.status_code = status
    return response


def handle_portal_error(error: errors.PortalError) -> Response:
    status, code = status_of(type(error))
    response = render_error(status, code, error.message, error.facts())
    if isinstance(error, errors.RangeNotSatisfiable):
        response.headers["Content-Range"] = f"bytes */{error.size}"
    elif isinstance(error, errors.Unauthorized):
        response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    elif isinstance(error, errors.TooManyRequests) and error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _too_large_message() -> str:
    """Werkzeug raises the same 413 for a body over the limit and for a form with too many parts."""
    length = request.content_length
    if length is None or length > portal_request().body_limit():
        return portal_request().too_large().message
    return (
        "The form has too many parts, or a field that is not a file is too large: "
        "send one video in the multipart field 'file'."
    )


def handle_http_exception(error: HTTPException) -> Response:
    if isinstance(error, CSRFError):
        return render_error(400, "form_expired", errors.FORM_EXPIRED_MESSAGE)
    status = error.code or 500
    message = error.description or ""
    if isinstance(error, RequestEntityTooLarge):
        message = _too_large_message()
        too_large = message == errors.UploadTooLarge(current_app.config["MAX_CONTENT_LENGTH"]).message
        if too_large and portal_request().takes_uploads():
            # Refused by its Content-Length before a byte was stored: an upload all the same.
            count_upload("too_large")
    code = "too_large" if status == 413 else _snake_case(error.name)
    response = render_error(status, code, message)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_database_unavailable(error: OperationalError) -> Response:
    db.session.rollback()
    if getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        # The disk is full, not the database busy: waiting would not help, freeing space would.
        log.warning("database cannot grow, disk full: %s", error)
        return handle_portal_error(errors.InsufficientStorage())
    log.warning("database unavailable: %s", error)
    return handle_portal_error(errors.DatabaseUnavailable())


def handle_storage_unavailable(error: StorageUnavailable) -> Response:
    log.warning("storage unavailable: %s", error)
    db.session.rollback()
    return handle_portal_error(errors.StoreUnreachable())


def handle_unexpected(error: Exception) -> Response:
    if current_app.debug:
        # In development (``make dev``) the error goes on to Werkzeug's interactive
        # debugger; in production it is logged and answered with the JSON or HTML 500.
        raise error
    log.exception("unhandled error")
    db.session.rollback()
    return handle_portal_error(errors.PortalError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(errors.PortalError, handle_portal_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(StorageUnavailable, handle_storage_unavailable)
    app.register_error_handler(Exception, handle_unexpected)

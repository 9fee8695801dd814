"""Domain errors and the one place that turns any error into a response.

The service raises :class:`PortalError` subclasses; views never build error
responses themselves. Under ``/api/`` every error is JSON
``{"error": {"code": ..., "message": ...}}``; elsewhere it is an HTML page.
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

from .extensions import db
from .storage import StorageUnavailable

log = logging.getLogger(__name__)


class PortalError(Exception):
    status = 500
    code = "internal_error"
    message = "Something went wrong on the server."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class BadRequest(PortalError):
    status = 400
    code = "bad_request"


class MissingFile(PortalError):
    status = 400
    code = "missing_file"
    message = "No file was sent: attach the video as the multipart field 'file'."


class EmptyFile(PortalError):
    status = 400
    code = "empty_file"
    message = "The file is empty: choose a video that has content."


class VideoNotFound(PortalError):
    status = 404
    code = "not_found"
    message = "No video has this id. It may have been deleted."


class FileUnavailable(PortalError):
    """The stored bytes no longer match the checksum, or are gone."""

    status = 409
    code = "file_unavailable"


class UploadTooLarge(PortalError):
    status = 413
    code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {format_bytes(limit)} ({limit} bytes).")
        self.limit = limit


class NotAVideo(PortalError):
    status = 415
    code = "unsupported_media_type"


class ChecksumMismatch(PortalError):
    status = 422
    code = "checksum_mismatch"


class InsufficientStorage(PortalError):
    status = 507
    code = "insufficient_storage"
    message = "The server has no space left to store this file. Nothing was kept; try again later."


class ServiceUnavailable(PortalError):
    status = 503
    code = "service_unavailable"
    message = "The database is busy or unavailable. Nothing was changed; try again in a moment."


#: Said for any CSRF failure (missing, wrong or stale token): the usual cause is a page left open too long.
FORM_EXPIRED_MESSAGE = "Sorry, the form expired, please try again."


class StorageUnavailableError(PortalError):
    status = 503
    code = "storage_unavailable"
    message = "The file store cannot be reached. Nothing was changed; try again in a moment."


def format_bytes(size: int) -> str:
    """Human units (binary), e.g. ``1.5 MiB``."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _snake_case(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, code: str, message: str) -> Response:
    if wants_json():
        response = jsonify(error={"code": code, "message": message})
    else:
        response = Response(render_template("errors/error.html", status=status, code=code, message=message))
    response.status_code = status
    return response


def handle_portal_error(error: PortalError) -> Response:
    return render_error(error.status, error.code, error.message)


def _too_large_message() -> str:
    """Werkzeug raises the same 413 for a body over the limit and for a form with too many parts."""
    length = request.content_length
    if length is None or length > (request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]):
        return UploadTooLarge(current_app.config["MAX_CONTENT_LENGTH"]).message
    return (
        "The form has too many parts, or a field that is not a file is too large: "
        "send one video in the multipart field 'file'."
    )


def handle_http_exception(error: HTTPException) -> Response:
    if isinstance(error, CSRFError):
        return render_error(400, "form_expired", FORM_EXPIRED_MESSAGE)
    status = error.code or 500
    message = error.description or ""
    if isinstance(error, RequestEntityTooLarge):
        message = _too_large_message()
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
        return handle_portal_error(InsufficientStorage())
    log.warning("database unavailable: %s", error)
    return handle_portal_error(ServiceUnavailable())


def handle_storage_unavailable(error: StorageUnavailable) -> Response:
    log.warning("storage unavailable: %s", error)
    db.session.rollback()
    return handle_portal_error(StorageUnavailableError())


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    db.session.rollback()
    return handle_portal_error(PortalError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(PortalError, handle_portal_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(StorageUnavailable, handle_storage_unavailable)
    app.register_error_handler(Exception, handle_unexpected)

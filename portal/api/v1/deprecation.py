"""Every answer of /api/v1 says that v1 is deprecated and where its successor is; with PORTAL_V1_SUNSET, until when.

``Deprecation: @<seconds>`` (RFC 9745: a structured-field date, the moment v1
was deprecated), ``Link: <...>; rel="successor-version"`` naming v2's
equivalent of the request's resource (or v2's document when there is none),
and ``Sunset`` (RFC 8594, an HTTP-date) only when the operator set one: v1
keeps working for as long as they want.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
from email.utils import format_datetime

from flask import Response
from flask import current_app
from flask import request
from flask import url_for
from werkzeug.routing import BuildError

from ...config import parse_sunset
from . import bp

#: When v1 was deprecated: the day v2 covered everything v1 does (its tokens, users and uploads).
DEPRECATED_AT = datetime(2026, 12, 8, tzinfo=timezone.utc)
DEPRECATION = f"@{int(DEPRECATED_AT.timestamp())}"
#: v1's endpoints whose v2 equivalent has another name; the others have the same name under ``api_v2``.
SUCCESSORS = {
    "list_files": "list_videos",
    "upload_file": "upload_video",
    "get_file": "get_video",
    "delete_file": "get_video",
    "download_file": "download_video",
    "playback_file": "play_video",
    "verify_file": "verify_video",
    "process_file": "process_video",
    "restore_file": "restore_video",
    "purge_file": "purge_video",
}


def successor_url() -> str:
    """v2's URL of what this request names (a video's, the trash's...), else v2's document."""
    name = (request.endpoint or "").rpartition(".")[2]
    try:
        return url_for(f"api_v2.{SUCCESSORS.get(name, name)}", **(request.view_args or {}))
    except BuildError:
        return url_for("api_v2.openapi_document")


@bp.after_request
def deprecation_headers(response: Response) -> Response:
    response.headers["Deprecation"] = DEPRECATION
    response.headers.add("Link", f'<{successor_url()}>; rel="successor-version"')
    sunset = parse_sunset(current_app.config["V1_SUNSET"])
    if sunset is not None:
        response.headers["Sunset"] = format_datetime(sunset, usegmt=True)
    return response

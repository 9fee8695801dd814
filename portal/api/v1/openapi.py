"""The OpenAPI 3.1 document of /api/v1, kept beside the routes it describes.

Its shape is written out, because the contract (every status, header and
example a client may rely on) says more than the views do. Every fact that some
code enforces is read from that code instead, so the two cannot drift: each
error's status and code from :data:`portal.http.errors.ERROR_STATUSES`, its
example message from the domain error itself (or from the parser or the
permission check that refuses the input or the caller), the limits and
defaults from :mod:`portal.library.listing`, the formats from
:mod:`portal.library.formats`, and the upload limit and page size from the
app's settings. :func:`build_document` therefore runs in an app context.

``tests/api/test_v1_openapi.py`` compares it with the blueprint's URL map, so a
route added without its description, or a description left behind by a removed
route, fails the suite; schemathesis then checks the answers against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app

from ...accounts.models import ApiToken
from ...accounts.models import Role
from ...accounts.models import Scope
from ...accounts.models import User
from ...accounts.permissions import ACTION_SCOPES
from ...accounts.permissions import Action
from ...accounts.permissions import Caller
from ...accounts.permissions import check
from ...accounts.service import TOKEN_PREFIX
from ...errors import ChecksumMismatch
from ...errors import ChunkChecksumMismatch
from ...errors import CsrfTokenMissing
from ...errors import DatabaseUnavailable
from ...errors import EmptyFile
from ...errors import Forbidden
from ...errors import InsufficientStorage
from ...errors import InvalidInput
from ...errors import InvalidShareDays
from ...errors import MissingFile
from ...errors import NotAnUploadChunk
from ...errors import NotAVideo
from ...errors import OffsetMismatch
from ...errors import PlaybackNotReady
from ...errors import PortalError
from ...errors import PosterNotFound
from ...errors import QueueUnavailable
from ...errors import RangeNotSatisfiable
from ...errors import ShareNotFound
from ...errors import StoredCopyCorrupt
from ...errors import StoreUnreachable
from ...errors import TooManyOpenUploads
from ...errors import TooManyVerifies
from ...errors import Unauthorized
from ...errors import UnsupportedTusVersion
from ...errors import UploadBusy
from ...errors import UploadNotFound
from ...errors import UploadTooLarge
from ...errors import VideoNotFound
from ...extensions import MAX_ROW_ID
from ...http.auth import MALFORMED_AUTHORIZATION
from ...http.auth import UNUSABLE_TOKEN
from ...http.delivery import POSTER_CACHE_CONTROL
from ...http.errors import BEARER_CHALLENGE
from ...http.errors import status_of
from ...library.formats import ACCEPTED_FORMATS
from ...library.formats import FORMATS
from ...library.integrity import MAX_VERIFIES_PER_USER
from ...library.integrity import VERIFY_RETRY_AFTER
from ...library.listing import DEFAULT_SORT
from ...library.listing import MAX_PAGE
from ...library.listing import MAX_PER_PAGE
from ...library.listing import MAX_QUERY_LENGTH
from ...library.listing import SORT_VALUES
from ...library.listing import Listing
from ...library.listing import default_per_page
from ...library.models import ProcessingState
from ...library.models import Video
from ...library.trash import check_may_empty
from ...sharing.service import DEFAULT_DAYS
from ...sharing.service import MAX_DAYS
from ...sharing.service import MIN_DAYS
from ...sharing.service import revoke_refused
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.intake import upload_limit
from .routes import NO_BODY
from .routes import NO_FILE_IN_FORM
from .shares import BODY_INVALID_JSON
from .shares import BODY_NOT_AN_OBJECT
from .shares import BODY_NOT_JSON
from .shares import BODY_TOO_LONG
from .shares import unknown_field

PREFIX = "/api/v1"
VERSION = "1.0.0"

SHA256_PATTERN = "^[0-9a-fA-F]{64}$"
EXAMPLE_ID = "5f0c6a8e-2b1d-4c3e-9a7f-1e2d3c4b5a69"
EXAMPLE_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#: The checksum a client stated for a file that arrived damaged (the SHA-256 of nothing).
EXPECTED_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EXAMPLE_SIZE = 1048576
EXAMPLE_FILENAME = "holiday.mp4"
EXAMPLE_MEDIA = {
    "duration": 62.4,
    "width": 1920,
    "height": 1080,
    "video_codec": "h264",
    "audio_codec": "aac",
    "audio_tracks": [{"codec": "aac", "language": "eng", "channels": 2}, {"codec": "aac", "language": "fra", "channels": 2}],
    "frame_rate": 25.0,
    "bit_rate": 4718592,
    "container": "mp4",
}
EXAMPLE_FILE = {
    "id": EXAMPLE_ID,
    "filename": EXAMPLE_FILENAME,
    "content_type": "video/mp4",
    "size": EXAMPLE_SIZE,
    "sha256": EXAMPLE_SHA256,
    "status": "ok",
    "created_at": "2026-05-01T09:30:00.123456Z",
    "verified_at": "2026-05-01T09:30:00.123456Z",
    "owner": "alice",
    "url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}",
    "content_url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}/content",
    "media": EXAMPLE_MEDIA,
    "processing": {"state": "done", "error": None},
    "playback": {
        "url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}/playback",
        "content_type": "video/mp4",
        "source": "original",
        "sha256": EXAMPLE_SHA256,
    },
}
EXAMPLE_SHARE = {
    "id": 12,
    "expires_at": "2026-05-08T09:30:00.123456Z",
    "created_at": "2026-05-01T09:30:00.123456Z",
    "created_by": "alice",
}
EXAMPLE_NEW_SHARE = {
    "id": 12,
    "url": "http://localhost:8080/s/Xq3vJ9c0bF1mZtR8yWk2LpA7nD4eHs6u",
    "expires_at": "2026-05-08T09:30:00.123456Z",
}
EXAMPLE_ME = {
    "username": "alice",
    "role": "uploader",
    "scopes": ["read", "upload", "delete"],
    "token_id": 3,
    "trash": {"count": 1, "bytes": EXAMPLE_SIZE},
}
EXAMPLE_TRASHED_FILE = {
    **EXAMPLE_FILE,
    "deleted_at": "2026-05-02T10:00:00.123456Z",
    "deleted_by": "alice",
    "purge_at": "2026-06-01T10:00:00.123456Z",
}
#: Each content type a stored file can have, in the order of the formats table.
CONTENT_TYPES = list(dict.fromkeys(video_format.content_type for video_format in FORMATS))


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def error_body(error: PortalError) -> dict[str, Any]:
    """The JSON a client gets for ``error``: its code from the table of statuses, its own message."""
    return {"error": {"code": status_of(type(error))[1], "message": error.message}}


def refusal(parse: Callable[[], object]) -> InvalidInput:
    """The error a parser raises for bad input, so an example quotes the parser's own words."""
    try:
        parse()
    except InvalidInput as error:
        return error
    raise AssertionError(f"{parse} accepted its example of bad input")


def _error(description: str, **errors: PortalError) -> dict[str, dict[str, Any]]:
    """A JSON error response keyed by its status, with the code and message a client will actually see.

    The status comes from the table of statuses; several errors (named examples)
    share one response and must share its status.
    """
    statuses = {status_of(type(error))[0] for error in errors.values()}
    assert len(statuses) == 1, f"{description!r} mixes statuses {statuses}"
    media: dict[str, Any] = {"schema": _ref("schemas", "Error")}
    if len(errors) == 1:
        media["example"] = error_body(*errors.values())
    else:
        media["examples"] = {
            name: {"summary": name.replace("_", " ").capitalize(), "value": error_body(error)}
            for name, error in errors.items()
        }
    return {str(statuses.pop()): {"description": description, "content": {"application/json": media}}}


def _without_body(responses: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The same answers to HEAD: every status and header, no content."""
    return {status: {key: value for key, value in response.items() if key != "content"} for status, response in responses.items()}


def _unavailable(*, touches_bytes: bool) -> dict[str, dict[str, Any]]:
    """The 503 of an operation: the database, and the file store for those that read or change bytes."""
    if not touches_bytes:
        return _error("The database is busy or unavailable; nothing was changed.", database=DatabaseUnavailable())
    return _error(
        "The database or the file store is busy or cannot be reached; nothing was changed.",
        database=DatabaseUnavailable(),
        storage=StoreUnreachable(),
    )


def _not_found() -> dict[str, dict[str, Any]]:
    return _error("No file has this id.", not_found=VideoNotFound())


def _file_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "File"), "example": EXAMPLE_FILE}},
    }


# Request parameters carry their examples in the description: the interactive page
# fills a parameter's example into its field, and would send it with every try.
VIDEO_ID = {
    "name": "video_id",
    "in": "path",
    "required": True,
    "description": f"The file's id, as given by the upload (`id` in its JSON), e.g. `{EXAMPLE_ID}`.",
    "schema": {"type": "string"},
}

CONTENT_HEADERS = {
    "Content-Disposition": {
        "description": "`attachment` with the original name: an ASCII `filename` and, for other "
        "names, the RFC 6266 `filename*` in UTF-8.",
        "schema": {"type": "string"},
        "example": "attachment; filename=\"holiday.mp4\"",
    },
    "ETag": {
        "description": "The file's SHA-256, quoted; send it back in `If-None-Match` or `If-Range`.",
        "schema": {"type": "string"},
        "example": f'"{EXAMPLE_SHA256}"',
    },
    "Last-Modified": {"description": "When the file was uploaded.", "schema": {"type": "string"}},
    "Accept-Ranges": {"description": "Always `bytes`.", "schema": {"type": "string", "const": "bytes"}},
    "Repr-Digest": {
        "description": "RFC 9530 digest of the whole file, so a client can check what it received.",
        "schema": {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]{43}=:$"},
        "example": "sha-256=:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=:",
    },
}

CONTENT_RANGE = {
    "description": "The bytes sent, as `bytes FIRST-LAST/SIZE`.",
    "schema": {"type": "string", "pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"},
    "example": "bytes 0-1/1048576",
}

UNSATISFIABLE_RANGE = {
    "description": "`bytes */SIZE`: the size the range must fit in.",
    "schema": {"type": "string", "pattern": "^bytes \\*/[0-9]+$"},
    "example": f"bytes */{EXAMPLE_SIZE}",
}


def _content_responses(with_body: bool, playback: bool = False) -> dict[str, Any]:
    """The answers of GET and HEAD on the bytes (with ``playback``, of what a player should load); HEAD has no body."""
    video_body = {"schema": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}}
    whole: dict[str, Any] = {
        "description": "The whole file, with the stored content type. A file found damaged while it "
        "streams is marked corrupt and the connection is closed before the last bytes.",
        "headers": {**CONTENT_HEADERS, "Content-Length": {"schema": {"type": "integer", "minimum": 1}}},
    }
    part: dict[str, Any] = {
        "description": "One byte range of the file (`Range: bytes=0-1` included, as Safari asks).",
        "headers": {**CONTENT_HEADERS, "Content-Range": CONTENT_RANGE},
    }
    if with_body:
        whole["content"] = {"video/*": video_body, "application/octet-stream": video_body}
        part["content"] = {"video/*": video_body, "application/octet-stream": video_body}
    unsatisfiable = _error(
        "The range starts beyond the end of the file, or is a suffix of zero bytes (`bytes=-0`).",
        range_not_satisfiable=RangeNotSatisfiable(EXAMPLE_SIZE),
    )
    unsatisfiable["416"]["headers"] = {"Content-Range": UNSATISFIABLE_RANGE}
    missing = (
        _error(
            "No file has this id, or it needs a browser-playable copy that is not made yet (see its `processing`).",
            not_found=VideoNotFound(),
            playback_not_ready=PlaybackNotReady(),
        )
        if playback
        else _not_found()
    )
    errors = {
        **_refusals(Action.READ),
        **missing,
        **_error(
            "The stored bytes no longer match the checksum, or are gone: the file is not served.",
            file_unavailable=StoredCopyCorrupt(EXAMPLE_FILENAME),
        ),
        **unsatisfiable,
        **_unavailable(touches_bytes=True),
    }
    return {
        "200": whole,
        "206": part,
        "304": {
            "description": "`If-None-Match` names the current ETag: the copy the client has is current.",
            "headers": {"ETag": CONTENT_HEADERS["ETag"]},
        },
        **(errors if with_body else _without_body(errors)),
    }


CONTENT_REQUEST_HEADERS = [
    {
        "name": "Range",
        "in": "header",
        "description": "One byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-500`. "
        "Several ranges in one request are answered with the whole file.",
        "schema": {"type": "string"},
    },
    {
        "name": "If-None-Match",
        "in": "header",
        "description": "An ETag from an earlier download: 304 when the file is still the same.",
        "schema": {"type": "string"},
    },
    {
        "name": "If-Range",
        "in": "header",
        "description": "An ETag or date: the range is sent only when it still matches, else the whole file.",
        "schema": {"type": "string"},
    },
]


# --- who may call ---------------------------------------------------------------

#: An operation that needs an account: an API token (or the web session's cookie).
SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}]
#: Why a change may be refused with 400 whatever its input: bearer requests never are.
CSRF_FAILED = "Sent with the web session's cookie but without the page's CSRF token in `X-CSRFToken`."
#: An operation open to everyone.
OPEN: list[dict[str, list[str]]] = []


def _viewing_security() -> list[dict[str, list[str]]]:
    """Listing and watching: with ``PUBLIC_VIEWING`` on, also without any credentials."""
    return [*SIGNED_IN, {}] if current_app.config["PUBLIC_VIEWING"] else SIGNED_IN


def forbidden(caller: Caller, action: Action, video: Video | None = None) -> Forbidden:
    """What :func:`~portal.accounts.permissions.check` says when it refuses, so examples quote its words."""
    try:
        check(caller, action, video)
    except Forbidden as error:
        return error
    raise AssertionError(f"{caller.username} may {action.value}: no example of a refusal")


def _example_caller(role: Role, scopes: set[Scope] | None = None) -> Caller:
    """A caller as the examples show them: signed in by the session, or by a token of ``scopes``."""
    user = User(id=1, username="alice", role=role.value)
    token = ApiToken(scopes=" ".join(sorted(scope.value for scope in scopes))) if scopes is not None else None
    return Caller(user, token=token)


def _unauthorized() -> dict[str, dict[str, Any]]:
    responses = _error(
        "No credentials, an `Authorization` header that is not `Bearer <token>`, or a token that is "
        "unknown, expired or revoked, or whose owner is disabled.",
        no_credentials=Unauthorized(),
        malformed_header=Unauthorized(MALFORMED_AUTHORIZATION),
        unusable_token=Unauthorized(UNUSABLE_TOKEN),
    )
    responses["401"]["headers"] = {
        "WWW-Authenticate": {
            "description": "What to send: an API token (RFC 6750).",
            "schema": {"type": "string", "const": BEARER_CHALLENGE},
        }
    }
    return responses


def _refusals(action: Action) -> dict[str, dict[str, Any]]:
    """The 401 and 403 of an operation that needs ``action``: the token's scope, the role, the owner."""
    other_scopes = set(Scope) - {ACTION_SCOPES[action]}
    refusals = {"missing_scope": forbidden(_example_caller(Role.ADMIN, other_scopes), action)}
    reasons = "the token lacks the scope"
    if action is not Action.READ:
        refusals["role_too_low"] = forbidden(_example_caller(Role.VIEWER), action)
        reasons = "the token lacks the scope, or the role is too low"
    if action in (Action.DELETE, Action.PROCESS, Action.SHARE):
        others = Video(owner=User(id=2, username="bob", role=Role.UPLOADER.value))
        refusals["someone_elses_file"] = forbidden(_example_caller(Role.UPLOADER), action, others)
        reasons = "the token lacks the scope, the role is too low, or an uploader's file is someone else's"
    return {**_unauthorized(), **_error(f"Signed in, but {reasons}.", **refusals)}


def _csrf_failed() -> dict[str, dict[str, Any]]:
    """The 400 of a change sent with the web session's cookie (as the pages' scripts do) without its CSRF token."""
    return _error(CSRF_FAILED, csrf_failed=CsrfTokenMissing())


def share_paths() -> dict[str, Any]:
    """The share-link operations: make, list and revoke the links that open one video to anyone."""
    share_id = {
        "name": "share_id",
        "in": "path",
        "required": True,
        "description": "The link's id, as given when it was made (`id`), e.g. `12`.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
    }
    return {
        f"{PREFIX}/files/{{video_id}}/shares": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "createShare",
                "tags": ["shares"],
                "summary": "Make a share link to the file",
                "description": "The file's owner or an admin may share it (a token needs the `upload` scope). "
                "The link (`url`, `/s/<token>`) opens a "
                "player page and the download of this one file to anyone who has it, without an account, until it "
                f"expires (after `days`, {MIN_DAYS} to {MAX_DAYS}, default {DEFAULT_DAYS}) or is revoked. Its token "
                "is not kept: the `url` is shown in this answer only.",
                "security": SIGNED_IN,
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _ref("schemas", "ShareRequest")}},
                },
                "responses": {
                    "201": {
                        "description": "Made: the link, shown this once.",
                        "content": {"application/json": {"schema": _ref("schemas", "NewShare"), "example": EXAMPLE_NEW_SHARE}},
                    },
                    **_refusals(Action.SHARE),
                    **_error(
                        "`days` is not a whole number from 1 to 90, or the body is not a JSON object of `days`; "
                        f"or: {CSRF_FAILED}",
                        csrf_failed=CsrfTokenMissing(),
                        invalid_days=InvalidShareDays(MIN_DAYS, MAX_DAYS),
                        not_json=InvalidInput(BODY_NOT_JSON),
                        invalid_json=InvalidInput(BODY_INVALID_JSON),
                        not_an_object=InvalidInput(BODY_NOT_AN_OBJECT),
                        unknown_field=unknown_field("expires"),
                        too_long=InvalidInput(BODY_TOO_LONG),
                    ),
                    **_not_found(),
                    **_unavailable(touches_bytes=False),
                },
            },
            "get": {
                "operationId": "listShares",
                "tags": ["shares"],
                "summary": "List the file's share links",
                "description": "The links not revoked, oldest first; expired ones too, as `expires_at` shows. "
                "The file's owner and admins see them, whoever made them. "
                "Their URLs are not listed: a token is not kept once its link is made.",
                "security": SIGNED_IN,
                "responses": {
                    **_refusals(Action.SHARE),
                    "200": {
                        "description": "The file's links.",
                        "content": {
                            "application/json": {"schema": _ref("schemas", "ShareList"), "example": {"items": [EXAMPLE_SHARE]}}
                        },
                    },
                    **_not_found(),
                    **_unavailable(touches_bytes=False),
                },
            },
        },
        f"{PREFIX}/shares/{{share_id}}": {
            "parameters": [share_id],
            "delete": {
                "operationId": "revokeShare",
                "tags": ["shares"],
                "summary": "Revoke a share link",
                "description": "The link stops working at once, for good. The video's owner, the link's maker and any admin may.",
                "security": SIGNED_IN,
                "responses": {
                    "204": {"description": "Revoked."},
                    **_csrf_failed(),
                    **_unauthorized(),
                    **_error(
                        "The caller neither owns the video nor made the link and is not an admin, or the token lacks the scope.",
                        someone_elses_link=revoke_refused("alice", "bob"),
                        missing_scope=forbidden(_example_caller(Role.ADMIN, {Scope.UPLOAD, Scope.DELETE}), Action.READ),
                    ),
                    **_error("No link has this id, or it was revoked already.", share_not_found=ShareNotFound()),
                    **_unavailable(touches_bytes=False),
                },
            },
        },
    }


def trash_paths() -> dict[str, Any]:
    """The trash: what ``DELETE /files/<id>`` moved there, restored or purged by whoever could delete it."""
    days = int(current_app.config["TRASH_DAYS"])
    per_page = default_per_page()
    paging = [
        {
            "name": "page",
            "in": "query",
            "description": "Page number, from 1. An empty value means the default.",
            "allowEmptyValue": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "per_page",
            "in": "query",
            "description": f"Files per page, at most {MAX_PER_PAGE}. An empty value means the default.",
            "allowEmptyValue": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": per_page},
        },
        {
            "name": "q",
            "in": "query",
            "description": "Only files whose name contains this text (case-insensitive), e.g. `holiday`.",
            "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        },
    ]
    not_in_trash = _error("No file in the trash has this id (restored or purged meanwhile).", not_found=VideoNotFound())
    return {
        f"{PREFIX}/trash": {
            "get": {
                "operationId": "listTrash",
                "tags": ["trash"],
                "summary": "List the deleted files, the most recently deleted first",
                "description": f"Files stay in the trash for {days} days (the portal's `TRASH_DAYS`), then are "
                "purged. Admins see everyone's; uploaders their own. A token needs the `delete` scope.",
                "security": SIGNED_IN,
                "parameters": paging,
                "responses": {
                    "200": {
                        "description": "One page of the trash.",
                        "content": {
                            "application/json": {
                                "schema": _ref("schemas", "TrashPage"),
                                "example": {"items": [EXAMPLE_TRASHED_FILE], "total": 1, "page": 1, "per_page": per_page},
                            }
                        },
                    },
                    **_error(
                        "A parameter is not valid.",
                        bad_request=refusal(lambda: Listing.parse(per_page=str(MAX_PER_PAGE + 1))),
                    ),
                    **_refusals(Action.DELETE),
                    **_unavailable(touches_bytes=False),
                },
            },
            "delete": {
                "operationId": "emptyTrash",
                "tags": ["trash"],
                "summary": "Empty the trash",
                "description": "Purges every file in the trash, everyone's, with all its stored objects: admins only.",
                "security": SIGNED_IN,
                "responses": {
                    "204": {"description": "Emptied."},
                    **_csrf_failed(),
                    **_unauthorized(),
                    **_error(
                        "The caller is not an admin, or the token lacks the scope.",
                        not_an_admin=_refused_emptying(),
                        missing_scope=forbidden(_example_caller(Role.ADMIN, {Scope.READ, Scope.UPLOAD}), Action.DELETE),
                    ),
                    **_unavailable(touches_bytes=True),
                },
            },
        },
        f"{PREFIX}/trash/{{video_id}}/restore": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "restoreFile",
                "tags": ["trash"],
                "summary": "Restore a deleted file",
                "description": "The file is back as it was: same id, checksum, owner, media and share links. "
                "Whoever could delete it may restore it.",
                "security": SIGNED_IN,
                "responses": {
                    "200": _file_response("Restored: the file's JSON."),
                    **_csrf_failed(),
                    **_refusals(Action.DELETE),
                    **not_in_trash,
                    **_unavailable(touches_bytes=False),
                },
            },
        },
        f"{PREFIX}/trash/{{video_id}}": {
            "parameters": [VIDEO_ID],
            "delete": {
                "operationId": "purgeFile",
                "tags": ["trash"],
                "summary": "Delete a file in the trash for good",
                "description": "The row and every stored object (bytes, poster, copies) are removed; this cannot "
                "be undone. Whoever could delete the file may purge it.",
                "security": SIGNED_IN,
                "responses": {
                    "204": {"description": "Deleted for good."},
                    **_csrf_failed(),
                    **_refusals(Action.DELETE),
                    **not_in_trash,
                    **_unavailable(touches_bytes=True),
                },
            },
        },
    }


def _refused_emptying() -> Forbidden:
    """What an uploader who asks to empty the trash is told, in the trash service's words."""
    try:
        check_may_empty(_example_caller(Role.UPLOADER))
    except Forbidden as error:
        return error
    raise AssertionError("an uploader may empty the trash: no example of a refusal")


# --- tus resumable uploads (/uploads) ------------------------------------------


def _header(name: str, description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


def _tus_errors() -> dict[str, dict[str, Any]]:
    """What every tus request may be refused with: no tus 1.0.0, the owner's scope, the database."""
    return {
        **_error("The request does not send `Tus-Resumable: 1.0.0`; `Tus-Version` lists what is spoken.",
                 tus_version=UnsupportedTusVersion()),
        **_refusals(Action.UPLOAD),
        **_unavailable(touches_bytes=True),
    }


def _too_many_verifies() -> dict[str, dict[str, Any]]:
    """The 429 of a verify past the caller's verifies in progress (verifies of one file share one run)."""
    responses = _error(
        f"The caller has {MAX_VERIFIES_PER_USER} verifies in progress already; `Retry-After` says when to try again. "
        "Verifies of one file that overlap share one reading of it and all answer its result.",
        too_many_verifies=TooManyVerifies(MAX_VERIFIES_PER_USER, VERIFY_RETRY_AFTER),
    )
    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return responses


def _too_many_open_uploads(hours: float) -> dict[str, dict[str, Any]]:
    """The 429 of a creation past PORTAL_MAX_OPEN_UPLOADS, with the seconds until the caller's first upload expires."""
    limit = current_app.config["MAX_OPEN_UPLOADS"]
    responses = _error(
        "The caller holds `PORTAL_MAX_OPEN_UPLOADS` unfinished uploads already: finish one, cancel one (`DELETE`), "
        "or wait for one to expire (`Retry-After`: seconds until the first does).",
        too_many_open_uploads=TooManyOpenUploads(limit, limit, hours, 3600),
    )
    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return responses


def upload_paths() -> dict[str, Any]:
    """tus 1.0.0 (core, creation, creation-with-upload, termination, expiration, checksum) at /uploads."""
    from .uploads import CHUNK_TYPE
    from .uploads import FILE_URL_HEADER
    from .uploads import TUS_EXTENSIONS
    from .uploads import TUS_VERSION
    from .uploads import parse_upload_checksum

    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    limit = upload_limit()
    tus = _header("Tus-Resumable", "The tus version the client speaks.", {"type": "string", "const": TUS_VERSION})
    upload_id = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    text = {"schema": {"type": "string"}}
    offset = {"description": "Bytes of the file the portal holds.", "schema": {"type": "integer", "minimum": 0}}
    expires = {"description": f"When the unfinished upload is removed: {hours} hours after its last chunk.", **text}
    file_url = {"description": "The finished upload's file JSON (`GET /api/v1/files/{video_id}`).", **text}
    not_found = _error("No upload of the caller's has this URL (never, someone else's, cancelled or expired).",
                       not_found=UploadNotFound())
    finishing = {
        **_error("The last chunk completed a file that is not a video (the upload is gone).",
                 not_a_video=NotAVideo(ACCEPTED_FORMATS)),
        **_error("The file's SHA-256 is not the `sha256` of its metadata (the upload is gone).",
                 checksum_mismatch=ChecksumMismatch("0" * 64, "f" * 64)),
        **_error("No room to keep the file (the upload is gone).", insufficient_storage=InsufficientStorage()),
    }
    chunk_body = {
        "required": True,
        "content": {CHUNK_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
    chunk_headers = [
        tus,
        _header("Upload-Offset", "Where the chunk starts: the upload's current offset.", {"type": "integer", "minimum": 0}),
        _header("Upload-Checksum", "`sha1 <base64>` or `sha256 <base64>` of the chunk; a mismatch keeps nothing.",
                {"type": "string"}, required=False),
    ]
    chunk_refusals = {
        **_error("A header is malformed, or the chunk runs past the upload's length.",
                 bad_checksum_header=refusal(lambda: parse_upload_checksum("md5 AAAA"))),
        **_error("The chunk does not start at the upload's offset.", offset_mismatch=OffsetMismatch(1024, 0)),
        **_error("The body is not sent as `application/offset+octet-stream`.", not_a_chunk=NotAnUploadChunk()),
        **_error("Another request is writing to this upload; ask HEAD, then try again.", busy=UploadBusy()),
        **_error("The chunk does not match its `Upload-Checksum`; it was not kept.",
                 chunk_checksum=ChunkChecksumMismatch("sha256")),
    }
    return {
        f"{PREFIX}/uploads": {
            "options": {
                "operationId": "tusOptions",
                "tags": ["uploads"],
                "summary": "What tus this server speaks",
                "security": OPEN,
                "responses": {
                    "204": {
                        "description": "The version, extensions, size limit and checksum algorithms.",
                        "headers": {
                            "Tus-Resumable": {"schema": {"type": "string", "const": TUS_VERSION}},
                            "Tus-Version": {"schema": {"type": "string", "const": TUS_VERSION}},
                            "Tus-Extension": {"schema": {"type": "string", "const": TUS_EXTENSIONS}},
                            "Tus-Max-Size": {"schema": {"type": "integer", "const": limit}},
                            "Tus-Checksum-Algorithm": {"schema": {"type": "string", "const": "sha1,sha256"}},
                        },
                    }
                },
            },
            "post": {
                "operationId": "createUpload",
                "tags": ["uploads"],
                "summary": "Start a resumable upload (tus creation)",
                "description": "Send `Upload-Length` and `Upload-Metadata` (`filename`, and optionally `sha256`: "
                "the hex SHA-256 of the whole file, checked when the last byte arrives). A body sent as "
                f"`{CHUNK_TYPE}` is the first chunk (creation-with-upload). The upload belongs to the caller; "
                f"it is removed {hours} hours after its last chunk unless finished.",
                "security": SIGNED_IN,
                "parameters": [
                    tus,
                    _header("Upload-Length", f"The file's size in bytes, at most {limit}.",
                            {"type": "integer", "minimum": 1, "maximum": limit}),
                    _header("Upload-Metadata", "Comma-separated `key base64(value)`: `filename`, `sha256`.",
                            {"type": "string"}, required=False),
                ],
                "requestBody": {**chunk_body, "required": False},
                "responses": {
                    "201": {
                        "description": "Created; its URL is in `Location`.",
                        "headers": {"Location": text, "Upload-Expires": expires, "Upload-Offset": offset,
                                    FILE_URL_HEADER: file_url},
                    },
                    **_csrf_failed(),
                    **_error("The file is larger than the limit.", too_large=UploadTooLarge(limit)),
                    **_too_many_open_uploads(hours),
                    **_tus_errors(),
                },
            },
        },
        f"{PREFIX}/uploads/{{upload_id}}": {
            "parameters": [upload_id],
            "head": {
                "operationId": "getUploadOffset",
                "tags": ["uploads"],
                "summary": "How much of an upload the portal holds",
                "security": SIGNED_IN,
                "parameters": [tus],
                "responses": {
                    "200": {
                        "description": f"The offset to send from; a finished upload names its file in `{FILE_URL_HEADER}`.",
                        "headers": {"Upload-Offset": offset, "Upload-Length": offset, "Upload-Expires": expires,
                                    "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
                                    FILE_URL_HEADER: file_url},
                    },
                    **_without_body({**not_found, **_tus_errors()}),
                },
            },
            "patch": {
                "operationId": "appendToUpload",
                "tags": ["uploads"],
                "summary": "Send a chunk",
                "description": "The chunk is kept whole or not at all. The last one makes the upload a video, after the "
                "checks of `POST /api/v1/files`; if they fail, it answers their error and the upload is gone.",
                "security": SIGNED_IN,
                "parameters": chunk_headers,
                "requestBody": chunk_body,
                "responses": {
                    "204": {
                        "description": f"Kept; the last chunk's answer names the new file in `{FILE_URL_HEADER}`.",
                        "headers": {"Upload-Offset": offset, "Upload-Expires": expires, FILE_URL_HEADER: file_url},
                    },
                    **_csrf_failed(),
                    **not_found,
                    **chunk_refusals,
                    **finishing,
                    **_tus_errors(),
                },
            },
            "delete": {
                "operationId": "cancelUpload",
                "tags": ["uploads"],
                "summary": "Cancel an upload (tus termination)",
                "description": "Its bytes are removed; a finished upload's file stays.",
                "security": SIGNED_IN,
                "parameters": [tus],
                "responses": {"204": {"description": "Cancelled."}, **_csrf_failed(), **not_found, **_tus_errors()},
            },
        },
    }


def trash_schemas() -> dict[str, Any]:
    moment = {"type": "string", "format": "date-time"}
    return {
        "TrashedFile": {
            "type": "object",
            "description": "A file in the trash: its JSON, and when and by whom it was deleted, and when it goes for good.",
            "required": list(EXAMPLE_TRASHED_FILE),
            "additionalProperties": False,
            "properties": {
                **FILE_PROPERTIES,
                "deleted_at": {**moment, "description": "When it was moved to the trash, UTC."},
                "deleted_by": {"type": ["string", "null"], "description": "The username of who deleted it."},
                "purge_at": {**moment, "description": "When it will be purged for good, UTC."},
            },
        },
        "TrashPage": {
            "type": "object",
            "required": ["items", "total", "page", "per_page"],
            "additionalProperties": False,
            "properties": {
                "items": {"type": "array", "items": _ref("schemas", "TrashedFile"), "maxItems": MAX_PER_PAGE},
                "total": {"type": "integer", "minimum": 0, "description": "Files in the trash matching `q`, on all pages."},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            },
        },
    }


def share_schemas() -> dict[str, Any]:
    moment = {"type": "string", "format": "date-time"}
    return {
        "ShareRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "days": {
                    "type": ["integer", "null"],
                    "minimum": MIN_DAYS,
                    "maximum": MAX_DAYS,
                    "default": DEFAULT_DAYS,
                    "description": "How many days the link works; null or left out means the default.",
                },
            },
        },
        "NewShare": {
            "type": "object",
            "required": ["id", "url", "expires_at"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "url": {"type": "string", "format": "uri", "description": "The link, `/s/<token>`; shown only now."},
                "expires_at": {**moment, "description": "When the link stops working, UTC."},
            },
        },
        "Share": {
            "type": "object",
            "required": ["id", "expires_at", "created_at", "created_by"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "expires_at": {**moment, "description": "When the link stops (or stopped) working, UTC."},
                "created_at": {**moment, "description": "When it was made, UTC."},
                "created_by": {"type": "string", "description": "The username of who made it."},
            },
        },
        "ShareList": {
            "type": "object",
            "required": ["items"],
            "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": _ref("schemas", "Share")}},
        },
    }



# What a job found about a file and where its processing is: the `media` and `processing` of a File.
AUDIO_TRACKS_SCHEMA = {
    "type": ["array", "null"],
    "description": "Every audio track, in the file's order (the first one's codec is `audio_codec`); "
    "empty without audio; null for a file probed before the portal listed them (process it again).",
    "items": {
        "type": "object",
        "required": ["codec", "language", "channels"],
        "additionalProperties": False,
        "properties": {
            "codec": {"type": "string", "description": "FFmpeg's codec name, e.g. `aac`, `opus`."},
            "language": {"type": ["string", "null"], "description": "ISO 639-2 tag (`eng`); null when the file does not say."},
            "channels": {"type": ["integer", "null"], "minimum": 1},
        },
    },
}
MEDIA_SCHEMA = {
    "type": ["object", "null"],
    "description": "What probing the file found; null until it has been probed.",
    "required": list(EXAMPLE_MEDIA),
    "additionalProperties": False,
    "properties": {
        "duration": {"type": ["number", "null"], "minimum": 0, "description": "Seconds."},
        "width": {"type": "integer", "minimum": 0, "description": "Pixels as shown: the sample aspect applied, "
                  "swapped with the height for a picture turned by a quarter."},
        "height": {"type": "integer", "minimum": 0, "description": "Pixels as shown."},
        "video_codec": {"type": "string", "description": "FFmpeg's codec name, e.g. `h264`, `hevc`, `vp9`."},
        "audio_codec": {"type": ["string", "null"], "description": "e.g. `aac`, `opus`; null without audio."},
        "audio_tracks": AUDIO_TRACKS_SCHEMA,
        "frame_rate": {"type": ["number", "null"], "minimum": 0, "description": "Frames per second."},
        "bit_rate": {"type": ["integer", "null"], "minimum": 0, "description": "Bits per second of the whole file."},
        "container": {"type": "string", "description": "e.g. `mp4`, `mov`, `webm`, `matroska`, `avi`."},
    },
}
PLAYBACK_SCHEMA = {
    "type": ["object", "null"],
    "description": "What a player should load: the original when browsers play it, else its playable copy; "
    "null while the copy is being made (or could not be: see `processing`).",
    "required": ["url", "content_type", "source", "sha256"],
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "`GET` it like `content_url`."},
        "content_type": {"type": "string", "examples": ["video/mp4", "video/webm"]},
        "source": {"type": "string", "enum": ["original", "copy"]},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Hex SHA-256 of what `url` sends."},
    },
}
PROCESSING_SCHEMA = {
    "type": "object",
    "description": "The work done on the file after its upload: `done` once everything it needs is there; "
    "`failed` says why in `error` (try again with POST .../process).",
    "required": ["state", "error"],
    "additionalProperties": False,
    "properties": {
        "state": {"type": "string", "enum": [state.value for state in ProcessingState]},
        "error": {"type": ["string", "null"], "description": "Why it failed; null unless `failed`."},
    },
}
#: The fields of a file's JSON (schema ``File``; a ``TrashedFile`` has these and more).
FILE_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid", "description": "Opaque, unguessable id."},
    "filename": {
        "type": "string",
        "maxLength": 255,
        "description": "The client's name, without folders or control characters.",
    },
    "content_type": {
        "type": "string",
        "enum": CONTENT_TYPES,
        "description": "Recognised from the bytes, not from the client's claim.",
        "example": "video/mp4",
    },
    "size": {"type": "integer", "minimum": 1, "description": "Bytes."},
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Hex SHA-256."},
    "status": {
        "type": "string",
        "enum": ["ok", "corrupt", "missing"],
        "description": "What the last look at the bytes found; only `ok` files are served.",
    },
    "created_at": {"type": "string", "format": "date-time", "description": "Upload time, UTC."},
    "verified_at": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "When the bytes were last checked against the checksum, UTC.",
    },
    "owner": {
        "type": ["string", "null"],
        "description": "The username of who uploaded it. Null only while no admin exists: "
        "files stored before the portal had accounts go to the first admin.",
    },
    "url": {"type": "string", "format": "uri", "description": "This file's JSON."},
    "content_url": {"type": "string", "format": "uri", "description": "This file's bytes."},
    "media": MEDIA_SCHEMA,
    "processing": PROCESSING_SCHEMA,
    "playback": PLAYBACK_SCHEMA,
}


def process_operation() -> dict[str, Any]:
    """``POST /files/<id>/process``: queue a file's processing again."""
    return {
        "operationId": "processFile",
        "tags": ["files"],
        "summary": "Queue the file's processing again",
        "description": "For a file whose processing failed, or to redo it: its owner or an admin; a token needs "
        "the `upload` scope. The file's `processing` is `queued` in the answer.",
        "security": SIGNED_IN,
        "responses": {
            "202": _file_response("Queued: the file's JSON."),
            **_csrf_failed(),
            **_refusals(Action.PROCESS),
            **_not_found(),
            **_error(
                "The database or the job queue is busy or cannot be reached; nothing was queued.",
                database=DatabaseUnavailable(),
                queue=QueueUnavailable(),
            ),
        },
    }


def poster_operation() -> dict[str, Any]:
    """``GET /files/<id>/poster``: the still picture its processing made."""
    return {
        "operationId": "getPoster",
        "tags": ["files"],
        "summary": "The file's poster",
        "description": "A JPEG still at about a tenth of the video (its first picture for very short clips), "
        "at most 640 pixels wide, made by the file's processing. Cacheable for a day by the caller's own "
        "cache (`private`: who may see it is decided per request); its ETag is its SHA-256.",
        "security": _viewing_security(),
        "parameters": [
            {
                "name": "If-None-Match",
                "in": "header",
                "description": "An ETag from an earlier answer: 304 when the poster is still the same.",
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "200": {
                "description": "The poster.",
                "headers": {
                    "ETag": {
                        "description": "The poster's SHA-256, quoted.",
                        "schema": {"type": "string"},
                        "example": f'"{EXAMPLE_SHA256}"',
                    },
                    "Cache-Control": {"schema": {"type": "string", "const": POSTER_CACHE_CONTROL}},
                },
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary", "contentMediaType": "image/jpeg"}}},
            },
            "304": {"description": "`If-None-Match` names the current ETag: the client's copy is current."},
            **_refusals(Action.READ),
            **_error(
                "No file has this id, or its poster is not made yet (see its `processing`).",
                not_found=VideoNotFound(),
                poster_not_found=PosterNotFound(),
            ),
            **_unavailable(touches_bytes=True),
        },
    }


def build_document() -> dict[str, Any]:
    """The whole document; paths are absolute, so it is served as is at any host.

    It reads the app's settings (page size, upload limit), so it runs in an app context.
    """
    per_page = default_per_page()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Portal API",
            "version": VERSION,
            "summary": "Store, list, download and delete videos, each kept with its SHA-256 checksum.",
            "description": (
                "Version 1 of the portal's JSON API. Every error is JSON "
                "`{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`; the message says what to fix. "
                "Unknown paths answer 404 and wrong methods 405 with an `Allow` header, in the same shape. "
                "Later versions are served beside this one under their own prefix; v1 does not change.\n\n"
                f"Send an API token (`{TOKEN_PREFIX}...`, made on the account page or with `flask tokens create`) as "
                "`Authorization: Bearer <token>`; press \"Authorize\" to try the operations here with one. "
                "The web session's cookie is taken too, for the pages' own scripts; a change sent with it needs "
                "the page's CSRF token in `X-CSRFToken`."
            ),
        },
        "tags": [
            {"name": "account", "description": "The caller's own account."},
            {"name": "files", "description": "Videos and their bytes."},
            {"name": "documentation", "description": "This document and its interactive page."},
            {"name": "shares", "description": "Links that open one file to anyone who has them, until they expire."},
            {"name": "trash", "description": "Deleted files, restorable until they are purged."},
            {"name": "uploads", "description": "Resumable uploads (tus 1.0.0) that survive a dropped connection."},
        ],
        "paths": {
            f"{PREFIX}/me": {
                "get": {
                    "operationId": "getMe",
                    "tags": ["account"],
                    "summary": "Who the caller is",
                    "description": "Any account may ask, whatever its token's scopes.",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": {
                            "description": "The caller: their role, and with a token its id and its scopes.",
                            "content": {"application/json": {"schema": _ref("schemas", "Me"), "example": EXAMPLE_ME}},
                        },
                        **_unauthorized(),
                        **_unavailable(touches_bytes=False),
                    },
                }
            },
            f"{PREFIX}/files": {
                "get": {
                    "operationId": "listFiles",
                    "tags": ["files"],
                    "summary": "List files, newest first",
                    "security": _viewing_security(),
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "description": "Page number, from 1. An empty value means the default.",
                            "allowEmptyValue": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "description": f"Files per page, at most {MAX_PER_PAGE}. An empty value means the default "
                            "(the portal's `PER_PAGE` setting).",
                            "allowEmptyValue": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": per_page},
                        },
                        {
                            "name": "q",
                            "in": "query",
                            "description": "Only files whose name contains this text (case-insensitive), "
                            "e.g. `holiday`.",
                            "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
                        },
                        {
                            "name": "sort",
                            "in": "query",
                            "description": "Order by a field; a leading `-` sorts descending. "
                            "An empty value means the default.",
                            "allowEmptyValue": True,
                            "schema": {"type": "string", "enum": list(SORT_VALUES), "default": DEFAULT_SORT},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of files.",
                            "content": {
                                "application/json": {
                                    "schema": _ref("schemas", "Page"),
                                    "example": {"items": [EXAMPLE_FILE], "total": 1, "page": 1, "per_page": per_page},
                                }
                            },
                        },
                        **_error(
                            "A parameter is not valid.",
                            bad_request=refusal(lambda: Listing.parse(per_page=str(MAX_PER_PAGE + 1))),
                        ),
                        **_refusals(Action.READ),
                        **_unavailable(touches_bytes=False),
                    },
                },
                "post": {
                    "operationId": "uploadFile",
                    "tags": ["files"],
                    "summary": "Upload one video",
                    "security": SIGNED_IN,
                    "description": (
                        "Send the video as the multipart field `file`, or as the raw request body (any "
                        "content type but multipart) with its name in the `filename` query parameter, which "
                        "is streamed with no multipart overhead. The video is recognised from its bytes "
                        f"({ACCEPTED_FORMATS}). "
                        "An expected SHA-256 (form field or query parameter `sha256`, or a `Content-Digest` "
                        "header) is checked: when the bytes differ, nothing is stored."
                    ),
                    "parameters": [
                        {
                            "name": "filename",
                            "in": "query",
                            "description": "The file's name for a raw-body upload, e.g. `holiday.mp4` "
                            "(a form upload brings its own).",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "sha256",
                            "in": "query",
                            "description": f"The SHA-256 the raw body must have, in hex, e.g. `{EXAMPLE_SHA256}`. "
                            "An empty value checks nothing.",
                            "allowEmptyValue": True,
                            "schema": {"type": "string", "pattern": SHA256_PATTERN},
                        },
                        {
                            "name": "Content-Digest",
                            "in": "header",
                            "description": "RFC 9530 digest the body must have, "
                            "e.g. `sha-256=:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=:`. Only `sha-256` "
                            "is checked; other algorithms in the list are ignored.",
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {"schema": _ref("schemas", "UploadForm")},
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"},
                            },
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Stored: the file's JSON. When the same bytes were stored already, "
                            "`duplicate_of` names the first file with them that the caller may see (their own; any, "
                            "for an admin): the bytes are stored once and shared, while this upload is a file of its "
                            "own. Without such a file the key is absent.",
                            "content": {"application/json": {"schema": _ref("schemas", "StoredFile"), "example": {
                                **EXAMPLE_FILE, "duplicate_of": "0b9f7a52-5a3c-4d64-9d3b-2f4c1e7a9e10"}}},
                            "headers": {
                                "Location": {
                                    "description": "The file's URL (its `url`).",
                                    "schema": {"type": "string", "format": "uri"},
                                }
                            },
                        },
                        **_error(
                            "No file, an empty file, more than one file, a form that cannot carry a file, "
                            f"or a malformed `sha256`/`Content-Digest`. {CSRF_FAILED}",
                            missing_file=MissingFile(),
                            form_encoded=MissingFile(NO_FILE_IN_FORM),
                            no_body=MissingFile(NO_BODY),
                            empty_file=EmptyFile(),
                            bad_sha256=refusal(lambda: parse_sha256_hex("not-hex")),
                            bad_content_digest=refusal(lambda: parse_content_digest("sha-256=:not-base64:")),
                            csrf_failed=CsrfTokenMissing(),
                        ),
                        **_refusals(Action.UPLOAD),
                        **_error(
                            "The file is larger than the portal accepts (its `MAX_CONTENT_LENGTH` setting).",
                            too_large=UploadTooLarge(upload_limit()),
                        ),
                        **_error(
                            "The bytes are not a video format the portal recognises.",
                            unsupported_media_type=NotAVideo(ACCEPTED_FORMATS),
                        ),
                        **_error(
                            "The bytes do not have the SHA-256 the client stated: nothing was stored.",
                            checksum_mismatch=ChecksumMismatch(EXAMPLE_SHA256, EXPECTED_SHA256),
                        ),
                        **_unavailable(touches_bytes=True),
                        **_error(
                            "The server's disk is full: nothing was stored.",
                            insufficient_storage=InsufficientStorage(),
                        ),
                    },
                },
            },
            f"{PREFIX}/files/{{video_id}}": {
                "parameters": [VIDEO_ID],
                "get": {
                    "operationId": "getFile",
                    "tags": ["files"],
                    "summary": "Describe one file",
                    "security": _viewing_security(),
                    "responses": {
                        "200": _file_response("The file's JSON; `status` tells whether its bytes are intact."),
                        **_refusals(Action.READ),
                        **_not_found(),
                        **_unavailable(touches_bytes=False),
                    },
                },
                "delete": {
                    "operationId": "deleteFile",
                    "tags": ["files"],
                    "summary": "Delete a file (to the trash)",
                    "description": "Uploaders delete their own files; admins any file. The file moves to the trash: "
                    "from then on it is not found here, and its bytes stay until it is purged after "
                    f"{int(current_app.config['TRASH_DAYS'])} days (the portal's `TRASH_DAYS`; 0 deletes at once) "
                    "or restored (`POST /api/v1/trash/{video_id}/restore`).",
                    "security": SIGNED_IN,
                    "responses": {
                        "204": {"description": "Moved to the trash (deleted for good when `TRASH_DAYS` is 0)."},
                        **_csrf_failed(),
                        **_refusals(Action.DELETE),
                        **_not_found(),
                        **_unavailable(touches_bytes=True),
                    },
                },
            },
            f"{PREFIX}/files/{{video_id}}/content": {
                "parameters": [VIDEO_ID],
                "get": {
                    "operationId": "downloadFile",
                    "tags": ["files"],
                    "summary": "Download the bytes",
                    "security": _viewing_security(),
                    "description": "Conditional and range requests are answered as HTTP says; every answer "
                    "carries the file's checksum as `ETag` and `Repr-Digest`.",
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=True),
                },
                "head": {
                    "operationId": "headFile",
                    "tags": ["files"],
                    "summary": "The download's headers, without the bytes",
                    "security": _viewing_security(),
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=False),
                },
            },
            f"{PREFIX}/files/{{video_id}}/playback": {
                "parameters": [VIDEO_ID],
                "get": {
                    "operationId": "playFile",
                    "tags": ["files"],
                    "summary": "The version a player should load",
                    "security": _viewing_security(),
                    "description": "The original when browsers play it as it is (H.264 with AAC or MP3 in MP4 "
                    "or MOV; VP8, VP9 or AV1 with Opus or Vorbis in WebM), else its browser-playable copy "
                    "(H.264/AAC MP4 or WebM, made by the file's processing), with the same ranges, ETag and "
                    "`Repr-Digest` guarantees as `/content`; the file's `playback` says which. `/content` "
                    "always gives the original.",
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=True, playback=True),
                },
                "head": {
                    "operationId": "headPlayback",
                    "tags": ["files"],
                    "summary": "The playback's headers, without the bytes",
                    "security": _viewing_security(),
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=False, playback=True),
                },
            },
            f"{PREFIX}/files/{{video_id}}/verify": {
                "parameters": [VIDEO_ID],
                "post": {
                    "operationId": "verifyFile",
                    "tags": ["files"],
                    "summary": "Re-check the stored bytes against the checksum now",
                    "security": SIGNED_IN,
                    "responses": {
                        "200": _file_response("The file's JSON after the check: `status` and `verified_at` are fresh."),
                        **_csrf_failed(),
                        **_refusals(Action.READ),
                        **_not_found(),
                        **_too_many_verifies(),
                        **_unavailable(touches_bytes=True),
                    },
                },
            },
            f"{PREFIX}/files/{{video_id}}/poster": {"parameters": [VIDEO_ID], "get": poster_operation()},
            f"{PREFIX}/files/{{video_id}}/process": {"parameters": [VIDEO_ID], "post": process_operation()},
            f"{PREFIX}/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "tags": ["documentation"],
                    "summary": "This document",
                    "security": OPEN,
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document of /api/v1.",
                            "content": {"application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
                        }
                    },
                }
            },
            f"{PREFIX}/docs": {
                "get": {
                    "operationId": "getDocumentationPage",
                    "tags": ["documentation"],
                    "summary": "Interactive documentation (this page)",
                    "security": OPEN,
                    "responses": {
                        "200": {
                            "description": "An HTML page that renders this document and can call the API.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            **share_paths(),
            **trash_paths(),
            **upload_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": f"An API token, `{TOKEN_PREFIX}...`. It does what its scopes say "
                    "(`read`, `upload`, `delete`; `metrics` reads `/metrics` only, outside this API), "
                    "never more than its owner's role allows.",
                }
            },
            "schemas": {
                "File": {
                    "type": "object",
                    "description": "A stored video.",
                    "required": list(EXAMPLE_FILE),
                    "additionalProperties": False,
                    "properties": FILE_PROPERTIES,
                    "example": EXAMPLE_FILE,
                },
                "StoredFile": {
                    "type": "object",
                    "description": "A file just uploaded, and the first file with the same bytes the caller may see.",
                    "required": list(EXAMPLE_FILE),
                    "additionalProperties": False,
                    "properties": {
                        **FILE_PROPERTIES,
                        "duplicate_of": {
                            "type": "string",
                            "description": "The id of a file with the same bytes: the caller's own, or anyone's for an "
                            "admin. Absent when there is none.",
                        },
                    },
                },
                "Me": {
                    "type": "object",
                    "required": ["username", "role", "trash"],
                    "additionalProperties": False,
                    "properties": {
                        "username": {"type": "string"},
                        "role": {"type": "string", "enum": [role.value for role in Role]},
                        "scopes": {
                            "type": "array",
                            "items": {"type": "string", "enum": [scope.value for scope in Scope]},
                            "uniqueItems": True,
                            "description": "Only with a token: what it may do, within the role.",
                        },
                        "token_id": {"type": "integer", "description": "Only with a token: its id (`tokens list`)."},
                        "trash": {
                            "type": "object",
                            "description": "What the trash the caller may act on holds (admins: everyone's).",
                            "required": ["count", "bytes"],
                            "additionalProperties": False,
                            "properties": {
                                "count": {"type": "integer", "minimum": 0, "description": "Files in the trash."},
                                "bytes": {"type": "integer", "minimum": 0, "description": "Their bytes and copies."},
                            },
                        },
                    },
                    "dependentRequired": {"scopes": ["token_id"], "token_id": ["scopes"]},
                },
                "Page": {
                    "type": "object",
                    "required": ["items", "total", "page", "per_page"],
                    "additionalProperties": False,
                    "properties": {
                        "items": {"type": "array", "items": _ref("schemas", "File"), "maxItems": MAX_PER_PAGE},
                        "total": {"type": "integer", "minimum": 0, "description": "Files matching `q`, on all pages."},
                        "page": {"type": "integer", "minimum": 1},
                        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "additionalProperties": False,
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "additionalProperties": False,
                            "properties": {
                                "code": {
                                    "type": "string",
                                    "pattern": "^[a-z0-9_]+$",
                                    "description": "Stable, for programs.",
                                },
                                "message": {"type": "string", "description": "For people: says what to fix."},
                            },
                        }
                    },
                },
                "UploadForm": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "contentMediaType": "application/octet-stream",
                            "description": "The video.",
                        },
                        "sha256": {
                            "type": "string",
                            "pattern": "^([0-9a-fA-F]{64})?$",
                            "description": f"The SHA-256 the file must have, in hex, e.g. `{EXAMPLE_SHA256}`; "
                            "empty or left out checks nothing.",
                            # The interactive page fills each form field with its example, default or a value
                            # made up from its pattern, and a made-up checksum fails every upload: the example
                            # lives in the description, and what the page fills in is what checks nothing.
                            "default": "",
                        },
                    },
                },
                **share_schemas(),
                **trash_schemas(),
            }
        },
    }

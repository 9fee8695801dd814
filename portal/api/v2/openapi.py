"""The OpenAPI 3.1 document of /api/v2, kept beside the routes it describes.

As v1's (:mod:`portal.api.v1.openapi`), every fact some code enforces is read
from that code: each problem's status and code from
:data:`portal.http.errors.ERROR_STATUSES`, its example detail from the domain
error itself or from the parser that refuses the input, the limits and sorts
from :mod:`portal.library.catalog` and :mod:`portal.library.models`. Every
operation also has a ``default`` problem response: whatever the status, an
error is ``application/problem+json``.

``tests/api/v2/test_v2_openapi.py`` compares it with the blueprint's URL map;
schemathesis (``tests/api/v2/test_v2_fuzz.py``) checks the answers against it.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

from ...accounts.models import Role
from ...accounts.models import Scope
from ...accounts.permissions import ACTION_ROLES
from ...accounts.permissions import ACTION_SCOPES
from ...accounts.permissions import Action
from ...accounts.service import TOKEN_PREFIX
from ...errors import BelowFreeSpaceFloor
from ...errors import CaptionNotFound
from ...errors import CaptionTooLarge
from ...errors import CaptionVersionRequired
from ...errors import ChecksumMismatch
from ...errors import CsrfTokenMissing
from ...errors import DatabaseUnavailable
from ...errors import DetailsVersionRequired
from ...errors import EmptyFile
from ...errors import FileUnavailable
from ...errors import InsufficientStorage
from ...errors import InvalidCursor
from ...errors import InvalidDetails
from ...errors import InvalidInput
from ...errors import InvalidLanguage
from ...errors import MissingFile
from ...errors import NotAVideo
from ...errors import PlaybackNotReady
from ...errors import PortalError
from ...errors import PosterNotFound
from ...errors import QuotaExceeded
from ...errors import RangeNotSatisfiable
from ...errors import ShareNotFound
from ...errors import StaleCaption
from ...errors import StaleDetails
from ...errors import StoredCopyCorrupt
from ...errors import StoreUnreachable
from ...errors import TooManyVerifies
from ...errors import Unauthorized
from ...errors import UnsupportedBodyType
from ...errors import UploadTooLarge
from ...errors import VideoNotFound
from ...extensions import MAX_ROW_ID
from ...http.errors import status_of
from ...http.problems import PROBLEM_MEDIA_TYPE
from ...http.problems import problem_body
from ...library import captions
from ...library import catalog
from ...library.formats import ACCEPTED_FORMATS
from ...library.integrity import MAX_VERIFIES_PER_USER
from ...library.integrity import VERIFY_RETRY_AFTER
from ...library.listing import MAX_QUERY_LENGTH
from ...library.models import MAX_CAPTION_LABEL_LENGTH
from ...library.models import MAX_DESCRIPTION_LENGTH
from ...library.models import MAX_LANGUAGE_LENGTH
from ...library.models import MAX_TAG_LENGTH
from ...library.models import MAX_TAGS
from ...library.models import MAX_TITLE_LENGTH
from ...library.models import CaptionSource
from ...library.models import ProcessingState
from ...sharing.service import DEFAULT_DAYS
from ...sharing.service import MAX_DAYS
from ...sharing.service import MIN_DAYS
from ...uploads.intake import upload_limit
from ..v1.openapi import AUDIO_TRACKS_SCHEMA
from ..v1.openapi import CONTENT_HEADERS
from ..v1.openapi import CONTENT_RANGE
from ..v1.openapi import CONTENT_REQUEST_HEADERS
from ..v1.openapi import EXAMPLE_FILENAME
from ..v1.openapi import EXAMPLE_ID
from ..v1.openapi import EXAMPLE_MEDIA
from ..v1.openapi import EXAMPLE_SHA256
from ..v1.openapi import EXAMPLE_SIZE
from ..v1.openapi import SHA256_PATTERN
from ..v1.openapi import UNSATISFIABLE_RANGE
from ..v1.openapi import _example_caller
from ..v1.openapi import _viewing_security
from ..v1.openapi import forbidden
from ..v1.routes import NO_BODY
from .captions import CAPTION_HINT
from .videos import EDITABLE_FIELDS
from .videos import MERGE_PATCH
from .videos import PATCH_HINT

PREFIX = "/api/v2"
VERSION = "2.0.0"
HOST = "http://localhost:8080"


@cache
def characters_of(categories: frozenset[str], but: str = "") -> str:
    """A regular expression's character class body of every BMP character in Unicode ``categories``, ``but`` these.

    Written as ``\\uXXXX`` ranges, which ECMA-262 (the patterns of JSON Schema)
    and Python read alike; characters beyond the BMP cannot be named without
    ECMA's ``u`` flag, so the few format characters there are refused by the
    server without the document saying so.
    """
    codes = [code for code in range(0x10000) if unicodedata.category(chr(code)) in categories and chr(code) not in but]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges)


def query_text_pattern() -> str:
    """Search text, a tag filter, an owner: no control character anywhere (the catalog refuses one with 400).

    A lookahead rather than ``^[^...]*$``, whose ``$`` Python lets match before a
    final line break, which is a control character too.
    """
    return f"^(?![\\s\\S]*[{characters_of(catalog.QUERY_CONTROL_CATEGORIES)}])"


def line_pattern() -> str:
    """A title or a tag as the catalog takes it: trimmed, then something with no control or format character in it."""
    refused = characters_of(catalog.CONTROL_CATEGORIES)
    return f"^\\s*[^\\s{refused}](?:[^{refused}]*[^\\s{refused}])?\\s*$"


def description_pattern() -> str:
    """A description: trimmed, then no control or format character but line breaks and tabs."""
    kept = characters_of(catalog.CONTROL_CATEGORIES, but=catalog.DESCRIPTION_CONTROLS)
    return f"^\\s*(?:[^{kept}]|\\r\\n)*\\s*$"


#: An ``If-Match`` that names some version: neither blank nor ``*`` (both are 428, as no ``If-Match`` is).
IF_MATCH_NAMES_A_VERSION = "^\\s*(?:[^\\s*]|\\*\\s*\\S)"

EXAMPLE_ETAG = '"rev-3"'
EXAMPLE_VIDEO = {
    "id": EXAMPLE_ID,
    "title": "Holiday in Crete",
    "description": "Two weeks by the sea.",
    "tags": ["holiday", "sea"],
    "filename": EXAMPLE_FILENAME,
    "content_type": "video/mp4",
    "size": EXAMPLE_SIZE,
    "sha256": EXAMPLE_SHA256,
    "status": "ok",
    "owner": "alice",
    "created_at": "2026-05-01T09:30:00.123456Z",
    "updated_at": "2026-05-03T18:00:00.654321Z",
    "verified_at": "2026-05-01T09:30:00.123456Z",
    "media": EXAMPLE_MEDIA,
    "processing": {"state": "done", "error": None},
    "playback": {
        "url": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/playback",
        "content_type": "video/mp4",
        "source": "original",
        "sha256": EXAMPLE_SHA256,
    },
    "links": {
        "self": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}",
        "content": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/content",
        "playback": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/playback",
        "poster": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/poster",
        "shares": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/shares",
    },
}
EXAMPLE_TRASHED_VIDEO = {
    **EXAMPLE_VIDEO,
    "deleted_at": "2026-05-04T10:00:00.123456Z",
    "deleted_by": "alice",
    "purge_at": "2026-06-03T10:00:00.123456Z",
}
EXAMPLE_CURSOR = "WyItY3JlYXRlZF9hdCIsIjIwMjYtMDUtMDFUMDk6MzA6MDAuMTIzNDU2KzAwOjAwIiwiNWYwYyJd.signature"
EXAMPLE_SHARE = {
    "id": 12,
    "expires_at": "2026-05-08T09:30:00.123456Z",
    "created_at": "2026-05-01T09:30:00.123456Z",
    "created_by": "alice",
}

SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}]
OPEN: list[dict[str, list[str]]] = []


def _too_many_verifies() -> dict[str, Any]:
    responses = _problems(
        "The caller has verifies in progress already; `Retry-After` says when to try again.",
        TooManyVerifies(MAX_VERIFIES_PER_USER, VERIFY_RETRY_AFTER),
        instance=f"{PREFIX}/videos/{{video_id}}/verify",
    )
    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    return responses


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problems(description: str, *examples: PortalError, instance: str = f"{PREFIX}/videos") -> dict[str, Any]:
    """The problem response of one status, with the details a client will really see for each example."""
    statuses = {status_of(type(error))[0] for error in examples}
    assert len(statuses) == 1, f"{description!r} mixes statuses {statuses}"
    status = statuses.pop()
    values = [problem_body(status, status_of(type(error))[1], error.message, instance) | error.facts() for error in examples]
    media: dict[str, Any] = {"schema": _ref("Problem")}
    if len(values) == 1:
        media["example"] = values[0]
    else:
        media["examples"] = {f"{value['code']}_{index}": {"value": value} for index, value in enumerate(values)}
    return {str(status): {"description": description, "content": {PROBLEM_MEDIA_TYPE: media}}}


#: Whatever else goes wrong (an unknown path, a body too large, a server error) is a problem too.
DEFAULT_PROBLEM = {
    "default": {
        "description": "Any other error, as problem details.",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _ref("Problem")}},
    }
}


def _refused(action: Action) -> dict[str, Any]:
    """401 and 403 of an operation that needs ``action``."""
    other_scopes = set(Scope) - {ACTION_SCOPES[action]}
    examples = [forbidden(_example_caller(Role.ADMIN, other_scopes), action)]
    if ACTION_ROLES[action] is not Role.VIEWER:
        examples.append(forbidden(_example_caller(Role.VIEWER), action))
    responses = {
        **_problems("No credentials, or a token that is unknown, expired or revoked.", Unauthorized()),
        **_problems("Signed in, but the token's scope, the role or the video's owner does not allow it.", *examples),
    }
    responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return responses


def _unavailable() -> dict[str, Any]:
    return _problems("The database or the file store is busy or cannot be reached.", DatabaseUnavailable(), StoreUnreachable())


def _changes(action: Action) -> dict[str, Any]:
    """The refusals every change shares: the CSRF check of cookie callers, 401/403, 503."""
    return {
        **_problems("Sent with the web session's cookie but without its CSRF token.", CsrfTokenMissing()),
        **_refused(action),
        **_unavailable(),
        **DEFAULT_PROBLEM,
    }


def _not_found() -> dict[str, Any]:
    return _problems("No video has this id (or it is in the trash).", VideoNotFound())


def _video(description: str, status: str = "200", etag: bool = True) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("Video"), "example": EXAMPLE_VIDEO}},
    }
    if etag:
        response["headers"] = {
            "ETag": {
                "description": "The version of the video's details: send it in `If-Match` to change them.",
                "schema": {"type": "string"},
                "example": EXAMPLE_ETAG,
            }
        }
    return {status: response}


VIDEO_ID = {
    "name": "video_id",
    "in": "path",
    "required": True,
    "description": f"The video's id (`id` in its JSON), e.g. `{EXAMPLE_ID}`.",
    "schema": {"type": "string"},
}
LIMIT = {
    "name": "limit",
    "in": "query",
    "description": f"Items per page, 1 to {catalog.MAX_LIMIT} (default {catalog.DEFAULT_LIMIT}).",
    "allowEmptyValue": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": catalog.MAX_LIMIT, "default": catalog.DEFAULT_LIMIT},
}
CURSOR = {
    "name": "cursor",
    "in": "query",
    "description": "`next_cursor` of the page before, exactly as received (with the same `sort`); none for the first page.",
    "schema": {"type": "string"},
}


def _content(with_body: bool, playback: bool = False) -> dict[str, Any]:
    """GET and HEAD of the bytes: v1's delivery, with problem details for its errors."""
    binary = {"schema": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}}
    whole: dict[str, Any] = {"description": "The whole file.", "headers": {**CONTENT_HEADERS}}
    part: dict[str, Any] = {"description": "One byte range.", "headers": {**CONTENT_HEADERS, "Content-Range": CONTENT_RANGE}}
    if with_body:
        whole["content"] = {"video/*": binary, "application/octet-stream": binary}
        part["content"] = {"video/*": binary, "application/octet-stream": binary}
    missing = [VideoNotFound(), PlaybackNotReady()] if playback else [VideoNotFound()]
    errors = {
        **_refused(Action.READ),
        **_problems("No video has this id, or its playable copy is not ready.", *missing),
        **_problems("The stored bytes no longer match their checksum.", StoredCopyCorrupt(EXAMPLE_FILENAME)),
        **_problems("The range lies outside the file.", RangeNotSatisfiable(EXAMPLE_SIZE)),
        **_unavailable(),
        **DEFAULT_PROBLEM,
    }
    errors["416"]["headers"] = {"Content-Range": UNSATISFIABLE_RANGE}
    if not with_body:
        errors = {
            status: {key: value for key, value in response.items() if key != "content"} for status, response in errors.items()
        }
    return {
        "200": whole,
        "206": part,
        "304": {"description": "`If-None-Match` names the current ETag.", "headers": {"ETag": CONTENT_HEADERS["ETag"]}},
        **errors,
    }


def _list_refusal() -> InvalidInput:
    try:
        catalog.CatalogQuery.parse(limit=str(catalog.MAX_LIMIT + 1))
    except InvalidInput as error:
        return error
    raise AssertionError("the limit was accepted")


def _details_refusal() -> InvalidDetails:
    try:
        catalog.clean_tags(["x" * (MAX_TAG_LENGTH + 1)])
    except InvalidDetails as error:
        return error
    raise AssertionError("the tag was accepted")


def video_paths() -> dict[str, Any]:
    content_operation = {"tags": ["videos"], "parameters": CONTENT_REQUEST_HEADERS}
    return {
        f"{PREFIX}/videos": {
            "get": {
                "operationId": "listVideos",
                "tags": ["videos"],
                "summary": "Search and list videos, a page at a time",
                "security": _viewing_security(),
                "description": (
                    "Pages follow each other by `cursor` (keyset pagination): a page is as quick far down the "
                    "library as at its top, and videos added meanwhile move no page. `total` is exact "
                    f"(`relation: eq`) up to {catalog.TOTAL_LIMIT:,} and a lower bound (`gte`) beyond. "
                    "Videos in the trash are never listed."
                ),
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "description": "Text anywhere in the title, description, tags or file name, in any case "
                        "and script, e.g. `olid` finds \"Holiday\".",
                        "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH, "pattern": query_text_pattern()},
                    },
                    {
                        "name": "tag",
                        "in": "query",
                        "description": "Only videos with exactly this tag; repeat it for videos with all of them.",
                        "style": "form",
                        "explode": True,
                        "schema": {
                            "type": "array",
                            "maxItems": catalog.MAX_TAG_FILTERS,
                            "items": {"type": "string", "maxLength": MAX_TAG_LENGTH, "pattern": query_text_pattern()},
                        },
                    },
                    {
                        "name": "owner",
                        "in": "query",
                        "description": "Only the videos of this user (any case), e.g. `alice`.",
                        "schema": {"type": "string", "pattern": query_text_pattern()},
                    },
                    {
                        "name": "sort",
                        "in": "query",
                        "description": "Order; a leading `-` is descending, ties by id.",
                        "allowEmptyValue": True,
                        "schema": {"type": "string", "enum": list(catalog.SORT_VALUES), "default": catalog.DEFAULT_SORT},
                    },
                    LIMIT,
                    CURSOR,
                ],
                "responses": {
                    "200": {
                        "description": "One page of videos.",
                        "content": {
                            "application/json": {
                                "schema": _ref("VideoPage"),
                                "example": {
                                    "items": [EXAMPLE_VIDEO],
                                    "next_cursor": EXAMPLE_CURSOR,
                                    "total": {"value": 10000, "relation": "gte"},
                                },
                            }
                        },
                    },
                    **_problems("A parameter is not valid, or the cursor is not one this listing gave.",
                                _list_refusal(), InvalidCursor()),
                    **_refused(Action.READ),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
            "post": {
                "operationId": "uploadVideo",
                "tags": ["videos"],
                "summary": "Upload one video",
                "description": (
                    "As v1's upload: the multipart field `file`, or the raw body with `?filename=`. "
                    f"Recognised from its bytes ({ACCEPTED_FORMATS}); an expected SHA-256 (`sha256`, or "
                    f"`Content-Digest`) is checked. At most {upload_limit()} bytes. Its title is the file name "
                    "without its extension until one is set."
                ),
                "security": SIGNED_IN,
                "parameters": [
                    {
                        "name": "filename",
                        "in": "query",
                        "description": "The name of a raw-body upload.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "sha256",
                        "in": "query",
                        "description": f"The SHA-256 the file must have, in hex, e.g. `{EXAMPLE_SHA256}` (a raw body "
                        "and a multipart form alike); an empty value checks nothing.",
                        "allowEmptyValue": True,
                        "schema": {"type": "string", "pattern": SHA256_PATTERN},
                    },
                    {
                        "name": "Content-Digest",
                        "in": "header",
                        "description": "RFC 9530 digest (`sha-256`).",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": _ref("UploadForm")},
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
                        },
                    },
                },
                "responses": {
                    "201": {
                        **_video("Stored.", status="201")["201"],
                        "description": "Stored. When the same bytes were stored already, `duplicate_of` names the "
                        "first video with them that the caller may see (their own; any, for an admin): the bytes are "
                        "stored once and shared, while this upload is a video of its own. Without such a video the "
                        "key is absent.",
                        "content": {"application/json": {"schema": _ref("StoredVideo"), "example": EXAMPLE_VIDEO}},
                    },
                    **_problems(
                        "No file, an empty one, or a malformed checksum.", MissingFile(), MissingFile(NO_BODY), EmptyFile()
                    ),
                    **_problems(
                        "The file is larger than the limit, or would take the caller past their quota "
                        "(`quota_exceeded`, with `usage_bytes`, `quota_bytes` and `size_bytes`; see `GET /api/v2/me`).",
                        UploadTooLarge(upload_limit()), QuotaExceeded(4 * 1024**3, 5 * 1024**3, 2 * 1024**3),
                    ),
                    **_problems("Not a video the portal recognises.", NotAVideo(ACCEPTED_FORMATS)),
                    **_problems(
                        "The bytes do not have the stated SHA-256; nothing was stored.",
                        ChecksumMismatch(EXAMPLE_SHA256, "0" * 64),
                    ),
                    **_problems(
                        "No space left to store it, or it would leave less free than `PORTAL_MIN_FREE_BYTES`.",
                        InsufficientStorage(), BelowFreeSpaceFloor(2 * 1024**3, 1024**3, 1536 * 1024**2),
                    ),
                    **_changes(Action.UPLOAD),
                },
            },
        },
        f"{PREFIX}/videos/{{video_id}}": {
            "parameters": [VIDEO_ID],
            "get": {
                "operationId": "getVideo",
                "tags": ["videos"],
                "summary": "One video",
                "security": _viewing_security(),
                "responses": {
                    **_video("The video."), **_refused(Action.READ), **_not_found(), **_unavailable(), **DEFAULT_PROBLEM
                },
            },
            "patch": {
                "operationId": "editVideo",
                "tags": ["videos"],
                "summary": "Change the title, description or tags",
                "description": (
                    f"A JSON merge patch (RFC 7396, `{MERGE_PATCH}`) of {', '.join(f'`{f}`' for f in EDITABLE_FIELDS)}: "
                    "a field left out stays, `null` clears it (the title becomes the file name without its extension "
                    "again). `If-Match` must name the video's current ETag (from its GET), so that of two people "
                    "editing one version the second is told (412) instead of overwriting the first. "
                    "The owner's or an admin's to do."
                ),
                "security": SIGNED_IN,
                "parameters": [
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": True,
                        "description": f"The ETag of the version edited, e.g. `{EXAMPLE_ETAG}`; `*` names no version "
                        "and is answered 428, as no `If-Match` is.",
                        "schema": {"type": "string", "pattern": IF_MATCH_NAMES_A_VERSION},
                    }
                ],
                "requestBody": {"required": True, "content": {MERGE_PATCH: {"schema": _ref("DetailsPatch")}}},
                "responses": {
                    **_video("Changed: the video, with its new ETag."),
                    **_not_found(),
                    **_problems("Someone saved a newer version first: GET it again.", StaleDetails()),
                    **_problems(
                        "The body is not a merge patch.",
                        UnsupportedBodyType(f"The body must be a JSON merge patch. {PATCH_HINT}"),
                    ),
                    **_problems("A field that cannot be changed, or a value that breaks a rule.", _details_refusal()),
                    **_problems(
                        "No `If-Match`, or `If-Match: *`.",
                        DetailsVersionRequired(), DetailsVersionRequired(catalog.STAR_NAMES_NO_VERSION),
                    ),
                    **_changes(Action.EDIT),
                },
            },
            "delete": {
                "operationId": "deleteVideo",
                "tags": ["videos"],
                "summary": "Move a video to the trash",
                "security": SIGNED_IN,
                "responses": {"204": {"description": "In the trash."}, **_not_found(), **_changes(Action.DELETE)},
            },
        },
        f"{PREFIX}/videos/{{video_id}}/content": {
            "parameters": [VIDEO_ID],
            "get": {**content_operation, "operationId": "downloadVideo", "summary": "The video's bytes, whole or a range",
                    "security": _viewing_security(), "responses": _content(True)},
            "head": {**content_operation, "operationId": "headVideo", "summary": "The download's headers only",
                     "security": _viewing_security(), "responses": _content(False)},
        },
        f"{PREFIX}/videos/{{video_id}}/playback": {
            "parameters": [VIDEO_ID],
            "get": {**content_operation, "operationId": "playVideo", "summary": "What a player should load",
                    "security": _viewing_security(), "responses": _content(True, playback=True)},
            "head": {**content_operation, "operationId": "headPlayback", "summary": "The playback's headers only",
                     "security": _viewing_security(), "responses": _content(False, playback=True)},
        },
        f"{PREFIX}/videos/{{video_id}}/poster": {
            "parameters": [VIDEO_ID],
            "get": {
                "operationId": "getPoster",
                "tags": ["videos"],
                "summary": "A still picture of the video",
                "security": _viewing_security(),
                "responses": {
                    "200": {
                        "description": "A JPEG.",
                        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "304": {"description": "`If-None-Match` names the current poster."},
                    **_refused(Action.READ),
                    **_problems("No such video, or no poster yet.", VideoNotFound(), PosterNotFound()),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
        },
        f"{PREFIX}/videos/{{video_id}}/verify": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "verifyVideo",
                "tags": ["videos"],
                "summary": "Check the stored bytes against the checksum now",
                "security": SIGNED_IN,
                "description": "Re-reads the whole file. Verifies of one video that overlap share one reading and "
                "all answer its result; a caller may have "
                f"{MAX_VERIFIES_PER_USER} in progress, past which the answer is 429 with `Retry-After`.",
                "responses": {
                    **_video("Checked: `status` says what was found."),
                    **_not_found(),
                    **_changes(Action.READ),
                    **_too_many_verifies(),
                },
            },
        },
        f"{PREFIX}/videos/{{video_id}}/process": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "processVideo",
                "tags": ["videos"],
                "summary": "Queue the video's processing again",
                "security": SIGNED_IN,
                "responses": {**_video("Queued.", status="202"), **_not_found(), **_changes(Action.PROCESS)},
            },
        },
    }


EXAMPLE_CAPTION_ETAG = f'"{EXAMPLE_SHA256}"'
EXAMPLE_CAPTION = {
    "language": "pt-BR",
    "label": "Português (Brasil)",
    "url": f"{HOST}{PREFIX}/videos/{EXAMPLE_ID}/captions/pt-BR",
    "source": CaptionSource.UPLOAD.value,
    "size": 1234,
    "sha256": EXAMPLE_SHA256,
    "created_at": "2026-05-01T09:30:00Z",
}
LANGUAGE = {
    "name": "language",
    "in": "path",
    "required": True,
    "description": "The caption's language, a BCP 47 tag (`en`, `pt-BR`, `zh-Hant`), in any case.",
    "schema": {"type": "string", "maxLength": MAX_LANGUAGE_LENGTH},
}
CAPTION_ETAG = {
    "ETag": {
        "description": "The caption's SHA-256, quoted: send it in `If-Match` to replace or remove it.",
        "schema": {"type": "string"},
        "example": EXAMPLE_CAPTION_ETAG,
    }
}


def _caption_refusals() -> dict[str, Any]:
    """Why a caption file is refused (nothing is stored): the service's own messages."""
    refused: list[PortalError] = []
    for raw in (b"caf\xe9", b"just words", b"1\n00:00:05,000 --> 00:00:02,000\nx\n"):
        try:
            captions.normalise(raw)
        except PortalError as error:
            refused.append(error)
    return _problems("Not UTF-8, not SRT or WebVTT, or a cue ends before it starts.", *refused)


def _if_match(required: bool, what: str) -> dict[str, Any]:
    return {
        "name": "If-Match",
        "in": "header",
        "required": required,
        "description": f"The caption's ETag (from its GET or PUT), e.g. `{EXAMPLE_CAPTION_ETAG}`: {what}",
        "schema": {"type": "string"},
    }


def caption_paths() -> dict[str, Any]:
    instance = f"{PREFIX}/videos/{EXAMPLE_ID}/captions/en"
    missing = _problems("No video has this id, or it has no caption in this language.", VideoNotFound(), CaptionNotFound())
    return {
        f"{PREFIX}/videos/{{video_id}}/captions": {
            "parameters": [VIDEO_ID],
            "get": {
                "operationId": "listCaptions",
                "tags": ["captions"],
                "summary": "The video's captions",
                "security": _viewing_security(),
                "responses": {
                    "200": {
                        "description": "Every caption, by language.",
                        "content": {"application/json": {"schema": _ref("CaptionList"), "example": {"items": [EXAMPLE_CAPTION]}}},
                    },
                    **_refused(Action.READ), **_not_found(), **_unavailable(), **DEFAULT_PROBLEM,
                },
            },
        },
        f"{PREFIX}/videos/{{video_id}}/captions/{{language}}": {
            "parameters": [VIDEO_ID, LANGUAGE],
            "get": {
                "operationId": "getCaption",
                "tags": ["captions"],
                "summary": "One caption, as WebVTT",
                "security": _viewing_security(),
                "responses": {
                    "200": {
                        "description": "The WebVTT (`text/vtt; charset=utf-8`, `X-Content-Type-Options: nosniff`).",
                        "headers": CAPTION_ETAG,
                        "content": {"text/vtt": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "`If-None-Match` names the current caption."},
                    **_refused(Action.READ),
                    **missing,
                    **_problems("The stored caption is missing or no longer matches its SHA-256.",
                                FileUnavailable("The stored 'en' caption no longer matches its SHA-256, so it is not served.")),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
            "put": {
                "operationId": "putCaption",
                "tags": ["captions"],
                "summary": "Add or replace the caption in a language",
                "description": (
                    f"{CAPTION_HINT} The file is SRT or WebVTT, UTF-8 (or UTF-16 with a byte-order mark), at most "
                    f"{captions.MAX_CAPTION_BYTES // (1024 * 1024)} MiB; it is kept as normalised WebVTT. Replacing a "
                    "caption needs `If-Match` with its ETag (428 without, 412 for another version). "
                    "The owner's or an admin's to do."
                ),
                "security": SIGNED_IN,
                "parameters": [
                    {
                        "name": "label",
                        "in": "query",
                        "required": True,
                        "description": "What the player's menu shows, e.g. `English`.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CAPTION_LABEL_LENGTH},
                    },
                    _if_match(False, "needed to replace one that exists."),
                ],
                "requestBody": {
                    "required": True,
                    "description": "The file as it is, under any content type (`text/vtt`, `application/x-subrip`, ...).",
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}
                        },
                    },
                },
                "responses": {
                    "200": {"description": "Replaced.", "headers": CAPTION_ETAG,
                            "content": {"application/json": {"schema": _ref("Caption"), "example": EXAMPLE_CAPTION}}},
                    "201": {"description": "Added.", "headers": {**CAPTION_ETAG, "Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": _ref("Caption"), "example": EXAMPLE_CAPTION}}},
                    **_problems("No body, no label, or a language that is not a BCP 47 tag.",
                                InvalidInput(f"The body is empty. {CAPTION_HINT}"),
                                InvalidLanguage("'english!' is not a language tag: give " + captions.LANGUAGE_HINT + "."),
                                instance=instance),
                    **_not_found(),
                    **_problems("The caption changed since the version named.", StaleCaption(), instance=instance),
                    **_problems("The file is over the limit.", CaptionTooLarge(
                        f"The caption file is larger than {captions.MAX_CAPTION_BYTES // (1024 * 1024)} MiB."),
                        instance=instance),
                    **_caption_refusals(),
                    **_problems("A caption exists in this language and no `If-Match` names it.", CaptionVersionRequired(),
                                instance=instance),
                    **_changes(Action.EDIT),
                },
            },
            "delete": {
                "operationId": "deleteCaption",
                "tags": ["captions"],
                "summary": "Remove the caption in a language",
                "security": SIGNED_IN,
                "parameters": [_if_match(True, "always needed.")],
                "responses": {
                    "204": {"description": "Removed, with its stored WebVTT."},
                    **missing,
                    **_problems("The caption changed since the version named.", StaleCaption(), instance=instance),
                    **_problems("No `If-Match`.", CaptionVersionRequired(), instance=instance),
                    **_changes(Action.EDIT),
                },
            },
        },
    }


def share_and_trash_paths() -> dict[str, Any]:
    share_id = {
        "name": "share_id",
        "in": "path",
        "required": True,
        "description": "The link's id, e.g. `12`.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
    }
    return {
        f"{PREFIX}/videos/{{video_id}}/shares": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "createShare",
                "tags": ["shares"],
                "summary": "Make a share link",
                "description": "For the video's owner or an admin (a token needs the `upload` scope): a link opens it to anyone.",
                "security": SIGNED_IN,
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("ShareRequest")}}},
                "responses": {
                    "201": {"description": "The link; its URL is shown only here.",
                            "content": {"application/json": {"schema": _ref("NewShare")}}},
                    **_not_found(),
                    **_changes(Action.SHARE),
                },
            },
            "get": {
                "operationId": "listShares",
                "tags": ["shares"],
                "summary": "The video's share links",
                "description": "Every live link, whoever made it: for the video's owner and admins.",
                "security": SIGNED_IN,
                "responses": {
                    "200": {"description": "Its links (never their URLs).",
                            "content": {
                                "application/json": {"schema": _ref("ShareList"), "example": {"items": [EXAMPLE_SHARE]}}
                            }},
                    **_refused(Action.SHARE),
                    **_not_found(),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
        },
        f"{PREFIX}/shares/{{share_id}}": {
            "parameters": [share_id],
            "delete": {
                "operationId": "revokeShare",
                "tags": ["shares"],
                "summary": "Revoke a share link",
                "security": SIGNED_IN,
                "responses": {
                    "204": {"description": "Revoked."}, **_problems("No such link.", ShareNotFound()), **_changes(Action.READ)
                },
            },
        },
        f"{PREFIX}/trash": {
            "get": {
                "operationId": "listTrash",
                "tags": ["trash"],
                "summary": "The trash, the most recently deleted first",
                "security": SIGNED_IN,
                "parameters": [LIMIT, CURSOR],
                "responses": {
                    "200": {
                        "description": "One page of the trash the caller may act on.",
                        "content": {"application/json": {"schema": _ref("TrashPage"), "example": {
                            "items": [EXAMPLE_TRASHED_VIDEO], "next_cursor": None, "total": {"value": 1, "relation": "eq"}}}},
                    },
                    **_problems("A parameter is not valid.", _list_refusal(), InvalidCursor()),
                    **_refused(Action.DELETE),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
            "delete": {
                "operationId": "emptyTrash",
                "tags": ["trash"],
                "summary": "Purge the whole trash (admins)",
                "security": SIGNED_IN,
                "responses": {"204": {"description": "Emptied."}, **_changes(Action.DELETE)},
            },
        },
        f"{PREFIX}/trash/{{video_id}}/restore": {
            "parameters": [VIDEO_ID],
            "post": {
                "operationId": "restoreVideo",
                "tags": ["trash"],
                "summary": "Put a video back in the library",
                "security": SIGNED_IN,
                "responses": {**_video("Restored.", etag=False), **_problems("Not in the trash.", VideoNotFound()),
                              **_changes(Action.DELETE)},
            },
        },
        f"{PREFIX}/trash/{{video_id}}": {
            "parameters": [VIDEO_ID],
            "delete": {
                "operationId": "purgeVideo",
                "tags": ["trash"],
                "summary": "Delete a trashed video for good",
                "security": SIGNED_IN,
                "responses": {"204": {"description": "Purged."}, **_problems("Not in the trash.", VideoNotFound()),
                              **_changes(Action.DELETE)},
            },
        },
    }


EXAMPLE_ME = {"id": 3, "name": "alice", "role": "uploader", "scopes": ["read", "upload"],
              "usage_bytes": 1288490189, "quota_bytes": 5368709120,
              "video_count": 12}


def account_paths() -> dict[str, Any]:
    return {
        f"{PREFIX}/me": {
            "get": {
                "operationId": "getMe",
                "tags": ["account"],
                "summary": "The caller, and how much of their quota they use",
                "description": (
                    "Usage counts each of the caller's videos (their trash too, until purged) and the declared length "
                    "of their resumable uploads in progress; an upload that would take it past `quota_bytes` is "
                    "refused with 413 `quota_exceeded`. `quota_bytes` null: unlimited. Any token may read it."
                ),
                "security": SIGNED_IN,
                "responses": {
                    "200": {"description": "The caller.",
                            "content": {"application/json": {"schema": _ref("Me"), "example": EXAMPLE_ME}}},
                    **_problems("No credentials, or a token that is unknown, expired or revoked.", Unauthorized(),
                                instance=f"{PREFIX}/me"),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            }
        },
    }


def documentation_paths() -> dict[str, Any]:
    return {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "tags": ["documentation"],
                "summary": "This document",
                "security": OPEN,
                "responses": {
                    "200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}},
                    **DEFAULT_PROBLEM,
                },
            }
        },
        f"{PREFIX}/docs": {
            "get": {
                "operationId": "getDocsPage",
                "tags": ["documentation"],
                "summary": "The interactive page of this document",
                "security": OPEN,
                "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}},
                              **DEFAULT_PROBLEM},
            }
        },
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def schemas() -> dict[str, Any]:
    timestamp = {"type": "string", "format": "date-time"}
    tag = {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH}
    link = {"type": "string", "format": "uri"}
    video_fields = {
        "id": {"type": "string", "format": "uuid"},
        "title": {"type": "string", "maxLength": MAX_TITLE_LENGTH},
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
        "tags": {"type": "array", "items": tag, "maxItems": MAX_TAGS},
        "filename": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer", "minimum": 1},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "status": {"type": "string", "enum": ["ok", "corrupt", "missing"]},
        "owner": {"type": ["string", "null"]},
        "created_at": timestamp,
        "updated_at": timestamp,
        "verified_at": {"type": ["string", "null"], "format": "date-time"},
        "media": _nullable(_ref("Media")),
        "processing": {
            "type": "object",
            "required": ["state", "error"],
            "properties": {
                "state": {"type": "string", "enum": [state.value for state in ProcessingState]},
                "error": {"type": ["string", "null"]},
            },
        },
        "playback": _nullable(_ref("Playback")),
        "links": {
            "type": "object",
            "required": ["self", "content", "playback", "poster", "shares"],
            "properties": {name: link for name in ("self", "content", "playback", "poster", "shares")},
        },
    }
    trash_fields = {
        "deleted_at": timestamp,
        "deleted_by": {"type": ["string", "null"]},
        "purge_at": timestamp,
    }
    total = {
        "type": "object",
        "required": ["value", "relation"],
        "properties": {
            "value": {"type": "integer", "minimum": 0, "maximum": catalog.TOTAL_LIMIT},
            "relation": {"type": "string", "enum": ["eq", "gte"]},
        },
    }

    def page(item: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "next_cursor", "total"],
            "properties": {"items": {"type": "array", "items": _ref(item)}, "next_cursor": {"type": ["string", "null"]},
                           "total": total},
        }

    return {
        "Me": {
            "type": "object",
            "required": ["id", "name", "role", "scopes", "usage_bytes", "quota_bytes", "video_count"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": [role.value for role in Role]},
                "scopes": {
                    **_nullable({"type": "array", "items": {"type": "string", "enum": [scope.value for scope in Scope]},
                                 "uniqueItems": True}),
                    "description": "The token's scopes, within what the role allows now; null for the web session "
                    "(everything the role allows).",
                },
                "usage_bytes": {"type": "integer", "minimum": 0, "description": "Bytes the caller uses."},
                "quota_bytes": {**_nullable({"type": "integer", "minimum": 0}),
                                "description": "Bytes the caller may use; null: unlimited."},
                "video_count": {"type": "integer", "minimum": 0, "description": "The caller's videos outside the trash."},
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details, with the portal's stable error `code`.",
            "required": ["type", "title", "status", "detail", "instance", "code"],
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string", "format": "uri-reference"},
                "code": {"type": "string"},
            },
        },
        "Video": {"type": "object", "required": list(video_fields), "properties": video_fields},
        "StoredVideo": {
            "type": "object",
            "required": list(video_fields),
            "properties": {
                **video_fields,
                "duplicate_of": {
                    "type": "string",
                    "description": "The id of a video with the same bytes: the caller's own, or anyone's for an admin. "
                    "Absent when there is none.",
                },
            },
        },
        "TrashedVideo": {
            "type": "object",
            "required": [*video_fields, *trash_fields],
            "properties": {**video_fields, **trash_fields},
        },
        "VideoPage": page("Video"),
        "TrashPage": page("TrashedVideo"),
        "Media": {
            "type": "object",
            "properties": {
                "duration": {"type": ["number", "null"]},
                "width": {"type": ["integer", "null"]},
                "height": {"type": ["integer", "null"]},
                "video_codec": {"type": ["string", "null"]},
                "audio_codec": {"type": ["string", "null"]},
                "audio_tracks": AUDIO_TRACKS_SCHEMA,
                "frame_rate": {"type": ["number", "null"]},
                "bit_rate": {"type": ["integer", "null"]},
                "container": {"type": ["string", "null"]},
            },
        },
        "Playback": {
            "type": "object",
            "required": ["url", "content_type", "source", "sha256"],
            "properties": {
                "url": link,
                "content_type": {"type": "string"},
                "source": {"type": "string", "enum": ["original", "copy"]},
                "sha256": {"type": "string"},
            },
        },
        "DetailsPatch": {
            "type": "object",
            "description": "A JSON merge patch: fields left out stay as they are, null clears one.",
            "additionalProperties": False,
            "properties": {
                "title": {"type": ["string", "null"], "minLength": 1, "maxLength": MAX_TITLE_LENGTH, "pattern": line_pattern(),
                          "description": "Trimmed; no control or format characters."},
                "description": {"type": ["string", "null"], "maxLength": MAX_DESCRIPTION_LENGTH, "pattern": description_pattern(),
                                "description": "Trimmed; no control or format characters but line breaks and tabs."},
                "tags": {"type": ["array", "null"], "items": {**tag, "pattern": line_pattern()}, "maxItems": MAX_TAGS,
                         "description": "Each trimmed, inner blanks made one space, repeats dropped."},
            },
            "example": {"title": "Holiday in Crete", "tags": ["holiday", "sea"]},
        },
        "UploadForm": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"},
                # As in v1's form: the example in the description, and "" (checks nothing) for the interactive
                # page to fill in, instead of a checksum it would make up from the pattern (422 on every try).
                "sha256": {
                    "type": "string",
                    "pattern": "^([0-9a-fA-F]{64})?$",
                    "description": f"The SHA-256 the file must have, in hex, e.g. `{EXAMPLE_SHA256}`; empty or left out "
                    "checks nothing.",
                    "default": "",
                },
            },
        },
        "ShareRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "days": {
                    "type": ["integer", "null"],
                    "minimum": MIN_DAYS,
                    "maximum": MAX_DAYS,
                    "default": DEFAULT_DAYS,
                    "description": "How many days the link works (a whole number: `6.0` is 6); null or left out means "
                    "the default.",
                },
            },
        },
        "Caption": {
            "type": "object",
            "required": ["language", "label", "url", "source", "size", "sha256", "created_at"],
            "properties": {
                "language": {"type": "string", "maxLength": MAX_LANGUAGE_LENGTH},
                "label": {"type": "string", "minLength": 1, "maxLength": MAX_CAPTION_LABEL_LENGTH},
                "url": link,
                "source": {"type": "string", "enum": [source.value for source in CaptionSource]},
                "size": {"type": "integer", "minimum": 1},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "created_at": timestamp,
            },
        },
        "CaptionList": {
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref("Caption")}},
        },
        "NewShare": {
            "type": "object",
            "required": ["id", "url", "expires_at"],
            "properties": {"id": {"type": "integer"}, "url": link, "expires_at": timestamp},
        },
        "ShareList": {
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "expires_at", "created_at", "created_by"],
                        "properties": {"id": {"type": "integer"}, "expires_at": timestamp, "created_at": timestamp,
                                       "created_by": {"type": "string"}},
                    },
                }
            },
        },
    }


def build_document() -> dict[str, Any]:
    """The whole document; it reads the app's settings (the upload limit), so it runs in an app context."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Portal API",
            "version": VERSION,
            "summary": "Videos with titles, descriptions and tags; search; cursor pages; problem details.",
            "description": (
                "Version 2 of the portal's JSON API, beside v1 (`/api/v1`, unchanged). Every error is "
                "`application/problem+json` (RFC 9457) with the portal's `code`. Lists are paged by an opaque "
                "`cursor`; changes of a video's details are JSON merge patches guarded by `If-Match`.\n\n"
                f"Send an API token (`{TOKEN_PREFIX}...`) as `Authorization: Bearer <token>`. The web session's cookie "
                "is taken too; a change sent with it needs the page's CSRF token in `X-CSRFToken`."
            ),
        },
        "tags": [
            {"name": "videos", "description": "Videos, their details and their bytes."},
            {"name": "captions", "description": "A video's subtitles, one WebVTT per language."},
            {"name": "shares", "description": "Links that open one video to anyone who has them."},
            {"name": "trash", "description": "Deleted videos, restorable until purged."},
            {"name": "account", "description": "The caller's own account and storage."},
            {"name": "tokens", "description": "API tokens: the caller's own, and (admins) anyone's."},
            {"name": "users", "description": "Users, their roles and quotas (admins, signed in)."},
            {"name": "uploads", "description": "Resumable uploads (tus 1.0.0), as v1's."},
            {"name": "documentation", "description": "This document and its page."},
        ],
        "paths": {
            **video_paths(), **caption_paths(), **share_and_trash_paths(), **account_paths(), **token_paths(),
            **user_paths(), **upload_paths(), **documentation_paths(),
        },
        "components": {
            "schemas": {**schemas(), **token_schemas(), **user_schemas()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token."},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "The web session's cookie (signed in at /login); a change also needs `X-CSRFToken`."},
            },
        },
    }


# === tokens (portal/api/v2/tokens.py) ===========================================================
# One block per module of routes, for the port to generated schemas: paths, then components.

EXAMPLE_TOKEN = {
    "id": 7,
    "owner": "alice",
    "label": "backup script",
    "scopes": ["read"],
    "created_at": "2026-05-01T09:30:00.123456Z",
    "expires_at": "2026-07-30T09:30:00.123456Z",
    "last_used_at": None,
    "revoked_at": None,
    "active": True,
    "links": {"self": f"{HOST}{PREFIX}/tokens/7"},
}


def _token_refusals() -> dict[str, Any]:
    from ...errors import InvalidExpiry
    from ...errors import InvalidLabel
    from ...errors import InvalidScope
    from ...errors import ScopeAboveRole
    from ...errors import ScopeAboveToken

    return _problems(
        "A scope the role or the calling token does not carry, an expiry out of range, a label too long, "
        "or a body that is not the object described.",
        InvalidScope(), ScopeAboveRole("alice", "viewer", "read"), ScopeAboveToken("read"), InvalidExpiry(),
        InvalidLabel(255), instance=f"{PREFIX}/tokens",
    )


def token_paths() -> dict[str, Any]:
    from ...errors import TokenNotFound
    from ...errors import UserNotFound
    from .tokens import TOKEN_HINT

    token_id = {"name": "token_id", "in": "path", "required": True, "description": "The token's `id`.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}}
    not_found = _problems("No token of the caller's has this id (an admin signed in sees everyone's).",
                          TokenNotFound(7), instance=f"{PREFIX}/tokens/7")
    rule = (
        "Needs a token with the `read` scope (every role's tokens may carry it) or the web session. Another "
        "user's tokens are an admin's, signed in to the web (a token, an admin's too, manages only its owner's)."
    )
    return {
        f"{PREFIX}/tokens": {
            "get": {
                "operationId": "listTokens",
                "tags": ["tokens"],
                "summary": "The caller's API tokens (or, for an admin, another user's)",
                "description": f"Oldest first, revoked and expired ones too (`active` false); never their values. {rule}",
                "security": SIGNED_IN,
                "parameters": [{
                    "name": "user",
                    "in": "query",
                    "description": "Another user's name (any case): their tokens, for an admin signed in to the web.",
                    "schema": {"type": "string"},
                }],
                "responses": {
                    "200": {"description": "The tokens.",
                            "content": {"application/json": {"schema": _ref("TokenList"),
                                                             "example": {"items": [EXAMPLE_TOKEN]}}}},
                    **_problems("No user has this name.", UserNotFound("bob"), instance=f"{PREFIX}/tokens"),
                    **_refused(Action.MANAGE_TOKENS),
                    **_unavailable(),
                    **DEFAULT_PROBLEM,
                },
            },
            "post": {
                "operationId": "createToken",
                "tags": ["tokens"],
                "summary": "Make an API token of the caller's; its value is in this answer only",
                "description": (
                    "Scopes within what the caller's role allows, as on the account page. A token asking for a token "
                    "gives none of the scopes it lacks, and one that expires no later than itself. Only the token's "
                    f"SHA-256 is kept: `token` is shown here once. {TOKEN_HINT}"
                ),
                "security": SIGNED_IN,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewTokenRequest")}}},
                "responses": {
                    "201": {
                        "description": "Made: the token's JSON with its value `token`; `Location` is its URL.",
                        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}},
                                    "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}},
                        "content": {"application/json": {"schema": _ref("NewToken"),
                                                         "example": {**EXAMPLE_TOKEN, "token": f"{TOKEN_PREFIX}Zm9v..."}}},
                    },
                    **_token_refusals(),
                    **_problems("The body is not `application/json`.",
                                UnsupportedBodyType(f"The body must be application/json. {TOKEN_HINT}"),
                                instance=f"{PREFIX}/tokens"),
                    **_changes(Action.MANAGE_TOKENS),
                },
            },
        },
        f"{PREFIX}/tokens/{{token_id}}": {
            "parameters": [token_id],
            "get": {
                "operationId": "getToken",
                "tags": ["tokens"],
                "summary": "One token (never its value)",
                "security": SIGNED_IN,
                "responses": {
                    "200": {"description": "The token.",
                            "content": {"application/json": {"schema": _ref("Token"), "example": EXAMPLE_TOKEN}}},
                    **not_found, **_refused(Action.MANAGE_TOKENS), **_unavailable(), **DEFAULT_PROBLEM,
                },
            },
            "delete": {
                "operationId": "revokeToken",
                "tags": ["tokens"],
                "summary": "Revoke a token for good",
                "description": "It stops working at once and stays listed as revoked; revoking it again changes nothing. "
                "A token may revoke itself.",
                "security": SIGNED_IN,
                "responses": {"204": {"description": "Revoked."}, **not_found, **_changes(Action.MANAGE_TOKENS)},
            },
        },
    }


def token_schemas() -> dict[str, Any]:
    from ...accounts.models import TOKEN_LABEL_LENGTH
    from ...accounts.service import MAX_TOKEN_DAYS

    moment = {"type": "string", "format": "date-time"}
    maybe_moment = {"type": ["string", "null"], "format": "date-time"}
    scope = {"type": "string", "enum": [scope.value for scope in Scope]}
    fields = {
        "id": {"type": "integer", "minimum": 1},
        "owner": {"type": "string"},
        "label": {"type": "string", "maxLength": TOKEN_LABEL_LENGTH},
        "scopes": {"type": "array", "items": scope, "uniqueItems": True},
        "created_at": moment,
        "expires_at": {**maybe_moment, "description": "Null: it does not expire."},
        "last_used_at": {**maybe_moment, "description": "Kept to the minute."},
        "revoked_at": maybe_moment,
        "active": {"type": "boolean", "description": "Neither revoked nor expired."},
        "links": {"type": "object", "required": ["self"], "properties": {"self": {"type": "string", "format": "uri"}}},
    }
    return {
        "Token": {"type": "object", "required": list(fields), "additionalProperties": False, "properties": fields},
        "NewToken": {
            "type": "object",
            "required": [*fields, "token"],
            "additionalProperties": False,
            "properties": {**fields, "token": {"type": "string", "pattern": f"^{TOKEN_PREFIX}",
                                               "description": "The value to send as `Authorization: Bearer`; shown once."}},
        },
        "TokenList": {"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "items": _ref("Token")}}},
        "NewTokenRequest": {
            "type": "object",
            "required": ["scopes"],
            "additionalProperties": False,
            "properties": {
                "label": {"type": ["string", "null"], "maxLength": TOKEN_LABEL_LENGTH, "pattern": "^[^\\u0000]*$",
                          "description": "What will use it, e.g. `backup script`."},
                "scopes": {"type": "array", "items": scope, "minItems": 1, "description": "A scope named twice counts once."},
                "days": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TOKEN_DAYS,
                         "description": "Days until it expires; null or left out: never (or, asked by a token, when it does)."},
            },
            "example": {"label": "backup script", "scopes": ["read"], "days": 90},
        },
    }


# === users (portal/api/v2/users.py) =============================================================

EXAMPLE_USER = {
    "id": 3,
    "name": "alice",
    "role": "uploader",
    "disabled": False,
    "created_at": "2026-05-01T09:30:00.123456Z",
    "usage_bytes": 1288490189,
    "quota_bytes": 5368709120,
    "video_count": 12,
    "links": {"self": f"{HOST}{PREFIX}/users/3"},
}
#: Managing users needs an admin signed in to the web (MANAGE_USERS has no scope): the session's cookie.
SESSION: list[dict[str, list[str]]] = [{"session": []}]


def user_paths() -> dict[str, Any]:
    from ...errors import InvalidPassword
    from ...errors import InvalidQuota
    from ...errors import InvalidRole
    from ...errors import InvalidUsername
    from ...errors import LastAdmin
    from ...errors import UserExists
    from ...errors import UserIdNotFound
    from .users import CHANGE_HINT
    from .users import NEW_USER_HINT

    user_id = {"name": "user_id", "in": "path", "required": True, "description": "The user's `id`.",
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}}
    instance = f"{PREFIX}/users"
    not_found = _problems("No user has this id.", UserIdNotFound(3), instance=f"{instance}/3")
    user = {"application/json": {"schema": _ref("User"), "example": EXAMPLE_USER}}
    rule = "An admin's, signed in to the web (the session's cookie; `X-CSRFToken` for a change): a token cannot."
    return {
        instance: {
            "get": {
                "operationId": "listUsers",
                "tags": ["users"],
                "summary": "Every user, with usage, quota and video count",
                "description": f"The largest usage first, as on the admins' page. {rule}",
                "security": SESSION,
                "responses": {
                    "200": {"description": "The users.",
                            "content": {"application/json": {"schema": _ref("UserList"), "example": {"items": [EXAMPLE_USER]}}}},
                    **_refused(Action.MANAGE_USERS), **_unavailable(), **DEFAULT_PROBLEM,
                },
            },
            "post": {
                "operationId": "createUser",
                "tags": ["users"],
                "summary": "Add a user",
                "description": f"Names are unique in any case. {NEW_USER_HINT} {rule}",
                "security": SESSION,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewUserRequest")}}},
                "responses": {
                    "201": {"description": "Added; `Location` is its URL.",
                            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}, "content": user},
                    **_problems("A name, password or role that breaks a rule, or a body that is not the object described.",
                                InvalidUsername(), InvalidPassword(10), InvalidRole(), instance=instance),
                    **_problems("A user has this name already, in some case.", UserExists("alice"), instance=instance),
                    **_problems("The body is not `application/json`.",
                                UnsupportedBodyType(f"The body must be application/json. {NEW_USER_HINT}"), instance=instance),
                    **_changes(Action.MANAGE_USERS),
                },
            },
        },
        f"{instance}/{{user_id}}": {
            "parameters": [user_id],
            "get": {
                "operationId": "getUser",
                "tags": ["users"],
                "summary": "One user",
                "security": SESSION,
                "responses": {"200": {"description": "The user.", "content": user}, **not_found,
                              **_refused(Action.MANAGE_USERS), **_unavailable(), **DEFAULT_PROBLEM},
            },
            "patch": {
                "operationId": "changeUser",
                "tags": ["users"],
                "summary": "Change a user's role, quota, or disable them",
                "description": (
                    f"A JSON merge patch (`{MERGE_PATCH}`); every field is checked before any is changed. A disabled "
                    "user is signed out and their tokens stop working. The last enabled admin can be neither demoted "
                    f"nor disabled (409). {CHANGE_HINT} {rule}"
                ),
                "security": SESSION,
                "requestBody": {"required": True, "content": {MERGE_PATCH: {"schema": _ref("UserPatch")}}},
                "responses": {
                    "200": {"description": "Changed: the user.", "content": user},
                    **not_found,
                    **_problems("A role or quota that is none, `disabled` not a boolean, or another field.",
                                InvalidRole(), InvalidQuota(CHANGE_HINT), instance=f"{instance}/3"),
                    **_problems("The change would leave no enabled admin.", LastAdmin("root"), instance=f"{instance}/3"),
                    **_problems("The body is not a merge patch.",
                                UnsupportedBodyType(f"The body must be {MERGE_PATCH}. {CHANGE_HINT}"), instance=f"{instance}/3"),
                    **_changes(Action.MANAGE_USERS),
                },
            },
        },
    }


def user_schemas() -> dict[str, Any]:
    from ...accounts.service import MIN_PASSWORD_LENGTH
    from ...accounts.service import USERNAME_PATTERN

    role = {"type": "string", "enum": [role.value for role in Role]}
    fields = {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "role": role,
        "disabled": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "usage_bytes": {"type": "integer", "minimum": 0},
        "quota_bytes": {"type": ["integer", "null"], "minimum": 0, "description": "Null: unlimited."},
        "video_count": {"type": "integer", "minimum": 0, "description": "Videos outside the trash."},
        "links": {"type": "object", "required": ["self"], "properties": {"self": {"type": "string", "format": "uri"}}},
    }
    return {
        "User": {"type": "object", "required": list(fields), "additionalProperties": False, "properties": fields},
        "UserList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": _ref("User")}}},
        "NewUserRequest": {
            "type": "object",
            "required": ["name", "password"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": f"^{USERNAME_PATTERN.pattern}$"},
                "password": {"type": "string", "minLength": MIN_PASSWORD_LENGTH},
                "role": {**role, "default": Role.VIEWER.value},
            },
            "example": {"name": "alice", "password": "correct horse battery", "role": "uploader"},
        },
        "UserPatch": {
            "type": "object",
            "additionalProperties": False,
            "description": "A JSON merge patch: fields left out stay as they are.",
            "properties": {
                "role": role,
                "disabled": {"type": "boolean"},
                "quota": {
                    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}, {"type": "null"}],
                    "description": "Bytes, a size such as `5GiB`, `none` (unlimited), `default` or null "
                    "(PORTAL_DEFAULT_QUOTA's).",
                },
            },
            "example": {"role": "uploader", "quota": "5GiB"},
        },
    }


# === uploads (portal/api/v2/uploads.py: v1's tus views under v2) ================================


def upload_paths() -> dict[str, Any]:
    from flask import current_app

    from ...errors import ChunkChecksumMismatch
    from ...errors import NotAnUploadChunk
    from ...errors import OffsetMismatch
    from ...errors import TooManyOpenUploads
    from ...errors import UnsupportedTusVersion
    from ...errors import UploadBusy
    from ...errors import UploadNotFound
    from ..v1.openapi import refusal
    from ..v1.uploads import CHUNK_TYPE
    from ..v1.uploads import TUS_EXTENSIONS
    from ..v1.uploads import TUS_VERSION
    from ..v1.uploads import parse_upload_checksum
    from .uploads import VIDEO_URL_HEADER

    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    limit = upload_limit()
    instance = f"{PREFIX}/uploads"

    def header(name: str, description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}

    tus = header("Tus-Resumable", "The tus version the client speaks.", {"type": "string", "const": TUS_VERSION})
    upload_id = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    text = {"schema": {"type": "string"}}
    offset = {"description": "Bytes of the file the portal holds.", "schema": {"type": "integer", "minimum": 0}}
    expires = {"description": f"When the unfinished upload is removed: {hours} hours after its last chunk.", **text}
    video_url = {"description": "The finished upload's video (`GET /api/v2/videos/{video_id}`).", **text}
    tus_errors = {
        **_problems("The request does not send `Tus-Resumable: 1.0.0`; `Tus-Version` lists what is spoken.",
                    UnsupportedTusVersion(), instance=instance),
        **_refused(Action.UPLOAD),
        **_unavailable(),
        **DEFAULT_PROBLEM,
    }
    tus_errors["412"]["headers"] = {"Tus-Version": {"schema": {"type": "string", "const": TUS_VERSION}}}
    csrf = _problems("Sent with the web session's cookie but without its CSRF token.", CsrfTokenMissing(), instance=instance)
    not_found = _problems("No upload of the caller's has this URL (never, someone else's, cancelled or expired).",
                          UploadNotFound(), instance=instance)
    finishing = {
        **_problems("The body is not a chunk, or the last one completed a file that is not a video (the upload is gone).",
                    NotAVideo(ACCEPTED_FORMATS), NotAnUploadChunk(), instance=instance),
        **_problems("The file's SHA-256 is not the `sha256` of its metadata (the upload is gone).",
                    ChecksumMismatch("0" * 64, "f" * 64), instance=instance),
        **_problems("No room to keep the file (the upload is gone).", InsufficientStorage(), instance=instance),
    }
    too_many = _problems(
        "The caller holds `PORTAL_MAX_OPEN_UPLOADS` unfinished uploads already: finish one, cancel one, or wait "
        "(`Retry-After`).",
        TooManyOpenUploads(20, 20, hours, 3600), instance=instance,
    )
    too_many["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    chunk_body = {"required": True, "content": {CHUNK_TYPE: {"schema": {"type": "string", "format": "binary"}}}}

    def without_body(responses: dict[str, Any]) -> dict[str, Any]:
        return {status: {key: value for key, value in response.items() if key != "content"}
                for status, response in responses.items()}

    return {
        instance: {
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
                    },
                    **DEFAULT_PROBLEM,
                },
            },
            "post": {
                "operationId": "createUpload",
                "tags": ["uploads"],
                "summary": "Start a resumable upload (tus creation)",
                "description": "v1's tus server, under v2: `Upload-Length`, and `Upload-Metadata` (`filename`, "
                "optionally `sha256`, checked when the last byte arrives). A body sent as "
                f"`{CHUNK_TYPE}` is the first chunk. The upload counts against the caller's quota from now; it is "
                f"removed {hours} hours after its last chunk unless finished.",
                "security": SIGNED_IN,
                "parameters": [
                    tus,
                    header("Upload-Length", f"The file's size in bytes, at most {limit}.",
                           {"type": "integer", "minimum": 1, "maximum": limit}),
                    header("Upload-Metadata", "Comma-separated `key base64(value)`: `filename`, `sha256`.",
                           {"type": "string"}, required=False),
                ],
                "requestBody": {**chunk_body, "required": False},
                "responses": {
                    "201": {
                        "description": "Created; its URL (under `/api/v2/uploads`) is in `Location`.",
                        "headers": {"Location": text, "Upload-Expires": expires, "Upload-Offset": offset,
                                    VIDEO_URL_HEADER: video_url},
                    },
                    **csrf,
                    **_problems("The file is larger than the limit, or than the caller's quota has room for.",
                                UploadTooLarge(limit), QuotaExceeded(4 * 1024**3, 5 * 1024**3, 2 * 1024**3),
                                instance=instance),
                    **too_many,
                    **tus_errors,
                },
            },
        },
        f"{instance}/{{upload_id}}": {
            "parameters": [upload_id],
            "head": {
                "operationId": "getUploadOffset",
                "tags": ["uploads"],
                "summary": "How much of an upload the portal holds",
                "security": SIGNED_IN,
                "parameters": [tus],
                "responses": {
                    "200": {
                        "description": f"The offset to send from; a finished upload names its video in `{VIDEO_URL_HEADER}`.",
                        "headers": {"Upload-Offset": offset, "Upload-Length": offset, "Upload-Expires": expires,
                                    "Cache-Control": {"schema": {"type": "string", "const": "no-store"}},
                                    VIDEO_URL_HEADER: video_url},
                    },
                    **without_body({**not_found, **tus_errors}),
                },
            },
            "patch": {
                "operationId": "appendToUpload",
                "tags": ["uploads"],
                "summary": "Send a chunk",
                "description": "Kept whole or not at all. The last one makes the upload a video, after the checks of "
                "`POST /api/v2/videos`; if they fail, it answers their error and the upload is gone.",
                "security": SIGNED_IN,
                "parameters": [
                    tus,
                    header("Upload-Offset", "Where the chunk starts: the upload's current offset.",
                           {"type": "integer", "minimum": 0}),
                    header("Upload-Checksum", "`sha1 <base64>` or `sha256 <base64>` of the chunk; a mismatch keeps nothing.",
                           {"type": "string"}, required=False),
                ],
                "requestBody": chunk_body,
                "responses": {
                    "204": {
                        "description": f"Kept; the last chunk's answer names the new video in `{VIDEO_URL_HEADER}`.",
                        "headers": {"Upload-Offset": offset, "Upload-Expires": expires, VIDEO_URL_HEADER: video_url},
                    },
                    **csrf,
                    **not_found,
                    **_problems("A header is malformed, or the chunk runs past the upload's length.",
                                refusal(lambda: parse_upload_checksum("md5 AAAA")), instance=instance),
                    **_problems("The chunk does not start at the upload's offset.", OffsetMismatch(1024, 0), instance=instance),
                    **_problems("Another request is writing to this upload; ask HEAD, then try again.", UploadBusy(),
                                instance=instance),
                    **_problems("The chunk does not match its `Upload-Checksum`; it was not kept.",
                                ChunkChecksumMismatch("sha256"), instance=instance),
                    **_problems("The last chunk took the caller past their quota (the upload is gone).",
                                QuotaExceeded(4 * 1024**3, 5 * 1024**3, 2 * 1024**3), instance=instance),
                    **finishing,
                    **tus_errors,
                },
            },
            "delete": {
                "operationId": "cancelUpload",
                "tags": ["uploads"],
                "summary": "Cancel an upload (tus termination)",
                "description": "Its bytes are removed; a finished upload's video stays.",
                "security": SIGNED_IN,
                "parameters": [tus],
                "responses": {"204": {"description": "Cancelled."}, **csrf, **not_found, **tus_errors},
            },
        },
    }

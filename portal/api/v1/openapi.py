"""The OpenAPI 3.1 document of /api/v1, kept beside the routes it describes.

Its shape is written out, because the contract (every status, header and
example a client may rely on) says more than the views do. Every fact that some
code enforces is read from that code instead, so the two cannot drift: each
error's status and code from :data:`portal.http.errors.ERROR_STATUSES`, its
example message from the domain error itself (or from the parser that refuses
the input), the limits and defaults from :mod:`portal.library.listing`, the
formats from :mod:`portal.library.formats`, and the upload limit and page size
from the app's settings. :func:`build_document` therefore runs in an app context.

``tests/api/test_v1_openapi.py`` compares it with the blueprint's URL map, so a
route added without its description, or a description left behind by a removed
route, fails the suite; schemathesis then checks the answers against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import ChecksumMismatch
from ...errors import DatabaseUnavailable
from ...errors import EmptyFile
from ...errors import InsufficientStorage
from ...errors import InvalidInput
from ...errors import MissingFile
from ...errors import NotAVideo
from ...errors import PortalError
from ...errors import QueueUnavailable
from ...errors import RangeNotSatisfiable
from ...errors import StoredCopyCorrupt
from ...errors import StoreUnreachable
from ...errors import UploadTooLarge
from ...errors import VideoNotFound
from ...http.errors import status_of
from ...library.formats import ACCEPTED_FORMATS
from ...library.formats import FORMATS
from ...library.listing import DEFAULT_SORT
from ...library.listing import MAX_PAGE
from ...library.listing import MAX_PER_PAGE
from ...library.listing import MAX_QUERY_LENGTH
from ...library.listing import SORT_VALUES
from ...library.listing import Listing
from ...library.listing import default_per_page
from ...library.models import ProcessingState
from ...uploads.intake import parse_content_digest
from ...uploads.intake import parse_sha256_hex
from ...uploads.intake import upload_limit
from .routes import NO_BODY
from .routes import NO_FILE_IN_FORM

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
    "url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}",
    "content_url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}/content",
    "media": EXAMPLE_MEDIA,
    "processing": {"state": "done", "error": None},
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


def _content_responses(with_body: bool) -> dict[str, Any]:
    """The answers of GET and HEAD on the bytes; HEAD has the same headers and no body."""
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
    errors = {
        **_not_found(),
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



# What a job found about a file and where its processing is: the `media` and `processing` of a File.
MEDIA_SCHEMA = {
    "type": ["object", "null"],
    "description": "What probing the file found; null until it has been probed.",
    "required": list(EXAMPLE_MEDIA),
    "additionalProperties": False,
    "properties": {
        "duration": {"type": ["number", "null"], "minimum": 0, "description": "Seconds."},
        "width": {"type": "integer", "minimum": 0, "description": "Pixels."},
        "height": {"type": "integer", "minimum": 0, "description": "Pixels."},
        "video_codec": {"type": "string", "description": "FFmpeg's codec name, e.g. `h264`, `hevc`, `vp9`."},
        "audio_codec": {"type": ["string", "null"], "description": "e.g. `aac`, `opus`; null without audio."},
        "frame_rate": {"type": ["number", "null"], "minimum": 0, "description": "Frames per second."},
        "bit_rate": {"type": ["integer", "null"], "minimum": 0, "description": "Bits per second of the whole file."},
        "container": {"type": "string", "description": "e.g. `mp4`, `mov`, `webm`, `matroska`, `avi`."},
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
PROCESS_OPERATION = {
    "operationId": "processFile",
    "tags": ["files"],
    "summary": "Queue the file's processing again",
    "description": "For a file whose processing failed, or to redo it: its owner or an admin; a token needs "
    "the `upload` scope. The file's `processing` is `queued` in the answer.",
    "responses": {
        "202": _file_response("Queued: the file's JSON."),
        **_not_found(),
        **_error(
            "The database or the job queue is busy or cannot be reached; nothing was queued.",
            database=DatabaseUnavailable(),
            queue=QueueUnavailable(),
        ),
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
                "Later versions are served beside this one under their own prefix; v1 does not change."
            ),
        },
        "tags": [
            {"name": "files", "description": "Videos and their bytes."},
            {"name": "documentation", "description": "This document and its interactive page."},
        ],
        "paths": {
            f"{PREFIX}/files": {
                "get": {
                    "operationId": "listFiles",
                    "tags": ["files"],
                    "summary": "List files, newest first",
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
                        **_unavailable(touches_bytes=False),
                    },
                },
                "post": {
                    "operationId": "uploadFile",
                    "tags": ["files"],
                    "summary": "Upload one video",
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
                            "description": "The SHA-256 the raw body must have, in hex. An empty value checks nothing.",
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
                            **_file_response("Stored: the file's JSON."),
                            "headers": {
                                "Location": {
                                    "description": "The file's URL (its `url`).",
                                    "schema": {"type": "string", "format": "uri"},
                                }
                            },
                        },
                        **_error(
                            "No file, an empty file, more than one file, a form that cannot carry a file, "
                            "or a malformed `sha256`/`Content-Digest`.",
                            missing_file=MissingFile(),
                            form_encoded=MissingFile(NO_FILE_IN_FORM),
                            no_body=MissingFile(NO_BODY),
                            empty_file=EmptyFile(),
                            bad_sha256=refusal(lambda: parse_sha256_hex("not-hex")),
                            bad_content_digest=refusal(lambda: parse_content_digest("sha-256=:not-base64:")),
                        ),
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
                    "responses": {
                        "200": _file_response("The file's JSON; `status` tells whether its bytes are intact."),
                        **_not_found(),
                        **_unavailable(touches_bytes=False),
                    },
                },
                "delete": {
                    "operationId": "deleteFile",
                    "tags": ["files"],
                    "summary": "Delete a file and its bytes",
                    "responses": {
                        "204": {"description": "Deleted."},
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
                    "description": "Conditional and range requests are answered as HTTP says; every answer "
                    "carries the file's checksum as `ETag` and `Repr-Digest`.",
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=True),
                },
                "head": {
                    "operationId": "headFile",
                    "tags": ["files"],
                    "summary": "The download's headers, without the bytes",
                    "parameters": CONTENT_REQUEST_HEADERS,
                    "responses": _content_responses(with_body=False),
                },
            },
            f"{PREFIX}/files/{{video_id}}/verify": {
                "parameters": [VIDEO_ID],
                "post": {
                    "operationId": "verifyFile",
                    "tags": ["files"],
                    "summary": "Re-check the stored bytes against the checksum now",
                    "responses": {
                        "200": _file_response("The file's JSON after the check: `status` and `verified_at` are fresh."),
                        **_not_found(),
                        **_unavailable(touches_bytes=True),
                    },
                },
            },
            f"{PREFIX}/files/{{video_id}}/process": {"parameters": [VIDEO_ID], "post": PROCESS_OPERATION},
            f"{PREFIX}/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "tags": ["documentation"],
                    "summary": "This document",
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
                    "responses": {
                        "200": {
                            "description": "An HTML page that renders this document and can call the API.",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "File": {
                    "type": "object",
                    "description": "A stored video.",
                    "required": list(EXAMPLE_FILE),
                    "additionalProperties": False,
                    "properties": {
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
                        "url": {"type": "string", "format": "uri", "description": "This file's JSON."},
                        "content_url": {"type": "string", "format": "uri", "description": "This file's bytes."},
                        "media": MEDIA_SCHEMA,
                        "processing": PROCESSING_SCHEMA,
                    },
                    "example": EXAMPLE_FILE,
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
                            "description": "The SHA-256 the file must have, in hex; empty checks nothing.",
                            # Without it the page would fill in a random checksum and every upload would fail.
                            "example": "",
                        },
                    },
                },
            }
        },
    }

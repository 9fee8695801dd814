"""The OpenAPI 3.1 document of /api/v1, kept beside the routes it describes.

It is written out rather than derived from the code because the contract (every
status, header and example a client may rely on) says more than the views do.
``tests/api/test_v1_openapi.py`` compares it with the blueprint's URL map, so a
route added without its description, or a description left behind by a removed
route, fails the suite; schemathesis then checks the answers against it.
"""

from __future__ import annotations

from typing import Any

from ...library.listing import MAX_PER_PAGE
from ...library.listing import MAX_QUERY_LENGTH
from ...library.listing import SORT_VALUES

PREFIX = "/api/v1"
VERSION = "1.0.0"

SHA256_PATTERN = "^[0-9a-fA-F]{64}$"
EXAMPLE_ID = "5f0c6a8e-2b1d-4c3e-9a7f-1e2d3c4b5a69"
EXAMPLE_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXAMPLE_FILE = {
    "id": EXAMPLE_ID,
    "filename": "holiday.mp4",
    "content_type": "video/mp4",
    "size": 1048576,
    "sha256": EXAMPLE_SHA256,
    "status": "ok",
    "created_at": "2026-05-01T09:30:00.123456Z",
    "verified_at": "2026-05-01T09:30:00.123456Z",
    "url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}",
    "content_url": f"http://localhost:8080{PREFIX}/files/{EXAMPLE_ID}/content",
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _error(description: str, code: str, message: str) -> dict[str, Any]:
    """A JSON error response, with the code and message a client will actually see."""
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": _ref("schemas", "Error"),
                "example": {"error": {"code": code, "message": message}},
            }
        },
    }


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
    "example": "bytes */1048576",
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
    not_found = _error("No file has this id.", "not_found", "No video has this id. It may have been deleted.")
    unavailable = _error(
        "The stored bytes no longer match the checksum, or are gone: the file is not served.",
        "file_unavailable",
        "The stored copy of 'holiday.mp4' does not match its SHA-256 checksum, so it is not served. "
        "Restore it from a backup or delete it.",
    )
    if not with_body:
        not_found = {"description": not_found["description"]}
        unavailable = {"description": unavailable["description"]}
    return {
        "200": whole,
        "206": part,
        "304": {
            "description": "`If-None-Match` names the current ETag: the copy the client has is current.",
            "headers": {"ETag": CONTENT_HEADERS["ETag"]},
        },
        "404": not_found,
        "409": unavailable,
        "416": {
            "description": "The range starts beyond the end of the file.",
            "headers": {"Content-Range": UNSATISFIABLE_RANGE},
        },
        "503": _service_unavailable() if with_body else {"description": "The database is unavailable."},
    }


def _service_unavailable() -> dict[str, Any]:
    return _error(
        "The database is busy or unavailable; nothing was changed.",
        "service_unavailable",
        "The database is busy or unavailable. Nothing was changed; try again in a moment.",
    )


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



def build_document() -> dict[str, Any]:
    """The whole document; paths are absolute, so it is served as is at any host."""
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
                            "schema": {"type": "integer", "minimum": 1, "maximum": 999999999, "default": 1},
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "description": f"Files per page, at most {MAX_PER_PAGE}. An empty value means the default.",
                            "allowEmptyValue": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
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
                            "schema": {"type": "string", "enum": list(SORT_VALUES), "default": "-created_at"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of files.",
                            "content": {
                                "application/json": {
                                    "schema": _ref("schemas", "Page"),
                                    "example": {"items": [EXAMPLE_FILE], "total": 1, "page": 1, "per_page": 20},
                                }
                            },
                        },
                        "400": _error(
                            "A parameter is not valid.",
                            "bad_request",
                            f"per_page must be at most {MAX_PER_PAGE}.",
                        ),
                        "503": _service_unavailable(),
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
                        "(MP4, M4V, MOV, 3GP, WebM, Matroska, AVI, MPEG-TS, MPEG-PS, Ogg, FLV, ASF/WMV). "
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
                        "400": _error(
                            "No file, an empty file, more than one file, or a malformed `sha256`/`Content-Digest`.",
                            "missing_file",
                            "No file was sent: attach the video as the multipart field 'file'.",
                        ),
                        "413": _error(
                            "The file is larger than the portal accepts.",
                            "too_large",
                            "The file is larger than the limit of 4.0 GiB (4294967296 bytes).",
                        ),
                        "415": _error(
                            "The bytes are not a video format the portal recognises.",
                            "unsupported_media_type",
                            "This file is not a video this portal recognises. Accepted formats: MP4, WebM, ...",
                        ),
                        "422": _error(
                            "The bytes do not have the SHA-256 the client stated: nothing was stored.",
                            "checksum_mismatch",
                            f"The file's SHA-256 is {EXAMPLE_SHA256} but ... was expected: it was damaged on "
                            "the way. Nothing was stored; send it again.",
                        ),
                        "503": _service_unavailable(),
                        "507": _error(
                            "The server's disk is full: nothing was stored.",
                            "insufficient_storage",
                            "The server has no space left to store this file. Nothing was kept; try again later.",
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
                        "404": _error("No file has this id.", "not_found", "No video has this id. It may have been deleted."),
                        "503": _service_unavailable(),
                    },
                },
                "delete": {
                    "operationId": "deleteFile",
                    "tags": ["files"],
                    "summary": "Delete a file and its bytes",
                    "responses": {
                        "204": {"description": "Deleted."},
                        "404": _error("No file has this id.", "not_found", "No video has this id. It may have been deleted."),
                        "503": _service_unavailable(),
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
                        "404": _error("No file has this id.", "not_found", "No video has this id. It may have been deleted."),
                        "503": _service_unavailable(),
                    },
                },
            },
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

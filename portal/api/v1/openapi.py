"""The OpenAPI 3.1 document of /api/v1, generated from the declarations of its views (:mod:`portal.api.spec`).

Each view names its models and example errors; the builder adds what the view's
auth mark implies, and every error's status and code come from
:data:`portal.http.errors.ERROR_STATUSES`. ``tests/api/test_v1_openapi.py``
compares it with the blueprint's URL map, ``tests/api/test_openapi_frozen.py``
with the document as it was written by hand; schemathesis checks the answers against it.
"""

from __future__ import annotations

from typing import Any

from ...accounts.service import TOKEN_PREFIX
from .. import spec
from ..models import Error

HEAD: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Portal API",
        "version": "1.0.0",
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
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": f"An API token, `{TOKEN_PREFIX}...`. It does what its scopes say (`read`, `upload`, "
                "`delete`; `metrics` reads `/metrics` only, outside this API), never more than its owner's role allows.",
            }
        }
    },
}


def build_document() -> dict[str, Any]:
    """The whole document, built afresh; it reads the app's settings, so it runs in an app context."""
    return spec.build("api_v1", spec.V1, HEAD, {"Error": Error})


def document() -> dict[str, Any]:
    """The document this app serves, built once."""
    return spec.document_of("api_v1", build_document)

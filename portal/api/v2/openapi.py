"""The OpenAPI 3.1 document of /api/v2, generated from the declarations of its views (:mod:`portal.api.spec`).

Each view names its models and example errors; the builder adds what the view's
auth mark implies and renders every error as problem details, with a
``default`` problem response on each operation. ``tests/api/v2/test_v2_openapi.py``
compares it with the blueprint's URL map, so an undeclared route fails the
suite; schemathesis (``tests/api/v2/test_v2_fuzz.py``) checks the answers against it.
"""

from __future__ import annotations

from typing import Any

from ...accounts.service import TOKEN_PREFIX
from .. import spec
from ..models import Problem

HEAD: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Portal API",
        "version": "2.0.0",
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
    "components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "An API token."},
        "session": {"type": "apiKey", "in": "cookie", "name": "session",
                    "description": "The web session's cookie (signed in at /login); a change also needs `X-CSRFToken`."},
    }},
}


def build_document() -> dict[str, Any]:
    """The whole document, built afresh; it reads the app's settings, so it runs in an app context."""
    return spec.build("api_v2", spec.V2, HEAD, {"Problem": Problem})


def document() -> dict[str, Any]:
    """The document this app serves, built once."""
    return spec.document_of("api_v2", build_document)

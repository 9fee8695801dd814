"""RFC 9457 problem details: how /api/v2 (and any later version) reports every error.

:func:`portal.http.errors.render_error` is the one place every error passes
through; for a path under one of :data:`PROBLEM_PREFIXES` it answers with
:func:`problem_response` instead of v1's ``{"error": {...}}``, so a refusal by
a domain error, by Werkzeug (404, 405, 413) or by the sign-in check reads the
same. ``code`` is the portal's stable error code from the same table v1 uses.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response
from flask import request
from werkzeug.http import HTTP_STATUS_CODES

#: Paths whose errors are problem details.
PROBLEM_PREFIXES = ("/api/v2/",)
PROBLEM_MEDIA_TYPE = "application/problem+json"
#: The ``type`` of a problem is this followed by its code: a stable identifier per kind of problem.
PROBLEM_TYPE_BASE = "urn:portal:problem:"


def wants_problem() -> bool:
    return request.path.startswith(PROBLEM_PREFIXES) or request.path + "/" in PROBLEM_PREFIXES


def problem_body(status: int, code: str, detail: str, instance: str) -> dict[str, object]:
    return {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }


def problem_response(status: int, code: str, detail: str, facts: dict[str, object] | None = None) -> Response:
    """``facts`` are extension members (RFC 9457, section 3.2): numbers a client acts on, beside the words."""
    # The path as it was sent (percent-encoded), so ``instance`` is a URI reference for any name in it.
    body = problem_body(status, code, detail, quote(request.path, safe="/:@!$&'()*+,;=-._~")) | (facts or {})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)

"""The OpenAPI document of /api/v1 and the interactive page that renders it."""

from __future__ import annotations

import json

from flask import Response
from flask import render_template

from . import bp
from .openapi import build_document

#: The portal's policy, except that Swagger UI sets ``style`` attributes while it
#: renders; scripts still come only from the portal's own files.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    # Not jsonify: it sorts keys, and the document reads best in the order it is written.
    return Response(json.dumps(build_document(), indent=1), mimetype="application/json")


@bp.get("/docs")
def docs_page() -> Response:
    response = Response(render_template("api/docs.html"))
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response

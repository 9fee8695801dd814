"""The OpenAPI document of /api/v2 and the interactive page that renders it (v1's page and vendored Swagger UI)."""

from __future__ import annotations

import json

from flask import Response
from flask import render_template
from flask import url_for

from ...http.auth import public
from . import bp
from .openapi import build_document


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    # Not jsonify: it sorts keys, and the document reads best in the order it is written.
    return Response(json.dumps(build_document(), indent=1), mimetype="application/json")


@bp.get("/docs")
@public
def docs_page() -> str:
    return render_template("api/docs.html", title="Portal API v2", version="v2", spec_url=url_for(".openapi_document"))
